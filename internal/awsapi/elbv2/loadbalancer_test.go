package elbv2

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
	"github.com/privlink/privlink/internal/store/boltstore"
)

const lbwAccount = "111111111111"

// lbwWorld is the ELBv2 handler over a fresh store with one VPC of
// lbwAccount: subnets in zones a and b and a security group, made through
// the control plane.
type lbwWorld struct {
	t       *testing.T
	h       awsapi.Handler
	cp      *controlplane.Service
	st      store.Store
	vpcID   string
	subnets []string // zones a, b
	sgID    string
}

func newLBWorld(t *testing.T) *lbwWorld {
	t.Helper()
	st, err := boltstore.Open(t.Context(), filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	zones, err := model.Zones("us-east-1", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := controlplane.New(controlplane.Config{Store: st, Region: "us-east-1", Zones: zones})
	if err != nil {
		t.Fatal(err)
	}
	w := &lbwWorld{t: t, h: Handler(cp), cp: cp, st: st}
	ctx := t.Context()
	vpc, err := cp.CreateVpc(ctx, lbwAccount, controlplane.CreateVpcInput{CidrBlock: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	w.vpcID = vpc.ID
	for i, z := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := cp.CreateSubnet(ctx, lbwAccount, controlplane.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0." + string(rune('1'+i)) + ".0/24", AvailabilityZone: z})
		if err != nil {
			t.Fatal(err)
		}
		w.subnets = append(w.subnets, sn.ID)
	}
	sg, err := cp.CreateSecurityGroup(ctx, lbwAccount, controlplane.CreateSecurityGroupInput{GroupName: "lb", Description: "lb", VpcID: vpc.ID})
	if err != nil {
		t.Fatal(err)
	}
	w.sgID = sg.ID
	return w
}

// targetGroup stores a TCP target group in the VPC directly, standing in
// for CreateTargetGroup.
func (w *lbwWorld) targetGroup(name string) string {
	w.t.Helper()
	suffix := model.NewELBSuffix()
	tg := model.TargetGroup{
		ARN: model.TargetGroupARN("us-east-1", lbwAccount, name, suffix), Name: name, OwnerID: lbwAccount, VpcID: w.vpcID,
		Protocol: "TCP", Port: 80, TargetType: "instance", IPAddressType: "ipv4", Attributes: map[string]string{},
	}
	b, err := json.Marshal(tg)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.st.Update(w.t.Context(), func(tx store.Tx) error {
		return tx.Put(store.Key(store.KindTargetGroup, lbwAccount, suffix), b)
	}); err != nil {
		w.t.Fatal(err)
	}
	return tg.ARN
}

// call sends a form body the way botocore's QuerySerializer writes it
// (Action and Version included) and decodes the XML response into out.
func (w *lbwWorld) call(query string, out any) error {
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
	resp, err := w.h.Handle(w.t.Context(), &awsapi.Request{
		Service: "elasticloadbalancing", Action: action, Params: params, Region: "us-east-1",
		Caller: awsapi.Caller{AccountID: lbwAccount, AccessKeyID: "test"}, RequestID: "req-1",
	})
	if err != nil {
		return err
	}
	body, err := resp.MarshalResponse("req-1")
	if err != nil {
		w.t.Fatalf("%s: marshal: %v", action, err)
	}
	prefix := `<` + action + `Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><` + action + `Result`
	if !strings.Contains(string(body), prefix) || !strings.Contains(string(body), "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>") {
		w.t.Errorf("%s: unexpected envelope: %s", action, body)
	}
	if out != nil {
		if err := xml.Unmarshal(body, out); err != nil {
			w.t.Fatalf("%s: unmarshal %s: %v", action, body, err)
		}
	}
	return nil
}

func (w *lbwWorld) must(query string, out any) {
	w.t.Helper()
	if err := w.call(query, out); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
}

// raw returns the XML body of a successful call.
func (w *lbwWorld) raw(query string) string {
	w.t.Helper()
	var body struct {
		Inner string `xml:",innerxml"`
	}
	w.must(query, &body)
	return body.Inner
}

// q builds a query string from name/value pairs, in order.
func lbwQuery(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

func lbwWantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if ae.Code != code || ae.HTTPStatus() != 400 || (msg != "" && ae.Message != msg) {
		t.Errorf("error = %s (%d) %q, want %s (400) %q", ae.Code, ae.HTTPStatus(), ae.Message, code, msg)
	}
}

type lbwXMLAddress struct {
	PrivateIPv4Address string `xml:"PrivateIPv4Address"`
}

type lbwXMLAZ struct {
	ZoneName  string          `xml:"ZoneName"`
	SubnetID  string          `xml:"SubnetId"`
	Addresses []lbwXMLAddress `xml:"LoadBalancerAddresses>member"`
}

type lbwXMLLB struct {
	ARN            string     `xml:"LoadBalancerArn"`
	DNSName        string     `xml:"DNSName"`
	HostedZone     string     `xml:"CanonicalHostedZoneId"`
	CreatedTime    string     `xml:"CreatedTime"`
	Name           string     `xml:"LoadBalancerName"`
	Scheme         string     `xml:"Scheme"`
	VpcID          string     `xml:"VpcId"`
	State          string     `xml:"State>Code"`
	Type           string     `xml:"Type"`
	AZs            []lbwXMLAZ `xml:"AvailabilityZones>member"`
	SecurityGroups []string   `xml:"SecurityGroups>member"`
	IPAddressType  string     `xml:"IpAddressType"`
	Enforce        string     `xml:"EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"`
}

type lbwXMLLBs struct {
	LoadBalancers []lbwXMLLB `xml:"CreateLoadBalancerResult>LoadBalancers>member"`
	Described     []lbwXMLLB `xml:"DescribeLoadBalancersResult>LoadBalancers>member"`
	NextMarker    string     `xml:"DescribeLoadBalancersResult>NextMarker"`
}

type lbwXMLAttr struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func TestLoadBalancerActions(t *testing.T) {
	w := newLBWorld(t)
	var created lbwXMLLBs
	w.must(lbwQuery("Action", "CreateLoadBalancer", "Version", "2015-12-01", "Name", "my-nlb", "Type", "network", "Scheme", "internal",
		"Subnets.member.1", w.subnets[1], "Subnets.member.2", w.subnets[0], "SecurityGroups.member.1", w.sgID,
		"Tags.member.1.Key", "k", "Tags.member.1.Value", "v"), &created)
	if len(created.LoadBalancers) != 1 {
		t.Fatalf("CreateLoadBalancer returned %d load balancers", len(created.LoadBalancers))
	}
	lb := created.LoadBalancers[0]
	r, ok := model.ParseELBARN(lb.ARN)
	if !ok {
		t.Fatalf("ARN %q", lb.ARN)
	}
	want := lbwXMLLB{
		ARN: lb.ARN, DNSName: "my-nlb-" + r.ID + ".elb.us-east-1.amazonaws.com", HostedZone: "Z26RNL4JYFTOTI",
		CreatedTime: lb.CreatedTime, Name: "my-nlb", Scheme: "internal", VpcID: w.vpcID, State: "provisioning", Type: "network",
		AZs:            []lbwXMLAZ{{ZoneName: "us-east-1a", SubnetID: w.subnets[0]}, {ZoneName: "us-east-1b", SubnetID: w.subnets[1]}},
		SecurityGroups: []string{w.sgID}, IPAddressType: "ipv4", Enforce: "on",
	}
	if diff := cmp.Diff(want, lb); diff != "" {
		t.Errorf("CreateLoadBalancer mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(lb.CreatedTime, "Z") || len(lb.CreatedTime) != len("2025-01-15T10:00:00.000Z") {
		t.Errorf("CreatedTime = %q", lb.CreatedTime)
	}

	// An asked-for address is listed; LoadBalancerAddresses is otherwise
	// present and empty.
	body := w.raw(lbwQuery("Action", "CreateLoadBalancer", "Version", "2015-12-01", "Name", "pinned", "Type", "network", "Scheme", "internal",
		"SubnetMappings.member.1.SubnetId", w.subnets[0], "SubnetMappings.member.1.PrivateIPv4Address", "10.0.1.100"))
	if !strings.Contains(body, "<LoadBalancerAddresses><member><PrivateIPv4Address>10.0.1.100</PrivateIPv4Address></member></LoadBalancerAddresses>") {
		t.Errorf("pinned address not in %s", body)
	}
	if strings.Contains(body, "SecurityGroups") || strings.Contains(body, "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic") {
		t.Errorf("load balancer without groups shows groups: %s", body)
	}
	body = w.raw(lbwQuery("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "LoadBalancerArns.member.1", lb.ARN))
	if strings.Count(body, "<LoadBalancerAddresses/>") != 2 {
		t.Errorf("want two empty LoadBalancerAddresses in %s", body)
	}

	// Describe by name, with paging.
	var page lbwXMLLBs
	w.must(lbwQuery("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "PageSize", "1"), &page)
	if len(page.Described) != 1 || page.NextMarker == "" {
		t.Fatalf("DescribeLoadBalancers(PageSize=1) = %+v", page)
	}
	var next lbwXMLLBs
	w.must(lbwQuery("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "PageSize", "1", "Marker", page.NextMarker), &next)
	if len(next.Described) != 1 || next.NextMarker != "" || next.Described[0].Name == page.Described[0].Name {
		t.Errorf("second page = %+v after %s", next, page.Described[0].Name)
	}
	var byName lbwXMLLBs
	w.must(lbwQuery("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "Names.member.1", "my-nlb"), &byName)
	if len(byName.Described) != 1 || byName.Described[0].ARN != lb.ARN {
		t.Errorf("DescribeLoadBalancers(Names) = %+v", byName.Described)
	}

	// Attributes.
	var attrs struct {
		Attributes []lbwXMLAttr `xml:"ModifyLoadBalancerAttributesResult>Attributes>member"`
	}
	w.must(lbwQuery("Action", "ModifyLoadBalancerAttributes", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN,
		"Attributes.member.1.Key", "load_balancing.cross_zone.enabled", "Attributes.member.1.Value", "true"), &attrs)
	if len(attrs.Attributes) != 9 || attrs.Attributes[6] != (lbwXMLAttr{"load_balancing.cross_zone.enabled", "true"}) {
		t.Errorf("ModifyLoadBalancerAttributes = %+v", attrs.Attributes)
	}
	var described struct {
		Attributes []lbwXMLAttr `xml:"DescribeLoadBalancerAttributesResult>Attributes>member"`
	}
	w.must(lbwQuery("Action", "DescribeLoadBalancerAttributes", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN), &described)
	if diff := cmp.Diff(attrs.Attributes, described.Attributes); diff != "" {
		t.Errorf("DescribeLoadBalancerAttributes mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(w.raw(lbwQuery("Action", "DescribeLoadBalancerAttributes", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN)),
		"<member><Key>access_logs.s3.bucket</Key><Value/></member>") {
		t.Errorf("an empty attribute value must still be sent")
	}

	// Security groups.
	var sgs struct {
		IDs     []string `xml:"SetSecurityGroupsResult>SecurityGroupIds>member"`
		Enforce string   `xml:"SetSecurityGroupsResult>EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"`
	}
	w.must(lbwQuery("Action", "SetSecurityGroups", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN, "SecurityGroups.member.1", w.sgID,
		"EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic", "off"), &sgs)
	if !cmp.Equal(sgs.IDs, []string{w.sgID}) || sgs.Enforce != "off" {
		t.Errorf("SetSecurityGroups = %+v", sgs)
	}

	// SetSubnets with the subnets it has answers them; anything else is
	// refused.
	var subnets struct {
		AZs []lbwXMLAZ `xml:"SetSubnetsResult>AvailabilityZones>member"`
	}
	w.must(lbwQuery("Action", "SetSubnets", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN, "Subnets.member.1", w.subnets[0], "Subnets.member.2", w.subnets[1]), &subnets)
	if len(subnets.AZs) != 2 {
		t.Errorf("SetSubnets = %+v", subnets)
	}
	err := w.call(lbwQuery("Action", "SetSubnets", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN, "Subnets.member.1", w.subnets[0]), nil)
	lbwWantErr(t, err, "OperationNotPermitted", "")

	// Delete: an empty result, and again.
	for range 2 {
		if body := w.raw(lbwQuery("Action", "DeleteLoadBalancer", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN)); !strings.Contains(body, "<DeleteLoadBalancerResult/>") {
			t.Errorf("DeleteLoadBalancer body %s", body)
		}
	}
	err = w.call(lbwQuery("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "LoadBalancerArns.member.1", lb.ARN), nil)
	lbwWantErr(t, err, "LoadBalancerNotFound", "Load balancers '["+lb.ARN+"]' not found")
}

func TestLoadBalancerActionErrors(t *testing.T) {
	w := newLBWorld(t)
	base := []string{"Action", "CreateLoadBalancer", "Version", "2015-12-01", "Name", "lb", "Scheme", "internal", "Subnets.member.1", w.subnets[0]}
	tests := []struct {
		name  string
		query string
		code  string
		msg   string
	}{
		{"no Type", lbwQuery(base...), "ValidationError",
			"privlink serves only network load balancers: set Type to 'network' (the default type, 'application', is not supported)"},
		{"Type not in the model", lbwQuery(append(base, "Type", "nlb")...), "ValidationError",
			"Value (nlb) for parameter Type is invalid. Expected one of: application, network, gateway."},
		{"dualstack", lbwQuery(append(base, "Type", "network", "IpAddressType", "dualstack")...), "ValidationError",
			"privlink supports only the 'ipv4' IP address type, not 'dualstack'"},
		{"unknown subnet", lbwQuery("Action", "CreateLoadBalancer", "Version", "2015-12-01", "Name", "lb", "Type", "network", "Scheme", "internal",
			"Subnets.member.1", "subnet-0123456789abcdef0"), "SubnetNotFound", "The subnet ID 'subnet-0123456789abcdef0' is not valid"},
		{"no name", lbwQuery("Action", "CreateLoadBalancer", "Version", "2015-12-01", "Type", "network"), "ValidationError",
			"1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"PageSize 0", lbwQuery("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "PageSize", "0"), "ValidationError", ""},
		{"unknown attribute", lbwQuery("Action", "ModifyLoadBalancerAttributes", "Version", "2015-12-01",
			"LoadBalancerArn", model.LoadBalancerARN("us-east-1", lbwAccount, "lb", "0123456789abcdef"),
			"Attributes.member.1.Key", "idle_timeout.timeout_seconds", "Attributes.member.1.Value", "60"), "LoadBalancerNotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lbwWantErr(t, w.call(tt.query, nil), tt.code, tt.msg)
		})
	}
}
