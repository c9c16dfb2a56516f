package elbv2

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/apitest"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// testAccount is the caller of every request a world sends.
const testAccount = "111111111111"

// world is the ELBv2 handler over a fresh store with one VPC of
// testAccount: subnets in zones a and b and a security group, made through
// the control plane.
type world struct {
	t       *testing.T
	h       awsapi.Handler
	cp      *controlplane.Service
	st      store.Store
	vpcID   string
	subnets []string // us-east-1a, us-east-1b
	sgID    string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	cp, st := apitest.ControlPlane(t, controlplane.Config{})
	w := &world{t: t, h: Handler(cp), cp: cp, st: st}
	w.vpcID, w.subnets = apitest.Network(t, cp, testAccount, "10.0.0.0/16")
	sg, err := cp.CreateSecurityGroup(t.Context(), testAccount, controlplane.CreateSecurityGroupInput{GroupName: "lb", Description: "lb", VpcID: w.vpcID})
	if err != nil {
		t.Fatal(err)
	}
	w.sgID = sg.ID
	return w
}

// call runs action as testAccount and returns the XML document.
func (w *world) call(action string, params awsapi.Params) (string, error) {
	w.t.Helper()
	body, err := apitest.Call(w.t, w.h, "elasticloadbalancing", testAccount, action, params)
	return string(body), err
}

// must runs action, decodes the XML document into out (if not nil) and
// returns it.
func (w *world) must(action string, params awsapi.Params, out any) string {
	w.t.Helper()
	body, err := w.call(action, params)
	if err != nil {
		w.t.Fatalf("%s(%v): %v", action, params, err)
	}
	if out != nil {
		if err := xml.Unmarshal([]byte(body), out); err != nil {
			w.t.Fatalf("%s: unmarshal %s: %v", action, body, err)
		}
	}
	return body
}

// callQuery sends a form body the way botocore's QuerySerializer writes it
// (Action and Version included), checks the response's envelope and
// decodes it into out (if not nil).
func (w *world) callQuery(query string, out any) error {
	w.t.Helper()
	form, err := url.ParseQuery(query)
	if err != nil {
		w.t.Fatalf("query %q: %v", query, err)
	}
	action := form.Get("Action")
	params := awsapi.Params{}
	for k, v := range form {
		if k != "Action" && k != "Version" {
			params[k] = v[0]
		}
	}
	body, err := w.call(action, params)
	if err != nil {
		return err
	}
	prefix := `<` + action + `Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><` + action + `Result`
	if !strings.Contains(body, prefix) || !strings.Contains(body, "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>") {
		w.t.Errorf("%s: unexpected envelope: %s", action, body)
	}
	if out != nil {
		if err := xml.Unmarshal([]byte(body), out); err != nil {
			w.t.Fatalf("%s: unmarshal %s: %v", action, body, err)
		}
	}
	return nil
}

func (w *world) mustQuery(query string, out any) {
	w.t.Helper()
	if err := w.callQuery(query, out); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
}

// rawQuery returns the XML body of a successful call.
func (w *world) rawQuery(query string) string {
	w.t.Helper()
	var body struct {
		Inner string `xml:",innerxml"`
	}
	w.mustQuery(query, &body)
	return body.Inner
}

// query builds a query string from name/value pairs, in order.
func query(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// put writes a record straight into the store (load balancers and health
// results, which other operations and the controllers own).
func (w *world) put(key string, v any) {
	w.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.st.Update(w.t.Context(), func(tx store.Tx) error { return tx.Put(key, b) }); err != nil {
		w.t.Fatal(err)
	}
}

// targetGroup stores a TCP target group in the VPC directly, standing in
// for CreateTargetGroup.
func (w *world) targetGroup(name string) string {
	w.t.Helper()
	suffix := model.NewELBSuffix()
	tg := model.TargetGroup{
		ARN: model.TargetGroupARN("us-east-1", testAccount, name, suffix), Name: name, OwnerID: testAccount, VpcID: w.vpcID,
		Protocol: "TCP", Port: 80, TargetType: "instance", IPAddressType: "ipv4", Attributes: map[string]string{},
	}
	w.put(store.Key(store.KindTargetGroup, testAccount, suffix), tg)
	return tg.ARN
}

// attachLB writes a load balancer with a node in zone and a listener that
// forwards to tgARN.
func (w *world) attachLB(tgARN, zone string) string {
	lbID, lID := model.NewELBSuffix(), model.NewELBSuffix()
	lb := model.LoadBalancer{
		ARN: model.LoadBalancerARN("us-east-1", testAccount, "nlb", lbID), Name: "nlb", OwnerID: testAccount, VpcID: w.vpcID,
		Type: "network", Scheme: "internal", IPAddressType: "ipv4", State: "active",
		Nodes: []model.LBNode{{AvailabilityZone: zone}},
	}
	w.put(store.Key(store.KindLoadBalancer, testAccount, lbID), lb)
	w.put(store.Key(store.KindListener, testAccount, lID), model.Listener{
		ARN: model.ListenerARN(lb.ARN, lID), OwnerID: testAccount, LoadBalancerARN: lb.ARN, Protocol: "TCP", Port: 80, TargetGroupARN: tgARN,
	})
	return lb.ARN
}

// wantErr fails unless err is an *awsapi.Error with code, HTTP status 400
// and msg ("" for any message).
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	got := &awsapi.Error{Code: ae.Code, Message: ae.Message, Status: ae.HTTPStatus()}
	want := &awsapi.Error{Code: code, Message: msg, Status: 400}
	if msg == "" {
		want.Message = ae.Message
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
}
