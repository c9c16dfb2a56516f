// Package handlerpath benchmarks the layers under privlink's VPC API in one
// process, to show where a CreateVpc or a DescribeVpcs spends its time:
//
//   - StoreCommit: a bare bbolt transaction with one put: the fsync floor of
//     every mutating call.
//   - ControlPlane: controlplane.Service.CreateVpc / DescribeVpcs on that
//     store (validation, ids, default group and ACL, JSON records).
//   - HTTP: the same through awsapi.Server and the EC2 handlers over
//     loopback TCP, signed with SigV4: the whole API path minus the daemon's
//     controller.
//
// Each runs with the store on disk (the test's temp dir) and on tmpfs
// (/dev/shm, where fsync costs nothing), so the difference is the price of
// durability. These are benchmarks only: nothing here asserts a time.
//
//	go test -run '^$' -bench . -benchtime 2000x ./bench/handlerpath
package handlerpath

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/ec2"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
	"github.com/privlink/privlink/internal/store/boltstore"
)

const account = controlplane.BootstrapAccountID

// media are the places the store file goes: "disk" (the temp dir) and, when
// it exists, "tmpfs".
func media(b *testing.B) map[string]string {
	m := map[string]string{"disk": b.TempDir()}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "plkbench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		m["tmpfs"] = dir
	}
	return m
}

func openStore(b *testing.B, dir string) *boltstore.Store {
	st, err := boltstore.Open(context.Background(), filepath.Join(dir, "privlink.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func newService(b *testing.B, st store.Store) *controlplane.Service {
	zones, err := model.Zones("us-east-1", []string{"a", "b", "c"})
	if err != nil {
		b.Fatal(err)
	}
	cp, err := controlplane.New(controlplane.Config{Store: st, Region: "us-east-1", Zones: zones})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cp.Bootstrap(context.Background()); err != nil {
		b.Fatal(err)
	}
	return cp
}

func BenchmarkStoreCommit(b *testing.B) {
	value := []byte(strings.Repeat("x", 600)) // about one VPC record
	for name, dir := range media(b) {
		b.Run(name, func(b *testing.B) {
			st := openStore(b, dir)
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				if _, err := st.Update(ctx, func(tx store.Tx) error {
					return tx.Put(fmt.Sprintf("bench/%09d", i), value)
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkControlPlaneCreateVpc(b *testing.B) {
	for name, dir := range media(b) {
		b.Run(name, func(b *testing.B) {
			cp := newService(b, openStore(b, dir))
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				if _, err := cp.CreateVpc(ctx, account, controlplane.CreateVpcInput{CidrBlock: fmt.Sprintf("10.%d.0.0/16", i%256)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkControlPlaneDescribeVpcByID describes one VPC by id in an account
// that has n VPCs.
func BenchmarkControlPlaneDescribeVpcByID(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("vpcs=%d", n), func(b *testing.B) {
			cp := newService(b, openStore(b, media(b)["disk"]))
			ids := createVpcs(b, cp, n)
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				out, err := cp.DescribeVpcs(ctx, account, controlplane.DescribeVpcsInput{VpcIDs: []string{ids[i%n]}})
				if err != nil || len(out.Vpcs) != 1 {
					b.Fatalf("DescribeVpcs: %d VPCs, %v", len(out.Vpcs), err)
				}
			}
		})
	}
}

// BenchmarkControlPlaneCreateDeleteVpc creates and deletes one VPC in an
// account that has n other VPCs, with the store on tmpfs (no fsync), so that
// what grows with n is the operations' own work.
func BenchmarkControlPlaneCreateDeleteVpc(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("vpcs=%d", n), func(b *testing.B) {
			m := media(b)
			dir, ok := m["tmpfs"]
			if !ok {
				dir = m["disk"]
			}
			cp := newService(b, openStore(b, dir))
			createVpcs(b, cp, n)
			ctx := context.Background()
			for b.Loop() {
				v, err := cp.CreateVpc(ctx, account, controlplane.CreateVpcInput{CidrBlock: "10.0.0.0/16"})
				if err != nil {
					b.Fatal(err)
				}
				if err := cp.DeleteVpc(ctx, account, controlplane.DeleteVpcInput{VpcID: v.ID}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func createVpcs(b *testing.B, cp *controlplane.Service, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		v, err := cp.CreateVpc(context.Background(), account, controlplane.CreateVpcInput{CidrBlock: fmt.Sprintf("10.%d.0.0/16", i%256)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = v.ID
	}
	return ids
}

// client sends SigV4-signed EC2 Query requests to an in-process API server.
type client struct {
	url    string
	http   *http.Client
	signer *v4.Signer
}

func newAPI(b *testing.B, cp *controlplane.Service) *client {
	srv := httptest.NewServer(awsapi.NewServer(awsapi.ServerConfig{
		Region:      "us-east-1",
		Credentials: cp,
		Handlers:    map[string]awsapi.Handler{awsapi.ServiceEC2: ec2.Handler(cp)},
	}))
	b.Cleanup(srv.Close)
	return &client{url: srv.URL, http: srv.Client(), signer: v4.NewSigner()}
}

func (c *client) call(b *testing.B, action string, params url.Values) {
	params.Set("Action", action)
	params.Set("Version", "2016-11-15")
	body := params.Encode()
	req, err := http.NewRequest(http.MethodPost, c.url+"/", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: controlplane.BootstrapAccessKey, SecretAccessKey: controlplane.BootstrapSecretKey}
	if err := c.signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ec2", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %s\n%s", action, resp.Status, out)
	}
}

func BenchmarkHTTPCreateVpc(b *testing.B) {
	for name, dir := range media(b) {
		b.Run(name, func(b *testing.B) {
			c := newAPI(b, newService(b, openStore(b, dir)))
			for i := 0; b.Loop(); i++ {
				c.call(b, "CreateVpc", url.Values{"CidrBlock": {fmt.Sprintf("10.%d.0.0/16", i%256)}})
			}
		})
	}
}

func BenchmarkHTTPDescribeVpcByID(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("vpcs=%d", n), func(b *testing.B) {
			cp := newService(b, openStore(b, media(b)["disk"]))
			ids := createVpcs(b, cp, n)
			c := newAPI(b, cp)
			for i := 0; b.Loop(); i++ {
				c.call(b, "DescribeVpcs", url.Values{"VpcId.1": {ids[i%n]}})
			}
		})
	}
}
