// Package rt is the runtime support of the wire code that internal/awsapi/gen
// generates. It is never imported: the generator copies the declarations that
// a generated package uses into that package's zz_generated_wire.go, so that
// the ec2 and elbv2 packages depend only on awsapi and the standard library.
// It lives here as a real package so that it is compiled, vetted and tested.
//
// Every top-level identifier starts with "gen", the prefix that generated
// packages reserve for generated code. Like those packages, it must not
// import anything from privlink but awsapi.
package rt

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/privlink/privlink/internal/awsapi"
)

// genServe decodes the parameters of req with dec and calls the operation.
func genServe[I, O any, P interface {
	*O
	awsapi.Response
}](ctx context.Context, req *awsapi.Request, dec func(*genDecoder, *genNode, *I), call func(context.Context, *awsapi.Request, *I) (P, error)) (awsapi.Response, error) {
	in, err := genDecode(req.Params, dec)
	if err != nil {
		return nil, err
	}
	out, err := call(ctx, req, in)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = new(O)
	}
	return out, nil
}

// genUnsupported is the answer to an action of the model that the handler
// does not implement (yet).
func genUnsupported(action string) *awsapi.Error {
	return awsapi.Errorf("UnsupportedOperation", "The action %s is not yet supported by privlink.", action)
}

// genNode is one dot-separated segment of the parameter names of a request:
// Params{"Filter.1.Name": "vpc-id"} is the tree Filter → 1 → Name.
type genNode struct {
	name string // the full parameter name up to this segment: "Filter.1"
	val  string
	set  bool // a parameter with exactly this name was sent
	used bool // the decoder consumed val
	kids map[string]*genNode
}

// kid returns the child named seg, or nil. It is safe on a nil node.
func (n *genNode) kid(seg string) *genNode {
	if n == nil {
		return nil
	}
	return n.kids[seg]
}

// genDecoder turns Params into a generated input structure. Decoding never
// stops early: the first value error is kept, and at the end every parameter
// that nothing consumed is reported as unknown (first in sorted order), which
// takes precedence over value errors.
type genDecoder struct {
	root genNode
	err  *awsapi.Error
}

// genNewDecoder builds the parameter tree of p.
func genNewDecoder(p awsapi.Params) *genDecoder {
	d := &genDecoder{}
	for k, v := range p {
		n := &d.root
		off := 0
		for {
			seg, _, more := strings.Cut(k[off:], ".")
			off += len(seg)
			c := n.kids[seg]
			if c == nil {
				if n.kids == nil {
					n.kids = make(map[string]*genNode)
				}
				c = &genNode{name: k[:off]}
				n.kids[seg] = c
			}
			n = c
			if !more {
				break
			}
			off++ // the dot
		}
		n.val, n.set = v, true
	}
	return d
}

// genDecode decodes p into a new T with dec, the generated decoder of T.
func genDecode[T any](p awsapi.Params, dec func(*genDecoder, *genNode, *T)) (*T, error) {
	d := genNewDecoder(p)
	v := new(T)
	dec(d, &d.root, v)
	if err := d.finish(); err != nil {
		return nil, err
	}
	return v, nil
}

// finish returns the error of the decoding, or nil.
func (d *genDecoder) finish() error {
	var unknown []string
	stack := []*genNode{&d.root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.set && !n.used {
			unknown = append(unknown, n.name)
		}
		for _, c := range n.kids {
			stack = append(stack, c)
		}
	}
	if len(unknown) > 0 {
		return awsapi.Errorf("UnknownParameter", "The parameter %s is not recognized", genTruncate(slices.Min(unknown)))
	}
	if d.err != nil {
		return d.err
	}
	return nil
}

func (d *genDecoder) fail(err *awsapi.Error) {
	if d.err == nil {
		d.err = err
	}
}

// need records a MissingParameter error unless parent has the child seg.
func (d *genDecoder) need(parent *genNode, seg string) {
	if parent.kid(seg) != nil {
		return
	}
	name := seg
	if parent.name != "" {
		name = parent.name + "." + seg
	}
	d.fail(awsapi.ErrMissingParameter(name))
}

func (d *genDecoder) invalid(n *genNode, expected string) {
	d.fail(awsapi.ErrInvalidParameterValue("Value (%s) for parameter %s is invalid. %s", genTruncate(n.val), genTruncate(n.name), expected))
}

// value consumes the value of n. ok is false if n was not sent.
func (d *genDecoder) value(n *genNode) (string, bool) {
	if n == nil || !n.set {
		return "", false
	}
	n.used = true
	return n.val, true
}

