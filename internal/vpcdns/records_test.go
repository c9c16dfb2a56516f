package vpcdns

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecordsCompile(t *testing.T) {
	tbl := testTable(t)
	got := make(map[string]string)
	for name, n := range tbl.nodes {
		var parts []string
		for _, a := range n.a {
			parts = append(parts, "A "+a.String())
		}
		for _, a := range n.aaaa {
			parts = append(parts, "AAAA "+a.String())
		}
		if n.cname != "" {
			parts = append(parts, "CNAME "+n.cname)
		}
		for _, p := range n.ptr {
			parts = append(parts, "PTR "+p)
		}
		got[name] = strings.Join(parts, ", ")
	}
	const vpce = "vpce-0a1b.vpce-svc-0c2d.us-east-1.vpce.amazonaws.com."
	var many []string
	for i := range 100 {
		many = append(many, "A 10.0.5."+strconv.Itoa(i+10))
	}
	want := map[string]string{
		"ip-10-0-1-5.ec2.internal.": "A 10.0.1.5",
		vpce:                        "A 10.0.1.10, A 10.0.2.10, A 10.0.3.10",
		"mixed.example.":            "A 10.0.9.9",
		"dual.example.":             "A 10.0.9.10, AAAA fd00::10",
		"many.example.":             strings.Join(many, ", "),
		"svc.example.com.":          "CNAME " + vpce,
		"alias2.example.":           "CNAME svc.example.com.",
		"dangling.example.":         "CNAME nowhere.example.",
		"5.1.0.10.in-addr.arpa.":    "PTR ip-10-0-1-5.ec2.internal.",
		"10.1.0.10.in-addr.arpa.":   "PTR ip-10-0-1-10.ec2.internal.",
		"10.2.0.10.in-addr.arpa.":   "PTR " + vpce,
		"10.3.0.10.in-addr.arpa.":   "PTR " + vpce,
		"9.9.0.10.in-addr.arpa.":    "PTR mixed.example.",
		"10.9.0.10.in-addr.arpa.":   "PTR dual.example.",
		"0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.": "PTR dual.example.",
	}
	for i := range 100 {
		want[strconv.Itoa(i+10)+".5.0.10.in-addr.arpa."] = "PTR many.example."
	}
	// Empty non-terminals: every ancestor, root included.
	for name := range want {
		for i := 0; i < len(name)-1; i++ {
			if name[i] == '.' {
				if _, ok := want[name[i+1:]]; !ok {
					want[name[i+1:]] = ""
				}
			}
		}
	}
	want["."] = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("compile() mismatch (-want +got):\n%s", diff)
	}
}

