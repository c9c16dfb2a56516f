package txtlookup

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

// zone is what the test server answers: TXT records (each a list of
// character-strings) by name; big names answer with many records, so that
// the UDP reply is truncated.
type zone struct {
	txt      map[string][][]string
	servfail map[string]bool
	tcp      *atomic.Int32 // counts queries over TCP, if set
}

func (z zone) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg).SetReply(q)
	m.Authoritative = true
	name := strings.ToLower(q.Question[0].Name)
	switch recs, ok := z.txt[name]; {
	case z.servfail[name]:
		m.Rcode = dns.RcodeServerFailure
	case !ok:
		m.Rcode = dns.RcodeNameError
	case q.Question[0].Qtype == dns.TypeTXT:
		for _, r := range recs {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: r,
			})
		}
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(dns.MinMsgSize)
	} else if z.tcp != nil {
		z.tcp.Add(1)
	}
	_ = w.WriteMsg(m)
}

// serve runs z on 127.0.0.1, UDP and TCP on one port, until the test ends,
// and returns its address.
func serve(t *testing.T, z zone) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Skipf("TCP port %s is taken: %v", pc.LocalAddr(), err)
	}
	udp := &dns.Server{PacketConn: pc, Handler: z}
	tcp := &dns.Server{Listener: l, Handler: z}
	for _, srv := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func TestLookupTXT(t *testing.T) {
	many := make([][]string, 40)
	for i := range many {
		many[i] = []string{strings.Repeat("x", 60)}
	}
	many[39] = []string{"vpce:last"}
	var tcp atomic.Int32
	addr := serve(t, zone{
		tcp: &tcp,
		txt: map[string][][]string{
			"_abc.example.com.":  {{"vpce:", "Secret"}, {"other"}},
			"example.com.":       {{"v=spf1 -all"}},
			"empty.example.com":  nil,
			"big.example.com.":   many,
			"notxt.example.com.": nil,
		},
		servfail: map[string]bool{"broken.example.com.": true},
	})
	r := New(addr)
	tests := []struct {
		name    string
		want    []string
		wantErr bool
	}{
		{"_abc.example.com", []string{"vpce:Secret", "other"}, false},
		{"_ABC.example.com.", []string{"vpce:Secret", "other"}, false},
		{"example.com", []string{"v=spf1 -all"}, false},
		{"missing.example.com", nil, false},
		{"notxt.example.com", nil, false},
		{"broken.example.com", nil, true},
	}
	for _, tt := range tests {
		got, err := r.LookupTXT(t.Context(), tt.name)
		if (err != nil) != tt.wantErr {
			t.Errorf("LookupTXT(%q) error = %v, want error %v", tt.name, err, tt.wantErr)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("LookupTXT(%q) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}

	// A reply too big for UDP comes truncated; the lookup asks again over
	// TCP and gets every record.
	if n := tcp.Load(); n != 0 {
		t.Errorf("%d queries went over TCP before the big one, want 0", n)
	}
	got, err := r.LookupTXT(t.Context(), "big.example.com")
	if err != nil {
		t.Fatalf("LookupTXT(big): %v", err)
	}
	if len(got) != 40 || got[39] != "vpce:last" {
		t.Errorf("LookupTXT(big) = %d records %q; want 40, the last vpce:last", len(got), got)
	}
	if n := tcp.Load(); n != 1 {
		t.Errorf("%d queries went over TCP, want 1 (the retry of the truncated one)", n)
	}
}

func TestLookupTXTResolvConf(t *testing.T) {
	addr := serve(t, zone{txt: map[string][][]string{"example.com.": {{"hello"}}}})
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("search example.org\nnameserver "+host+"\nnameserver 192.0.2.1\noptions ndots:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := New("")
	r.resolvConf = conf
	// resolv.conf has no port: swap in the test server's by asking for
	// the address and checking it, then querying the server directly.
	got, err := r.serverAddr()
	if err != nil {
		t.Fatal(err)
	}
	if want := net.JoinHostPort(host, "53"); got != want {
		t.Errorf("serverAddr() = %q, want %q", got, want)
	}
	r.server = net.JoinHostPort(host, port)
	txts, err := r.LookupTXT(t.Context(), "example.com")
	if err != nil || len(txts) != 1 || txts[0] != "hello" {
		t.Errorf("LookupTXT = %q, %v; want [hello]", txts, err)
	}

	empty := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(empty, []byte("search example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = &Resolver{resolvConf: empty}
	if _, err := r.LookupTXT(t.Context(), "example.com"); err == nil || !strings.Contains(err.Error(), "no nameserver") {
		t.Errorf("LookupTXT with no nameserver: error = %v", err)
	}
	r = &Resolver{resolvConf: filepath.Join(t.TempDir(), "missing")}
	if _, err := r.LookupTXT(t.Context(), "example.com"); err == nil {
		t.Error("LookupTXT with no resolv.conf: no error")
	}
}

func TestLookupTXTDeadline(t *testing.T) {
	// A server that never answers: the context's deadline ends the lookup.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := New(pc.LocalAddr().String()).LookupTXT(ctx, "example.com"); err == nil {
		t.Fatal("LookupTXT at a silent server: no error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("LookupTXT took %v, want about the 200ms deadline", d)
	}
}