// list returns the element nodes of the list at n in ascending index order.
// member is the segment between the list's name and the index ("member" for
// a query-protocol list that is not flattened), or "". An empty value at n
// itself ("Names=") is how the query protocol sends an empty list; indexes
// that are not canonical positive integers are left unconsumed, so they are
// reported as unknown parameters.
func (d *genDecoder) list(n *genNode, member string) []*genNode {
	if n == nil {
		return nil
	}
	if n.set && n.val == "" {
		n.used = true
	}
	if member != "" {
		n = n.kids[member]
		if n == nil {
			return nil
		}
	}
	type elem struct {
		i int
		n *genNode
	}
	elems := make([]elem, 0, len(n.kids))
	for seg, c := range n.kids {
		if i, ok := genIndex(seg); ok {
			elems = append(elems, elem{i, c})
		}
	}
	if len(elems) == 0 {
		return nil
	}
	slices.SortFunc(elems, func(a, b elem) int { return cmp.Compare(a.i, b.i) })
	out := make([]*genNode, len(elems))
	for i, e := range elems {
		out[i] = e.n
	}
	return out
}

// genIndex parses a list index: a positive decimal integer without sign or
// leading zeros.
func genIndex(s string) (int, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' || len(s) > 9 {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(s)
	return i, err == nil
}

// genEntry is one key/value pair of a map parameter.
type genEntry struct{ key, val *genNode }

// entries returns the pairs of the map at n: "n.entry.N.key" and
// "n.entry.N.value" (entry is "" for a flattened map).
func (d *genDecoder) entries(n *genNode, entry, key, val string) []genEntry {
	elems := d.list(n, entry)
	out := make([]genEntry, 0, len(elems))
	for _, e := range elems {
		d.need(e, key)
		out = append(out, genEntry{e.kid(key), e.kid(val)})
	}
	return out
}

// genEach decodes every element of a list with set.
func genEach[T any](elems []*genNode, set func(*genNode, *T)) []T {
	if len(elems) == 0 {
		return nil
	}
	out := make([]T, len(elems))
	for i, e := range elems {
		set(e, &out[i])
	}
	return out
}

// genMap decodes map entries; values are decoded with set.
func genMap[V any](d *genDecoder, entries []genEntry, set func(*genNode, *V)) map[string]V {
	if len(entries) == 0 {
		return nil
	}
	out := make(map[string]V, len(entries))
	for _, e := range entries {
		var k string
		d.setStr(e.key, &k)
		var v V
		if e.val != nil {
			set(e.val, &v)
		}
		out[k] = v
	}
	return out
}

// genStruct decodes the structure at n into a new T, or returns nil if n
// was not sent.
func genStruct[T any](n *genNode, dec func(*genNode, *T)) *T {
	if n == nil {
		return nil
	}
	v := new(T)
	dec(n, v)
	return v
}

func (d *genDecoder) str(n *genNode) *string {
	if s, ok := d.value(n); ok {
		return &s
	}
	return nil
}

func (d *genDecoder) setStr(n *genNode, p *string) {
	if s, ok := d.value(n); ok {
		*p = s
	}
}

func (d *genDecoder) enum(n *genNode, values []string) *string {
	var s string
	if !d.setEnum(n, &s, values) {
		return nil
	}
	return &s
}

func (d *genDecoder) setEnum(n *genNode, p *string, values []string) bool {
	s, ok := d.value(n)
	if !ok {
		return false
	}
	if !slices.Contains(values, s) {
		if len(values) <= 20 {
			d.invalid(n, "Expected one of: "+strings.Join(values, ", ")+".")
		} else {
			d.invalid(n, "Expected: a valid value.")
		}
		return false
	}
	*p = s
	return true
}

func (d *genDecoder) bool(n *genNode) *bool {
	var b bool
	if !d.setBool(n, &b) {
		return nil
	}
	return &b
}

func (d *genDecoder) setBool(n *genNode, p *bool) bool {
	s, ok := d.value(n)
	switch {
	case !ok:
		return false
	case strings.EqualFold(s, "true"):
		*p = true
	case strings.EqualFold(s, "false"):
		*p = false
	default:
		d.invalid(n, "Expected: 'Boolean'.")
		return false
	}
	return true
}

