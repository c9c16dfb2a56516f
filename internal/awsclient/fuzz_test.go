package awsclient_test

import (
	"strings"
	"testing"

	"github.com/privlink/privlink/internal/awsclient"
)

// FuzzParseXML: the parser never panics, and a document it accepts has a
// root whose lookups are safe.
func FuzzParseXML(f *testing.F) {
	for _, s := range []string{
		`<?xml version="1.0"?><R xmlns="x"><a><b>1</b><b>2</b></a></R>`,
		`<Response><Errors><Error><Code>C</Code><Message>M</Message></Error></Errors><RequestID>r</RequestID></Response>`,
		`<a>`, `</a>`, `<a/><b/>`, ``, `text`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		root, err := awsclient.ParseXML(strings.NewReader(doc))
		if err != nil {
			return
		}
		if root == nil || root.Name == "" && len(root.Children) > 0 {
			t.Fatalf("ParseXML(%q) = %+v", doc, root)
		}
		_ = root.Value("a", "b")
		_ = root.Values("a", "b")
	})
}
