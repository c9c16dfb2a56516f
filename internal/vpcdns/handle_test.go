package vpcdns

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

var mustAddr = netip.MustParseAddr

// testRecords is one VPC's records, in the forms the controller will pass.
func testRecords() Records {
	var many []netip.Addr
	for i := range 100 {
		many = append(many, netip.AddrFrom4([4]byte{10, 0, 5, byte(i + 10)}))
	}
	return Records{
		A: map[string][]netip.Addr{
			"ip-10-0-1-5.ec2.internal.": {mustAddr("10.0.1.5")},
			// An endpoint's regional name: one address per AZ.
			"vpce-0a1b.vpce-svc-0c2d.us-east-1.vpce.amazonaws.com.": {mustAddr("10.0.1.10"), mustAddr("10.0.2.10"), mustAddr("10.0.3.10")},
			"Mixed.Example.":  {mustAddr("10.0.9.9")},
			"dual.example.":   {mustAddr("10.0.9.10"), mustAddr("fd00::10")},
			"many.example.":   many,
			"nothing.example": nil, // not fully qualified: see TestRecordsErrors
		},
		CNAME: map[string]string{
			"svc.example.com.":  "vpce-0a1b.vpce-svc-0c2d.us-east-1.vpce.amazonaws.com.",
			"alias2.example.":   "svc.example.com.",
			"dangling.example.": "nowhere.example.",
		},
		PTR: map[netip.Addr][]string{
			// The endpoint's ENI answers its instance-style name only.
			mustAddr("10.0.1.10"): {"ip-10-0-1-10.ec2.internal."},
		},
	}
}

func testTable(t testing.TB) *table {
	t.Helper()
	r := testRecords()
	delete(r.A, "nothing.example")
	tbl, err := r.compile()
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// exchange sends req through handle, as the server does, and returns the
// reply and its packed size.
func exchange(t *testing.T, tbl *table, req *dns.Msg, tcp bool) (*dns.Msg, int) {
	t.Helper()
	q, err := req.Pack()
	if err != nil {
		t.Fatal(err)
	}
	b, rcode := tbl.handle(q, tcp)
	if b == nil {
		t.Fatalf("handle(%v) = no reply", req.Question)
	}
	reply := new(dns.Msg)
	if err := reply.Unpack(b); err != nil {
		t.Fatalf("unpack reply: %v", err)
	}
	if reply.Rcode != rcode {
		t.Errorf("handle() rcode = %d, reply has %d", rcode, reply.Rcode)
	}
	if reply.Id != req.Id || !reply.Response {
		t.Errorf("reply id %d response %v, want id %d response true", reply.Id, reply.Response, req.Id)
	}
	return reply, len(b)
}

// rrStrings returns rrs in presentation form, tab-separated fields joined
// by single spaces.
func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	return out
}

const soaText = ". 5 IN SOA ns.vpcdns.invalid. hostmaster.vpcdns.invalid. 1 3600 600 86400 5"

