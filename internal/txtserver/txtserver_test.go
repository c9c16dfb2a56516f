package txtserver

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

func TestServer(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	s.Set("_abc.Web.Example.test", "vpce:XYZ")
	tests := []struct {
		net, name string
		qtype     uint16
		rcode     int
		want      []string
	}{
		{"udp", "_abc.web.example.test.", dns.TypeTXT, dns.RcodeSuccess, []string{"vpce:XYZ"}},
		{"tcp", "_ABC.web.example.test.", dns.TypeTXT, dns.RcodeSuccess, []string{"vpce:XYZ"}},
		{"udp", "_abc.web.example.test.", dns.TypeA, dns.RcodeSuccess, nil},
		{"udp", "web.example.test.", dns.TypeTXT, dns.RcodeNameError, nil},
	}
	var wantQueries []string
	for _, tt := range tests {
		q := new(dns.Msg).SetQuestion(tt.name, tt.qtype)
		r, _, err := (&dns.Client{Net: tt.net}).ExchangeContext(t.Context(), q, s.Addr())
		if err != nil {
			t.Errorf("%s %s %s: %v", tt.net, dns.TypeToString[tt.qtype], tt.name, err)
			continue
		}
		wantQueries = append(wantQueries, dns.TypeToString[tt.qtype]+" "+tt.name)
		var got []string
		for _, rr := range r.Answer {
			if txt, ok := rr.(*dns.TXT); ok {
				got = append(got, txt.Txt...)
			}
		}
		if r.Rcode != tt.rcode || !r.Authoritative || !cmp.Equal(tt.want, got) {
			t.Errorf("%s %s %s = %s aa=%v %q, want %s aa=true %q", tt.net, dns.TypeToString[tt.qtype], tt.name,
				dns.RcodeToString[r.Rcode], r.Authoritative, got, dns.RcodeToString[tt.rcode], tt.want)
		}
	}
	if diff := cmp.Diff(wantQueries, s.Queries()); diff != "" {
		t.Errorf("Queries() mismatch (-want +got):\n%s", diff)
	}
}
