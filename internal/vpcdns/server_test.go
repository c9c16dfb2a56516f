package vpcdns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/privlink/privlink/internal/testenv"
)

// queryCounter records the counts a resolver reports.
type queryCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *queryCounter) Inc(labels ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	c.n[strings.Join(labels, ",")]++
}

func (c *queryCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int)
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// query sends one query on conn (UDP or TCP) and returns the reply.
func query(t *testing.T, conn net.Conn, name string, qtype uint16) (*dns.Msg, error) {
	t.Helper()
	c := &dns.Client{Timeout: 2 * time.Second}
	reply, _, err := c.ExchangeWithConn(new(dns.Msg).SetQuestion(name, qtype), &dns.Conn{Conn: conn})
	return reply, err
}

func answers(m *dns.Msg) []string {
	if m == nil {
		return nil
	}
	out := []string{dns.RcodeToString[m.Rcode]}
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.PTR:
			out = append(out, rr.Ptr)
		default:
			out = append(out, rr.String())
		}
	}
	return out
}

// TestResolverServes runs a resolver on loopback sockets: UDP, TCP with
// pipelined queries, TC and the retry over TCP, table swaps, counting and
// stopping.
func TestResolverServes(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		udp.Close()
		t.Fatal(err)
	}
	var counter queryCounter
	r := newResolver(testLogger(t), &counter, "test", netip.MustParseAddr("127.0.0.1"), listeners{udp: udp, tcp: tcp}, testTable(t))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			r.stop()
		}
	})

	uc, err := net.Dial("udp", udp.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	tc, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()

	for _, conn := range []net.Conn{uc, tc} {
		reply, err := query(t, conn, "ip-10-0-1-5.ec2.internal.", dns.TypeA)
		if err != nil {
			t.Fatalf("query over %s: %v", conn.LocalAddr().Network(), err)
		}
		if diff := cmp.Diff([]string{"NOERROR", "10.0.1.5"}, answers(reply)); diff != "" {
			t.Errorf("%s answer mismatch (-want +got):\n%s", conn.LocalAddr().Network(), diff)
		}
	}

	// Too large for UDP: TC, then everything over TCP.
	reply, err := query(t, uc, "many.example.", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if !reply.Truncated {
		t.Errorf("UDP reply with %d answers is not truncated", len(reply.Answer))
	}
	reply, err = query(t, tc, "many.example.", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Truncated || len(reply.Answer) != 100 {
		t.Errorf("TCP reply: TC %v, %d answers; want all 100", reply.Truncated, len(reply.Answer))
	}

	// Two queries in one segment get two replies, in order.
	var batch []byte
	for i, name := range []string{"ip-10-0-1-5.ec2.internal.", "nowhere.example."} {
		m := new(dns.Msg).SetQuestion(name, dns.TypeA)
		m.Id = uint16(100 + i)
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		batch = binary.BigEndian.AppendUint16(batch, uint16(len(b)))
		batch = append(batch, b...)
	}
	if _, err := tc.Write(batch); err != nil {
		t.Fatal(err)
	}
	tc.SetReadDeadline(time.Now().Add(2 * time.Second))
	for i, want := range []int{dns.RcodeSuccess, dns.RcodeNameError} {
		var prefix [2]byte
		if _, err := io.ReadFull(tc, prefix[:]); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, binary.BigEndian.Uint16(prefix[:]))
		if _, err := io.ReadFull(tc, b); err != nil {
			t.Fatal(err)
		}
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			t.Fatal(err)
		}
		if m.Id != uint16(100+i) || m.Rcode != want {
			t.Errorf("pipelined reply %d: id %d rcode %d, want id %d rcode %d", i, m.Id, m.Rcode, 100+i, want)
		}
	}

	// A new table answers on the same sockets and connections.
	next, err := Records{A: map[string][]netip.Addr{"ip-10-0-1-5.ec2.internal.": {netip.MustParseAddr("10.0.1.99")}}}.compile()
	if err != nil {
		t.Fatal(err)
	}
	r.table.Store(next)
	for _, conn := range []net.Conn{uc, tc} {
		reply, err := query(t, conn, "ip-10-0-1-5.ec2.internal.", dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"NOERROR", "10.0.1.99"}, answers(reply)); diff != "" {
			t.Errorf("answer after the swap mismatch (-want +got):\n%s", diff)
		}
	}

	// A malformed query is counted as well; a response is not.
	uc.Write([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	uc.Write([]byte{0, 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	uc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 512)
	if n, err := uc.Read(buf); err != nil || n < headerLen || buf[3]&0xf != dns.RcodeFormatError {
		t.Errorf("malformed query: read %x, %v; want FORMERR", buf[:n], err)
	}
	want := map[string]int{"NOERROR": 7, "NXDOMAIN": 1, "FORMERR": 1}
	if diff := cmp.Diff(want, counter.counts()); diff != "" {
		t.Errorf("counts mismatch (-want +got):\n%s", diff)
	}

	// Stopping closes the sockets and the open connection.
	r.stop()
	stopped = true
	if _, err := query(t, tc, "ip-10-0-1-5.ec2.internal.", dns.TypeA); err == nil {
		t.Error("TCP query on a connection open before stop succeeded")
	}
	if c, err := net.Dial("tcp", tcp.Addr().String()); err == nil {
		c.Close()
		t.Error("TCP dial after stop succeeded")
	}
}

func TestSetErrors(t *testing.T) {
	p := testenv.Prefix(t)
	s := New(testLogger(t))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	bad := Config{Resolvers: []Resolver{
		{Namespace: p + "a", Addr: netip.MustParseAddr("10.0.0.2")},
		{Namespace: p + "a", Addr: netip.MustParseAddr("10.0.0.2")},
		{Namespace: "x/y", Addr: netip.Addr{}},
		{Namespace: p + "b", Addr: netip.MustParseAddr("10.0.0.2"), Records: Records{A: map[string][]netip.Addr{"a": nil}}},
	}}
	err := s.Set(t.Context(), bad)
	for _, want := range []string{"vpcdns config", "resolver 1 (" + p + "a): duplicate namespace", `invalid namespace name "x/y"`, "invalid address", `resolver 3 (` + p + `b): records: A "a": not fully qualified`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Set() = %v, want an error containing %q", err, want)
		}
	}
	if verr := bad.Validate(); verr == nil {
		t.Error("Validate() = nil, want the same errors")
	}

	// A missing namespace fails that resolver, named in the error.
	missing := Config{Resolvers: []Resolver{{Namespace: p + "missing", Addr: netip.MustParseAddr("10.0.0.2")}}}
	if err := missing.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if err := s.Set(t.Context(), missing); err == nil || !strings.Contains(err.Error(), "resolver "+p+"missing (10.0.0.2)") {
		t.Errorf("Set() = %v, want an error naming the resolver", err)
	}
	if err := s.Set(t.Context(), Config{}); err != nil {
		t.Errorf("Set(empty) = %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	if err := s.Set(t.Context(), Config{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Set() after Run() = %v, want ErrClosed", err)
	}
}