// integer parses the value of n as a decimal integer in [lo, hi].
func (d *genDecoder) integer(n *genNode, lo, hi int64, what string) (int64, bool) {
	s, ok := d.value(n)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		d.invalid(n, "Expected: '"+what+"'.")
		return 0, false
	}
	if i < lo || i > hi {
		switch {
		case lo == math.MinInt32 || lo == math.MinInt64:
			d.invalid(n, "Expected a value of at most "+strconv.FormatInt(hi, 10)+".")
		case hi == math.MaxInt32 || hi == math.MaxInt64:
			d.invalid(n, "Expected a value of at least "+strconv.FormatInt(lo, 10)+".")
		default:
			d.invalid(n, "Expected a value between "+strconv.FormatInt(lo, 10)+" and "+strconv.FormatInt(hi, 10)+".")
		}
		return 0, false
	}
	return i, true
}

func (d *genDecoder) i32(n *genNode, lo, hi int64) *int32 {
	var v int32
	if !d.setI32(n, &v, lo, hi) {
		return nil
	}
	return &v
}

func (d *genDecoder) setI32(n *genNode, p *int32, lo, hi int64) bool {
	i, ok := d.integer(n, lo, hi, "Integer")
	if ok {
		*p = int32(i)
	}
	return ok
}

func (d *genDecoder) i64(n *genNode, lo, hi int64) *int64 {
	var v int64
	if !d.setI64(n, &v, lo, hi) {
		return nil
	}
	return &v
}

func (d *genDecoder) setI64(n *genNode, p *int64, lo, hi int64) bool {
	i, ok := d.integer(n, lo, hi, "Long")
	if ok {
		*p = i
	}
	return ok
}

func (d *genDecoder) f64(n *genNode) *float64 {
	var v float64
	if !d.setF64(n, &v) {
		return nil
	}
	return &v
}

func (d *genDecoder) setF64(n *genNode, p *float64) bool {
	s, ok := d.value(n)
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.invalid(n, "Expected: 'Double'.")
		return false
	}
	*p = f
	return true
}

func (d *genDecoder) time(n *genNode) *time.Time {
	var t time.Time
	if !d.setTime(n, &t) {
		return nil
	}
	return &t
}

// setTime parses an ISO-8601 timestamp: RFC 3339 with any fraction, or
// without a zone (UTC), or a bare date.
func (d *genDecoder) setTime(n *genNode, p *time.Time) bool {
	s, ok := d.value(n)
	if !ok {
		return false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			*p = t.UTC()
			return true
		}
	}
	d.invalid(n, "Expected: 'Timestamp'.")
	return false
}

// genTruncate shortens client-supplied text that is echoed in a message.
func genTruncate(s string) string {
	const max = 128
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// genWriter writes an XML document without reflection.
type genWriter struct{ b bytes.Buffer }

// start writes <name> and returns the mark that end needs.
func (w *genWriter) start(name string) int {
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.b.WriteByte('>')
	return w.b.Len()
}

// end writes </name>, or turns <name> into <name/> if nothing was written
// since start.
func (w *genWriter) end(name string, mark int) {
	if w.b.Len() == mark {
		w.b.Truncate(mark - 1)
		w.b.WriteString("/>")
		return
	}
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteByte('>')
}

// text writes s as XML character data. Invalid UTF-8 and characters that
// XML 1.0 does not allow become U+FFFD; a carriage return is escaped so that
// XML parsers do not normalize it away.
func (w *genWriter) text(s string) {
	last := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch {
		case r == '<':
			esc = "&lt;"
		case r == '>':
			esc = "&gt;"
		case r == '&':
			esc = "&amp;"
		case r == '"':
			esc = "&#34;"
		case r == '\'':
			esc = "&#39;"
		case r == '\r':
			esc = "&#xD;"
		case r == utf8.RuneError && size == 1,
			r < 0x20 && r != '\t' && r != '\n',
			r == 0xFFFE, r == 0xFFFF:
			esc = "\uFFFD"
		default:
			i += size
			continue
		}
		w.b.WriteString(s[last:i])
		w.b.WriteString(esc)
		i += size
		last = i
	}
	w.b.WriteString(s[last:])
}

func (w *genWriter) elemStr(name, v string) {
	m := w.start(name)
	w.text(v)
	w.end(name, m)
}

func (w *genWriter) elemRaw(name, v string) {
	w.start(name)
	w.b.WriteString(v)
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteByte('>')
}

func (w *genWriter) elemBool(name string, v bool) { w.elemRaw(name, strconv.FormatBool(v)) }

func (w *genWriter) elemI32(name string, v int32) { w.elemRaw(name, strconv.FormatInt(int64(v), 10)) }