func TestAnswer(t *testing.T) {
	tbl := testTable(t)
	const vpce = "vpce-0a1b.vpce-svc-0c2d.us-east-1.vpce.amazonaws.com."
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string // sorted: A and AAAA records come shuffled
		ns     []string
	}{
		{
			name: "A", qname: "ip-10-0-1-5.ec2.internal.", qtype: dns.TypeA,
			answer: []string{"ip-10-0-1-5.ec2.internal. 60 IN A 10.0.1.5"},
		},
		{
			name: "A, several addresses", qname: vpce, qtype: dns.TypeA,
			answer: []string{vpce + " 60 IN A 10.0.1.10", vpce + " 60 IN A 10.0.2.10", vpce + " 60 IN A 10.0.3.10"},
		},
		{
			name: "case-insensitive, question's case kept", qname: "IP-10-0-1-5.Ec2.INTERNAL.", qtype: dns.TypeA,
			answer: []string{"IP-10-0-1-5.Ec2.INTERNAL. 60 IN A 10.0.1.5"},
		},
		{
			name: "record given in mixed case", qname: "mixed.example.", qtype: dns.TypeA,
			answer: []string{"mixed.example. 60 IN A 10.0.9.9"},
		},
		{
			name: "AAAA", qname: "dual.example.", qtype: dns.TypeAAAA,
			answer: []string{"dual.example. 60 IN AAAA fd00::10"},
		},
		{
			name: "NODATA: AAAA of an IPv4-only name", qname: "ip-10-0-1-5.ec2.internal.", qtype: dns.TypeAAAA,
			ns: []string{soaText},
		},
		{
			name: "NODATA: MX", qname: "ip-10-0-1-5.ec2.internal.", qtype: dns.TypeMX,
			ns: []string{soaText},
		},
		{
			name: "NODATA: empty non-terminal", qname: "ec2.internal.", qtype: dns.TypeA,
			ns: []string{soaText},
		},
		{
			name: "NODATA: parent of an alias", qname: "example.com.", qtype: dns.TypeA,
			ns: []string{soaText},
		},
		{
			name: "NXDOMAIN", qname: "example.net.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soaText},
		},
		{
			name: "NXDOMAIN: no internet", qname: "www.amazon.com.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soaText},
		},
		{
			name: "NXDOMAIN below a name", qname: "x.ip-10-0-1-5.ec2.internal.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soaText},
		},
		{
			name: "PTR derived from A", qname: "5.1.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"5.1.0.10.in-addr.arpa. 60 IN PTR ip-10-0-1-5.ec2.internal."},
		},
		{
			name: "PTR explicit replaces derived", qname: "10.1.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"10.1.0.10.in-addr.arpa. 60 IN PTR ip-10-0-1-10.ec2.internal."},
		},
		{
			name: "PTR derived for the other AZs", qname: "10.2.0.10.IN-ADDR.ARPA.", qtype: dns.TypePTR,
			answer: []string{"10.2.0.10.IN-ADDR.ARPA. 60 IN PTR " + vpce},
		},
		{
			name: "PTR of IPv6", qname: "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", qtype: dns.TypePTR,
			answer: []string{"0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 60 IN PTR dual.example."},
		},
		{
			name: "PTR unknown", qname: "6.1.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			rcode: dns.RcodeNameError, ns: []string{soaText},
		},
		{
			name: "CNAME chain", qname: "Alias2.Example.", qtype: dns.TypeA,
			answer: []string{
				"Alias2.Example. 60 IN CNAME svc.example.com.",
				"svc.example.com. 60 IN CNAME " + vpce,
				vpce + " 60 IN A 10.0.1.10", vpce + " 60 IN A 10.0.2.10", vpce + " 60 IN A 10.0.3.10",
			},
		},
		{
			name: "CNAME chain, NODATA at the end", qname: "svc.example.com.", qtype: dns.TypeAAAA,
			answer: []string{"svc.example.com. 60 IN CNAME " + vpce},
			ns:     []string{soaText},
		},
		{
			name: "CNAME asked for", qname: "alias2.example.", qtype: dns.TypeCNAME,
			answer: []string{"alias2.example. 60 IN CNAME svc.example.com."},
		},
		{
			name: "CNAME to a name not in the table", qname: "dangling.example.", qtype: dns.TypeA,
			rcode:  dns.RcodeNameError,
			answer: []string{"dangling.example. 60 IN CNAME nowhere.example."},
			ns:     []string{soaText},
		},
		{
			name: "ANY", qname: "dual.example.", qtype: dns.TypeANY,
			answer: []string{"dual.example. 60 IN A 10.0.9.10", "dual.example. 60 IN AAAA fd00::10"},
		},
		{
			name: "AXFR refused", qname: "ec2.internal.", qtype: dns.TypeAXFR,
			rcode: dns.RcodeRefused,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := new(dns.Msg).SetQuestion(tt.qname, tt.qtype)
			reply, _ := exchange(t, tbl, req, false)
			if reply.Rcode != tt.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[reply.Rcode], dns.RcodeToString[tt.rcode])
			}
			wantAA := tt.rcode != dns.RcodeRefused
			if reply.Authoritative != wantAA || reply.RecursionAvailable || !reply.RecursionDesired || reply.Truncated {
				t.Errorf("flags aa=%v ra=%v rd=%v tc=%v, want aa=%v ra=false rd=true tc=false",
					reply.Authoritative, reply.RecursionAvailable, reply.RecursionDesired, reply.Truncated, wantAA)
			}
			if diff := cmp.Diff(req.Question, reply.Question); diff != "" {
				t.Errorf("question mismatch (-want +got):\n%s", diff)
			}
			// CNAMEs come first and in chain order; the rest shuffled.
			got := rrStrings(reply.Answer)
			n := 0
			for n < len(got) && strings.Contains(got[n], " CNAME ") {
				n++
			}
			slices.Sort(got[n:])
			if diff := cmp.Diff(tt.answer, got); diff != "" {
				t.Errorf("answer mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.ns, rrStrings(reply.Ns)); diff != "" {
				t.Errorf("authority mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestShuffle checks that a name with several addresses comes in every
// order, each address first about equally often: clients take the first.
func TestShuffle(t *testing.T) {
	tbl := testTable(t)
	const n = 600
	orders := make(map[string]int)
	first := make(map[string]int)
	for range n {
		req := new(dns.Msg).SetQuestion("VPCE-0a1b.vpce-svc-0c2d.us-east-1.vpce.amazonaws.com.", dns.TypeA)
		reply, _ := exchange(t, tbl, req, false)
		var order []string
		for _, rr := range reply.Answer {
			order = append(order, rr.(*dns.A).A.String())
		}
		if len(order) != 3 {
			t.Fatalf("answer = %v, want 3 addresses", order)
		}
		orders[strings.Join(order, ",")]++
		first[order[0]]++
	}
	if len(orders) != 6 {
		t.Errorf("saw %d of the 6 orders in %d queries: %v", len(orders), n, orders)
	}
	for addr, c := range first {
		// Expected 200 each; 120 is more than 7 standard deviations off.
		if c < 120 {
			t.Errorf("%s came first %d times in %d queries, want about %d", addr, c, n, n/3)
		}
	}
}

func TestTruncation(t *testing.T) {
	tbl := testTable(t)
	tests := []struct {
		name    string
		edns    uint16 // 0: no EDNS
		tcp     bool
		tc      bool
		maxSize int
		answers int // -1: some but not all
	}{
		{name: "UDP", tc: true, maxSize: 512, answers: -1},
		{name: "UDP, EDNS 4096", edns: 4096, tc: true, maxSize: advertisedUDPSize, answers: -1},
		{name: "UDP, EDNS 100 counts as 512", edns: 100, tc: true, maxSize: 512, answers: -1},
		{name: "TCP", tcp: true, maxSize: dns.MaxMsgSize, answers: 100},
		{name: "TCP, EDNS 512", edns: 512, tcp: true, maxSize: dns.MaxMsgSize, answers: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := new(dns.Msg).SetQuestion("many.example.", dns.TypeA)
			if tt.edns != 0 {
				req.SetEdns0(tt.edns, false)
			}
			reply, size := exchange(t, tbl, req, tt.tcp)
			if reply.Truncated != tt.tc {
				t.Errorf("TC = %v, want %v", reply.Truncated, tt.tc)
			}
			if size > tt.maxSize {
				t.Errorf("reply is %d bytes, want at most %d", size, tt.maxSize)
			}
			if got := len(reply.Answer); tt.answers >= 0 && got != tt.answers || tt.answers < 0 && (got == 0 || got >= 100) {
				t.Errorf("%d answers, want %d (-1: some but not all)", got, tt.answers)
			}
			if opt := reply.IsEdns0(); (opt != nil) != (tt.edns != 0) {
				t.Errorf("reply OPT = %v, want one: %v", opt, tt.edns != 0)
			} else if opt != nil && opt.UDPSize() != advertisedUDPSize {
				t.Errorf("reply advertises %d bytes, want %d", opt.UDPSize(), advertisedUDPSize)
			}
		})
	}
}

// rawQuery returns a packed A query for name, then lets edit change it.
func rawQuery(t *testing.T, edit func(m *dns.Msg)) []byte {
	t.Helper()
	m := new(dns.Msg).SetQuestion("ip-10-0-1-5.ec2.internal.", dns.TypeA)
	m.Id = 0xbeef
	if edit != nil {
		edit(m)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMalformed(t *testing.T) {
	tbl := testTable(t)
	valid := rawQuery(t, nil)
	tests := []struct {
		name     string
		query    []byte
		rcode    int // noReply: none
		question bool
	}{
		{name: "empty", query: nil, rcode: noReply},
		{name: "short header", query: valid[:11], rcode: noReply},
		{name: "a response", query: rawQuery(t, func(m *dns.Msg) { m.Response = true }), rcode: noReply},
		{name: "header only", query: valid[:12], rcode: dns.RcodeFormatError},
		{name: "question cut short", query: valid[:20], rcode: dns.RcodeFormatError},
		{name: "question without type", query: valid[:len(valid)-4], rcode: dns.RcodeFormatError},
		{name: "garbage", query: append(slices.Clone(valid[:12]), 0xff, 0xff, 0xff, 0xff), rcode: dns.RcodeFormatError},
		{name: "compression loop", query: append(append(slices.Clone(valid[:12]), 0xc0, 12), 0, 1, 0, 1), rcode: dns.RcodeFormatError},
		{name: "counts claim more", query: rawQuery(t, func(m *dns.Msg) {
			m.Extra = append(m.Extra, &dns.A{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: []byte{1, 2, 3, 4}})
		})[:len(valid)], rcode: dns.RcodeFormatError},
		{name: "no question", query: rawQuery(t, func(m *dns.Msg) { m.Question = nil }), rcode: dns.RcodeFormatError},
		{name: "two questions", query: rawQuery(t, func(m *dns.Msg) {
			m.Question = append(m.Question, dns.Question{Name: "b.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
		}), rcode: dns.RcodeFormatError},
		{name: "two OPTs", query: rawQuery(t, func(m *dns.Msg) {
			m.SetEdns0(1232, false)
			m.Extra = append(m.Extra, m.Extra[0])
		}), rcode: dns.RcodeFormatError},
		{name: "EDNS version 1", query: rawQuery(t, func(m *dns.Msg) {
			m.SetEdns0(1232, false)
			m.IsEdns0().SetVersion(1)
		}), rcode: dns.RcodeBadVers},
		{name: "NOTIFY", query: rawQuery(t, func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), rcode: dns.RcodeNotImplemented},
		{name: "UPDATE", query: rawQuery(t, func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }), rcode: dns.RcodeNotImplemented},
		{name: "CHAOS", query: rawQuery(t, func(m *dns.Msg) {
			m.Question[0] = dns.Question{Name: "version.bind.", Qtype: dns.TypeTXT, Qclass: dns.ClassCHAOS}
		}), rcode: dns.RcodeRefused, question: true},
		{name: "type OPT", query: rawQuery(t, func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeOPT }), rcode: dns.RcodeFormatError, question: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, tcp := range []bool{false, true} {
				b, rcode := tbl.handle(tt.query, tcp)
				if rcode != tt.rcode {
					t.Errorf("handle(tcp=%v) rcode = %d, want %d", tcp, rcode, tt.rcode)
				}
				if tt.rcode == noReply {
					if b != nil {
						t.Errorf("handle(tcp=%v) replied %x, want no reply", tcp, b)
					}
					continue
				}
				reply := new(dns.Msg)
				if err := reply.Unpack(b); err != nil {
					t.Fatalf("unpack reply: %v", err)
				}
				if reply.Id != 0xbeef || !reply.Response || reply.Rcode != tt.rcode || reply.Authoritative || len(reply.Answer) != 0 {
					t.Errorf("reply header %+v, want id 0xbeef, response, rcode %d, not authoritative, no answer", reply.MsgHdr, tt.rcode)
				}
				if got := len(reply.Question) == 1; got != tt.question {
					t.Errorf("reply echoes the question: %v, want %v", got, tt.question)
				}
			}
		})
	}
}

func TestRcodeName(t *testing.T) {
	for rcode, want := range map[int]string{
		dns.RcodeSuccess: "NOERROR", dns.RcodeNameError: "NXDOMAIN", dns.RcodeFormatError: "FORMERR",
		dns.RcodeRefused: "REFUSED", dns.RcodeNotImplemented: "NOTIMP", dns.RcodeBadVers: "BADVERS", 4000: "RCODE4000",
	} {
		if got := rcodeName(rcode); got != want {
			t.Errorf("rcodeName(%d) = %q, want %q", rcode, got, want)
		}
	}
}

// TestHandleRaw checks the wire bytes of one reply: the header flags and
// the compression of the owner against the question.
func TestHandleRaw(t *testing.T) {
	tbl := testTable(t)
	b, _ := tbl.handle(rawQuery(t, nil), false)
	if got, want := binary.BigEndian.Uint16(b[2:]), uint16(0x8500); got != want { // QR AA RD, NOERROR
		t.Errorf("flags = %#04x, want %#04x", got, want)
	}
	if got, want := fmt.Sprint(binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:])), "1 1"; got != want {
		t.Errorf("qdcount ancount = %s, want %s", got, want)
	}
}
