package vpcdns

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzHandle checks that no query, however malformed, makes the handler
// panic, and that every reply is a well-formed DNS message that fits its
// transport. The seed corpus is in testdata/fuzz/FuzzHandle.
func FuzzHandle(f *testing.F) {
	tbl := testTable(f)
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"ip-10-0-1-5.ec2.internal.", dns.TypeA},
		{"Alias2.Example.", dns.TypeA},
		{"many.example.", dns.TypeA},
		{"5.1.0.10.in-addr.arpa.", dns.TypePTR},
		{"nowhere.example.", dns.TypeAAAA},
	} {
		m := new(dns.Msg).SetQuestion(q.name, q.qtype)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, query []byte, tcp bool) {
		reply, rcode := tbl.handle(query, tcp)
		if reply == nil {
			if rcode != noReply {
				t.Fatalf("no reply, but rcode %d", rcode)
			}
			if len(query) >= headerLen && query[2]&0x80 == 0 {
				t.Fatalf("no reply to a query with a full header")
			}
			return
		}
		limit := advertisedUDPSize
		if tcp {
			limit = dns.MaxMsgSize
		}
		if len(reply) > limit {
			t.Fatalf("reply of %d bytes over %s, limit %d", len(reply), transport(tcp), limit)
		}
		m := new(dns.Msg)
		if err := m.Unpack(reply); err != nil {
			t.Fatalf("reply does not unpack: %v\n%x", err, reply)
		}
		if !m.Response || m.Id != uint16(query[0])<<8|uint16(query[1]) || m.Rcode != rcode || m.RecursionAvailable {
			t.Fatalf("reply header %+v, rcode %d", m.MsgHdr, rcode)
		}
		if len(m.Question) > 1 {
			t.Fatalf("reply has %d questions", len(m.Question))
		}
	})
}

func transport(tcp bool) string {
	if tcp {
		return "TCP"
	}
	return "UDP"
}