func (w *genWriter) elemI64(name string, v int64) { w.elemRaw(name, strconv.FormatInt(v, 10)) }

func (w *genWriter) elemF64(name string, v float64) {
	w.elemRaw(name, strconv.FormatFloat(v, 'f', -1, 64))
}

func (w *genWriter) elemTime(name string, v time.Time) {
	w.elemRaw(name, v.UTC().Format("2006-01-02T15:04:05.000Z"))
}

func (w *genWriter) str(name string, v *string) {
	if v != nil {
		w.elemStr(name, *v)
	}
}

func (w *genWriter) bool(name string, v *bool) {
	if v != nil {
		w.elemBool(name, *v)
	}
}

func (w *genWriter) i32(name string, v *int32) {
	if v != nil {
		w.elemI32(name, *v)
	}
}

func (w *genWriter) i64(name string, v *int64) {
	if v != nil {
		w.elemI64(name, *v)
	}
}

func (w *genWriter) f64(name string, v *float64) {
	if v != nil {
		w.elemF64(name, *v)
	}
}

func (w *genWriter) time(name string, v *time.Time) {
	if v != nil {
		w.elemTime(name, *v)
	}
}

// genXMLer is a pointer to a generated structure, which writes its members.
type genXMLer[T any] interface {
	*T
	genXML(w *genWriter)
}

// genElem writes the structure v as the element name, unless v is nil.
func genElem[T any, P genXMLer[T]](w *genWriter, name string, v P) {
	if v == nil {
		return
	}
	m := w.start(name)
	v.genXML(w)
	w.end(name, m)
}

// genList writes a list: a wrapper element (none if wrapper is "", for a
// flattened list) around one element named item per value. A nil list is
// omitted; an empty non-nil one is an empty wrapper, which is how AWS says
// "there are none" (boto3 then shows [] rather than no key at all).
func genList[T any](w *genWriter, wrapper, item string, vs []T, elem func(w *genWriter, name string, v T)) {
	if vs == nil || len(vs) == 0 && wrapper == "" {
		return
	}
	m := 0
	if wrapper != "" {
		m = w.start(wrapper)
	}
	for _, v := range vs {
		elem(w, item, v)
	}
	if wrapper != "" {
		w.end(wrapper, m)
	}
}

// genElems is genList for a list of structures.
func genElems[T any, P genXMLer[T]](w *genWriter, wrapper, item string, vs []T) {
	if vs == nil || len(vs) == 0 && wrapper == "" {
		return
	}
	m := 0
	if wrapper != "" {
		m = w.start(wrapper)
	}
	for i := range vs {
		genElem(w, item, P(&vs[i]))
	}
	if wrapper != "" {
		w.end(wrapper, m)
	}
}

// genMapElem writes a non-empty map as <name><entry><key/><value/></entry>…
// in key order (entry is "" for a flattened map: then each pair is a <name>).
func genMapElem[V any](w *genWriter, name, entry, key, val string, m map[string]V, elem func(w *genWriter, name string, v V)) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if entry != "" {
		w.start(name)
	}
	for _, k := range keys {
		e := entry
		if e == "" {
			e = name
		}
		em := w.start(e)
		w.elemStr(key, k)
		elem(w, val, m[k])
		w.end(e, em)
	}
	if entry != "" {
		w.b.WriteString("</" + name + ">")
	}
}

// genEC2Response writes an ec2-protocol response document.
func genEC2Response(op, ns, requestID string, members func(*genWriter)) []byte {
	var w genWriter
	w.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.b.WriteString(`<` + op + `Response xmlns="` + ns + `">`)
	w.elemStr("requestId", requestID)
	members(&w)
	w.b.WriteString(`</` + op + `Response>`)
	return w.b.Bytes()
}

// genReturnTrue is the body of an ec2 operation that has no output shape.
func genReturnTrue(w *genWriter) { w.elemRaw("return", "true") }

// genQueryResponse writes a query-protocol response document.
func genQueryResponse(op, result, ns, requestID string, members func(*genWriter)) []byte {
	var w genWriter
	w.b.WriteString(`<` + op + `Response xmlns="` + ns + `">`)
	m := w.start(result)
	members(&w)
	w.end(result, m)
	w.b.WriteString(`<ResponseMetadata>`)
	w.elemStr("RequestId", requestID)
	w.b.WriteString(`</ResponseMetadata></` + op + `Response>`)
	return w.b.Bytes()
}