func TestRecordsMerge(t *testing.T) {
	r := Records{
		A: map[string][]netip.Addr{
			"a.example.": {mustAddr("10.0.0.1"), mustAddr("10.0.0.1")},
			"A.EXAMPLE.": {mustAddr("10.0.0.2")},
			"b.example.": {mustAddr("10.0.0.1")},
		},
		CNAME: map[string]string{"c.example.": "a.example.", "C.example.": "A.Example."},
		PTR:   map[netip.Addr][]string{mustAddr("10.9.9.9"): {"z.example.", "y.example.", "Z.example."}},
	}
	tbl, err := r.compile()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*node{
		"a.example.":             {a: []netip.Addr{mustAddr("10.0.0.1"), mustAddr("10.0.0.2")}},
		"b.example.":             {a: []netip.Addr{mustAddr("10.0.0.1")}},
		"c.example.":             {cname: "a.example."},
		"1.0.0.10.in-addr.arpa.": {ptr: []string{"a.example.", "b.example."}},
		"2.0.0.10.in-addr.arpa.": {ptr: []string{"a.example."}},
		"9.9.9.10.in-addr.arpa.": {ptr: []string{"z.example.", "y.example."}}, // the caller's order
	}
	for name, w := range want {
		if diff := cmp.Diff(w, tbl.nodes[name], cmp.AllowUnexported(node{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("node %s mismatch (-want +got):\n%s", name, diff)
		}
	}
}

func TestRecordsErrors(t *testing.T) {
	a := func(s string) []netip.Addr { return []netip.Addr{mustAddr(s)} }
	tests := []struct {
		name    string
		r       Records
		wantErr []string // substrings
	}{
		{
			name:    "not fully qualified",
			r:       Records{A: map[string][]netip.Addr{"ip-10-0-1-5.ec2.internal": a("10.0.1.5")}},
			wantErr: []string{`A "ip-10-0-1-5.ec2.internal": not fully qualified`},
		},
		{
			name:    "bad names",
			r:       Records{A: map[string][]netip.Addr{"a..b.": nil, strings.Repeat("x", 64) + ".example.": nil, strings.Repeat("abcdefg.", 40): nil}},
			wantErr: []string{`"a..b.": not a valid`, `"xxxx`, `"abcdefg.abcdefg.`},
		},
		{
			name:    "bad addresses",
			r:       Records{A: map[string][]netip.Addr{"a.": {{}, mustAddr("::ffff:10.0.0.1"), mustAddr("fe80::1%eth0")}}},
			wantErr: []string{"invalid address", "::ffff:10.0.0.1 must be plain", "fe80::1%eth0 must be plain"},
		},
		{
			name:    "CNAME and A",
			r:       Records{A: map[string][]netip.Addr{"a.": a("10.0.0.1")}, CNAME: map[string]string{"A.": "b."}},
			wantErr: []string{`CNAME "a.": the name has other records too`},
		},
		{
			name:    "CNAME and PTR",
			r:       Records{A: map[string][]netip.Addr{"a.": a("10.0.0.1")}, CNAME: map[string]string{"1.0.0.10.in-addr.arpa.": "b."}},
			wantErr: []string{`CNAME "1.0.0.10.in-addr.arpa.": the name has other records too`},
		},
		{
			name:    "two targets",
			r:       Records{CNAME: map[string]string{"a.": "b.", "A.": "c."}},
			wantErr: []string{`two targets`},
		},
		{
			name:    "bad target",
			r:       Records{CNAME: map[string]string{"a.": "b"}},
			wantErr: []string{`CNAME "a.": target "b": not fully qualified`},
		},
		{
			name:    "loop",
			r:       Records{CNAME: map[string]string{"a.": "b.", "b.": "a."}},
			wantErr: []string{`CNAME "a.": chain longer than 8 or a loop`, `CNAME "b.": chain`},
		},
		{
			name: "chain too long",
			r: Records{CNAME: map[string]string{
				"c0.": "c1.", "c1.": "c2.", "c2.": "c3.", "c3.": "c4.", "c4.": "c5.", "c5.": "c6.", "c6.": "c7.", "c7.": "c8.", "c8.": "c9.",
			}},
			wantErr: []string{`CNAME "c0.": chain longer than 8`},
		},
		{
			name:    "bad PTR",
			r:       Records{PTR: map[netip.Addr][]string{{}: {"a."}, mustAddr("10.0.0.1"): {"a"}}},
			wantErr: []string{`PTR invalid IP: invalid address`, `PTR 10.0.0.1: "a": not fully qualified`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl, err := tt.r.compile()
			if err == nil {
				t.Fatalf("compile() = %v, nil; want an error", tbl)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("compile() error %q does not contain %q", err, w)
				}
			}
		})
	}

	// A chain of exactly MaxCNAMEChain aliases is fine.
	ok := Records{CNAME: map[string]string{"c0.": "c1.", "c1.": "c2.", "c2.": "c3.", "c3.": "c4.", "c4.": "c5.", "c5.": "c6.", "c6.": "c7.", "c7.": "c8."}}
	if _, err := ok.compile(); err != nil {
		t.Errorf("compile() of a chain of %d = %v", MaxCNAMEChain, err)
	}
}
