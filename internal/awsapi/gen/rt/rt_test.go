package rt

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
)

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{`<a href="x">&'`, "&lt;a href=&#34;x&#34;&gt;&amp;&#39;"},
		{"tab\tnl\ncr\r", "tab\tnl\ncr&#xD;"},
		{"nul\x00esc\x1b", "nul\uFFFDesc\uFFFD"},
		{"bad\xffutf8\xc3", "bad\uFFFDutf8\uFFFD"},
		{"ünï 🙂 \uFFFE", "ünï 🙂 \uFFFD"},
	}
	for _, tt := range tests {
		var w genWriter
		w.text(tt.in)
		if diff := cmp.Diff(tt.want, w.b.String()); diff != "" {
			t.Errorf("text(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestIndex(t *testing.T) {
	for s, want := range map[string]int{"1": 1, "10": 10, "999999999": 999999999} {
		if got, ok := genIndex(s); !ok || got != want {
			t.Errorf("genIndex(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "0", "01", "+1", "-1", "1a", "a", "1000000000", " 1", "١"} {
		if _, ok := genIndex(s); ok {
			t.Errorf("genIndex(%q) ok, want not an index", s)
		}
	}
}

func TestElements(t *testing.T) {
	var w genWriter
	m := w.start("empty")
	w.end("empty", m)
	w.elemStr("s", "")
	genList(&w, "l", "item", []int32{1, 2}, (*genWriter).elemI32)
	genList(&w, "none", "item", []int32(nil), (*genWriter).elemI32)
	genMapElem(&w, "m", "entry", "key", "value", map[string]bool{"b": true, "a": false}, (*genWriter).elemBool)
	want := "<empty/><s/><l><item>1</item><item>2</item></l><m><entry><key>a</key><value>false</value></entry><entry><key>b</key><value>true</value></entry></m>"
	if diff := cmp.Diff(want, w.b.String()); diff != "" {
		t.Errorf("writer mismatch (-want +got):\n%s", diff)
	}
}

func TestDecoderTree(t *testing.T) {
	d := genNewDecoder(awsapi.Params{"A.1.B": "x", "A.2": "y", "C": "", "": "e", "D..E": "f"})
	var got []string
	for _, e := range d.list(d.root.kid("A"), "") {
		got = append(got, e.name)
	}
	if diff := cmp.Diff([]string{"A.1", "A.2"}, got); diff != "" {
		t.Errorf("list() mismatch (-want +got):\n%s", diff)
	}
	if n := d.root.kid("D").kid("").kid("E"); n == nil || n.name != "D..E" || n.val != "f" {
		t.Errorf("node D..E = %+v", n)
	}
	d.str(d.root.kid("C"))
	err := d.finish()
	want := awsapi.Errorf("UnknownParameter", "The parameter  is not recognized")
	if diff := cmp.Diff(error(want), err); diff != "" {
		t.Errorf("finish() mismatch (-want +got):\n%s", diff)
	}
}
