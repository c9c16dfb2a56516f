package main

import (
	"bytes"
	"fmt"
	"go/format"
	"go/token"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// generator emits the wire code of one service model.
type generator struct {
	m      *Model
	pkg    string
	source string // model path shown in the header
	ec2    bool   // ec2 protocol (else query)
	ops    []string

	typeName map[string]string // structure shape → Go type name
	inShapes map[string]bool   // shapes reachable from an input
	outShape map[string]bool   // shapes reachable from an output
	ioAlias  map[string]string // "<Op>Input"/"<Op>Output" → shape type it is defined as
	buf      bytes.Buffer
}

// generate returns the gofmt'ed Go source of the wire code for m.
func generate(m *Model, pkg, modelPath string) ([]byte, error) {
	g := &generator{
		m:        m,
		pkg:      pkg,
		source:   "internal/awsapi/model/" + filepath.Base(modelPath),
		ec2:      m.Metadata.Protocol == "ec2",
		ops:      sortedKeys(m.Operations),
		typeName: map[string]string{},
		inShapes: map[string]bool{},
		outShape: map[string]bool{},
		ioAlias:  map[string]string{},
	}
	for _, op := range g.ops {
		o := m.Operations[op]
		if o.Input != nil {
			g.reach(o.Input.Shape, g.inShapes)
		}
		if o.Output != nil {
			g.reach(o.Output.Shape, g.outShape)
		}
	}
	if err := g.nameTypes(); err != nil {
		return nil, err
	}
	body, err := g.body()
	if err != nil {
		return nil, err
	}
	return g.file(body)
}

func (g *generator) reach(name string, seen map[string]bool) {
	if seen[name] {
		return
	}
	seen[name] = true
	s := g.m.Shapes[name]
	for _, r := range []*Ref{s.Member, s.Key, s.Value} {
		if r != nil {
			g.reach(r.Shape, seen)
		}
	}
	for _, mn := range sortedKeys(s.Members) {
		g.reach(s.Members[mn].Shape, seen)
	}
}

// goReserved are names a shape type must not take: Go's predeclared
// identifiers (keywords cannot collide once capitalized, but check anyway).
var goReserved = map[string]bool{
	"any": true, "bool": true, "byte": true, "comparable": true, "complex64": true, "complex128": true,
	"error": true, "float32": true, "float64": true, "int": true, "int8": true, "int16": true,
	"int32": true, "int64": true, "rune": true, "string": true, "uint": true, "uint8": true,
	"uint16": true, "uint32": true, "uint64": true, "uintptr": true, "true": true, "false": true,
	"iota": true, "nil": true, "append": true, "cap": true, "clear": true, "close": true,
	"complex": true, "copy": true, "delete": true, "imag": true, "len": true, "make": true,
	"max": true, "min": true, "new": true, "panic": true, "print": true, "println": true,
	"real": true, "recover": true,
}

// nameTypes gives every structure shape its Go type name. An operation's
// input and output shapes become <Op>Input and <Op>Output; if such a shape
// is also used elsewhere it keeps its own name and <Op>Input is defined as
// that type. Any other shape whose name collides with a generated name gets
// the suffix "Shape".
func (g *generator) nameTypes() error {
	taken := map[string]bool{"NewHandler": true}
	for _, op := range g.ops {
		for _, suffix := range []string{"Input", "Output", "API"} {
			taken[op+suffix] = true
		}
	}
	for _, code := range g.errorCodes() {
		taken[errFuncName(code)] = true
	}
	// How often each shape is used: as an operation's input or output, or
	// from another shape.
	uses := map[string]int{}
	for _, name := range sortedKeys(g.m.Shapes) {
		if !g.inShapes[name] && !g.outShape[name] {
			continue
		}
		s := g.m.Shapes[name]
		for _, r := range []*Ref{s.Member, s.Key, s.Value} {
			if r != nil {
				uses[r.Shape]++
			}
		}
		for _, r := range s.Members {
			uses[r.Shape]++
		}
	}
	for _, op := range g.ops {
		o := g.m.Operations[op]
		for _, r := range []*Ref{o.Input, o.Output} {
			if r != nil {
				uses[r.Shape]++
			}
		}
	}
	for _, op := range g.ops {
		o := g.m.Operations[op]
		for _, io := range []struct {
			ref    *Ref
			suffix string
		}{{o.Input, "Input"}, {o.Output, "Output"}} {
			if io.ref == nil {
				continue
			}
			if uses[io.ref.Shape] == 1 {
				g.typeName[io.ref.Shape] = op + io.suffix
			} else {
				g.ioAlias[op+io.suffix] = io.ref.Shape
			}
		}
	}
	for _, name := range sortedKeys(g.m.Shapes) {
		s := g.m.Shapes[name]
		if s.Type != "structure" || (!g.inShapes[name] && !g.outShape[name]) || g.typeName[name] != "" {
			continue
		}
		if !isIdent(name) {
			return fmt.Errorf("shape name %q is not a Go identifier", name)
		}
		goName := strings.ToUpper(name[:1]) + name[1:]
		for taken[goName] || goReserved[goName] || token.IsKeyword(goName) {
			goName += "Shape"
		}
		taken[goName] = true
		g.typeName[name] = goName
	}
	return nil
}

// errorCodes returns the wire codes of the modeled errors of all operations.
func (g *generator) errorCodes() []string {
	codes := map[string]bool{}
	for _, op := range g.ops {
		for _, e := range g.m.Operations[op].Errors {
			if t := g.m.Shapes[e.Shape].Error; t != nil {
				codes[t.Code] = true
			}
		}
	}
	return sortedKeys(codes)
}

func errFuncName(code string) string {
	var b strings.Builder
	b.WriteString("Err")
	for _, r := range code {
		if r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (g *generator) p(format string, args ...any) {
	fmt.Fprintf(&g.buf, format, args...)
	g.buf.WriteByte('\n')
}

func (g *generator) shape(name string) *Shape { return g.m.Shapes[name] }

// goType is the Go type of a value of shape name: a pointer for a member
// (ptr), the plain type for an element of a list or map.
func (g *generator) goType(name string, ptr bool) string {
	s := g.shape(name)
	var t string
	switch s.Type {
	case "structure":
		t = g.typeName[name]
	case "list":
		return "[]" + g.goType(s.Member.Shape, false)
	case "map":
		return "map[string]" + g.goType(s.Value.Shape, false)
	case "string":
		t = "string"
	case "boolean":
		t = "bool"
	case "integer":
		t = "int32"
	case "long":
		t = "int64"
	case "float", "double":
		t = "float64"
	case "timestamp":
		t = "time.Time"
	}
	if ptr {
		return "*" + t
	}
	return t
}

func (g *generator) body() ([]byte, error) {
	svc := "EC2"
	if !g.ec2 {
		svc = "ELBv2"
	}
	ns := g.m.Metadata.XMLNamespace
	if !strings.HasSuffix(ns, "/") {
		ns += "/"
	}
	g.p("// genXMLNamespace is the xmlns of every response.")
	g.p("const genXMLNamespace = %q", ns)
	g.p("")

	// Dispatch.
	for _, op := range g.ops {
		g.p("// %sAPI is implemented by a handler that serves the %s action %s.", op, svc, op)
		g.p("type %sAPI interface {", op)
		g.p("%s(ctx context.Context, req *awsapi.Request, in *%sInput) (*%sOutput, error)", op, op, op)
		g.p("}")
		g.p("")
	}
	g.p("// genHandler dispatches requests to the operations that impl implements.")
	g.p("type genHandler struct {")
	for _, op := range g.ops {
		g.p("op%s %sAPI", op, op)
	}
	g.p("}")
	g.p("")
	g.p("// NewHandler returns the Handler of the %s actions of the model. impl may", svc)
	g.p("// implement any subset of the <Op>API interfaces of this package: an action")
	g.p("// it does not implement is answered with UnsupportedOperation, an action")
	g.p("// the model does not have with InvalidAction. Parameters are decoded and")
	g.p("// checked (unknown, missing, malformed) before impl is called.")
	g.p("func NewHandler(impl any) awsapi.Handler {")
	g.p("h := &genHandler{}")
	for _, op := range g.ops {
		g.p("h.op%s, _ = impl.(%sAPI)", op, op)
	}
	g.p("return h")
	g.p("}")
	g.p("")
	g.p("// Handle implements awsapi.Handler.")
	g.p("func (h *genHandler) Handle(ctx context.Context, req *awsapi.Request) (awsapi.Response, error) {")
	g.p("switch req.Action {")
	for _, op := range g.ops {
		g.p("case %q:", op)
		g.p("if h.op%s != nil {", op)
		g.p("return genServe(ctx, req, (*genDecoder).dec%sInput, h.op%s.%s)", op, op, op)
		g.p("}")
	}
	if others := slices.Sorted(slices.Values(g.m.OtherOperations)); len(others) > 0 {
		g.p("// Actions of the service that privlink does not build.")
		g.p("case")
		for i, op := range others {
			sep := ","
			if i == len(others)-1 {
				sep = ":"
			}
			g.p("%q%s", op, sep)
		}
	}
	g.p("default:")
	g.p("return nil, awsapi.ErrInvalidAction(req.Action)")
	g.p("}")
	g.p("return nil, genUnsupported(req.Action)")
	g.p("}")
	g.p("")

	// Operation types.
	for _, op := range g.ops {
		o := g.m.Operations[op]
		if err := g.ioType(op, "Input", "input", o.Input); err != nil {
			return nil, err
		}
		if err := g.ioType(op, "Output", "output", o.Output); err != nil {
			return nil, err
		}
		g.marshal(op, o)
	}

	// Shape types.
	structs := g.structShapes()
	for _, name := range structs {
		if strings.HasSuffix(g.typeName[name], "Input") && g.isIOName(g.typeName[name]) {
			continue // emitted with the operation
		}
		if strings.HasSuffix(g.typeName[name], "Output") && g.isIOName(g.typeName[name]) {
			continue
		}
		g.p("// %s is the model shape %s.", g.typeName[name], name)
		g.structType(name)
	}

	// Decoders.
	for _, op := range g.ops {
		if target, ok := g.ioAlias[op+"Input"]; ok {
			g.p("func (d *genDecoder) dec%sInput(n *genNode, v *%sInput) { d.dec%s(n, (*%s)(v)) }", op, op, g.typeName[target], g.typeName[target])
			g.p("")
		} else if g.m.Operations[op].Input == nil {
			g.p("func (d *genDecoder) dec%sInput(n *genNode, v *%sInput) {}", op, op)
			g.p("")
		}
	}
	for _, name := range structs {
		if g.inShapes[name] {
			if err := g.decoder(name); err != nil {
				return nil, err
			}
		}
	}

	// Encoders.
	for _, op := range g.ops {
		if target, ok := g.ioAlias[op+"Output"]; ok {
			g.p("func (v *%sOutput) genXML(w *genWriter) { (*%s)(v).genXML(w) }", op, g.typeName[target])
			g.p("")
		}
	}
	for _, name := range structs {
		if g.outShape[name] {
			if err := g.encoder(name); err != nil {
				return nil, err
			}
		}
	}

	// Enums.
	for _, name := range sortedKeys(g.inShapes) {
		s := g.shape(name)
		if len(s.Enum) == 0 {
			continue
		}
		g.p("var genEnum%s = []string{", name)
		for _, e := range s.Enum {
			g.p("%q,", e)
		}
		g.p("}")
		g.p("")
	}

	// Modeled errors.
	codes := map[string]*ErrorTrait{}
	for _, op := range g.ops {
		for _, e := range g.m.Operations[op].Errors {
			if t := g.shape(e.Shape).Error; t != nil {
				codes[t.Code] = t
			}
		}
	}
	for _, code := range sortedKeys(codes) {
		t := codes[code]
		status := t.HTTPStatusCode
		if status == 0 {
			status = 400
		}
		fn := errFuncName(code)
		g.p("// %s returns the modeled error %s (HTTP %d).", fn, code, status)
		g.p("func %s(format string, args ...any) *awsapi.Error {", fn)
		g.p("return &awsapi.Error{Code: %q, Message: fmt.Sprintf(format, args...), Status: %d}", code, status)
		g.p("}")
		g.p("")
	}
	return g.buf.Bytes(), nil
}

func (g *generator) isIOName(goName string) bool {
	for _, op := range g.ops {
		if goName == op+"Input" || goName == op+"Output" {
			return true
		}
	}
	return false
}

// structShapes returns the structure shapes that get a Go type, sorted by
// shape name.
func (g *generator) structShapes() []string {
	var out []string
	for _, name := range sortedKeys(g.m.Shapes) {
		if g.typeName[name] != "" {
			out = append(out, name)
		}
	}
	return out
}

// ioType emits the type <Op><suffix>.
func (g *generator) ioType(op, suffix, what string, ref *Ref) error {
	goName := op + suffix
	switch {
	case ref == nil:
		g.p("// %s is the %s of %s, which has none in the model.", goName, what, op)
		g.p("type %s struct{}", goName)
		g.p("")
	case g.ioAlias[goName] != "":
		g.p("// %s is the %s of %s (model shape %s).", goName, what, op, ref.Shape)
		g.p("type %s %s", goName, g.typeName[ref.Shape])
		g.p("")
	default:
		g.p("// %s is the %s of %s (model shape %s).", goName, what, op, ref.Shape)
		g.structType(ref.Shape)
	}
	return nil
}

func (g *generator) structType(name string) {
	s := g.shape(name)
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	if len(s.Members) == 0 {
		g.p("type %s struct{}", g.typeName[name])
		g.p("")
		return
	}
	g.p("type %s struct {", g.typeName[name])
	for _, mn := range sortedKeys(s.Members) {
		r := s.Members[mn]
		if r.Deprecated {
			msg := r.DeprecatedMessage
			if msg == "" {
				msg = "deprecated in the model."
			}
			g.p("// Deprecated: %s", msg)
		}
		line := mn + " " + g.goType(r.Shape, true)
		if required[mn] && g.inShapes[name] {
			line += " // required"
		}
		g.p("%s", line)
	}
	g.p("}")
	g.p("")
}

func (g *generator) marshal(op string, o *Operation) {
	g.p("// MarshalResponse implements awsapi.Response.")
	g.p("func (v *%sOutput) MarshalResponse(requestID string) ([]byte, error) {", op)
	if g.ec2 {
		if o.Output == nil {
			g.p("return genEC2Response(%q, genXMLNamespace, requestID, genReturnTrue), nil", op)
		} else {
			g.p("if v == nil { v = new(%sOutput) }", op)
			g.p("return genEC2Response(%q, genXMLNamespace, requestID, v.genXML), nil", op)
		}
	} else {
		wrapper := op + "Result"
		if o.Output != nil && o.Output.ResultWrapper != "" {
			wrapper = o.Output.ResultWrapper
		}
		if o.Output == nil {
			g.p("return genQueryResponse(%q, %q, genXMLNamespace, requestID, func(*genWriter) {}), nil", op, wrapper)
		} else {
			g.p("if v == nil { v = new(%sOutput) }", op)
			g.p("return genQueryResponse(%q, %q, genXMLNamespace, requestID, v.genXML), nil", op, wrapper)
		}
	}
	g.p("}")
	g.p("")
}

// wireName is the request parameter segment of a member, as botocore's
// EC2Serializer / QuerySerializer names it.
func (g *generator) wireName(member string, r *Ref) string {
	s := g.shape(r.Shape)
	if g.ec2 {
		switch {
		case r.QueryName != "":
			return r.QueryName
		case r.LocationName != "":
			return strings.ToUpper(r.LocationName[:1]) + r.LocationName[1:]
		}
		return member
	}
	if s.Type == "list" && (s.Flattened || r.Flattened) && s.Member.LocationName != "" {
		return s.Member.LocationName
	}
	if r.LocationName != "" {
		return r.LocationName
	}
	return member
}

// serializedName is botocore's _get_serialized_name for a map key or value.
func (g *generator) serializedName(r *Ref, def string) string {
	if g.ec2 {
		switch {
		case r.QueryName != "":
			return r.QueryName
		case r.LocationName != "":
			return strings.ToUpper(r.LocationName[:1]) + r.LocationName[1:]
		}
		return def
	}
	if r.LocationName != "" {
		return r.LocationName
	}
	return def
}

func (g *generator) decoder(name string) error {
	s := g.shape(name)
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	g.p("func (d *genDecoder) dec%s(n *genNode, v *%s) {", g.typeName[name], g.typeName[name])
	seen := map[string]string{}
	for _, mn := range sortedKeys(s.Members) {
		r := s.Members[mn]
		wire := g.wireName(mn, r)
		if other, dup := seen[wire]; dup {
			return fmt.Errorf("shape %s: members %s and %s both use the parameter name %s", name, other, mn, wire)
		}
		seen[wire] = mn
		if required[mn] {
			g.p("d.need(n, %q)", wire)
		}
		expr, err := g.decExpr(r.Shape, r, fmt.Sprintf("n.kid(%q)", wire))
		if err != nil {
			return fmt.Errorf("shape %s member %s: %w", name, mn, err)
		}
		g.p("v.%s = %s", mn, expr)
	}
	g.p("}")
	g.p("")
	return nil
}

// decExpr is an expression that decodes the node expression node as a
// value of shape name, with the Go type goType(name, true). ref is the
// reference the value is used through (for the flattened trait), or nil.
func (g *generator) decExpr(name string, ref *Ref, node string) (string, error) {
	s := g.shape(name)
	switch s.Type {
	case "structure":
		return fmt.Sprintf("genStruct(%s, d.dec%s)", node, g.typeName[name]), nil
	case "list":
		flat := s.Flattened || ref != nil && ref.Flattened
		seg := ""
		if !g.ec2 && !flat {
			seg = "member"
			if s.Member.LocationName != "" {
				seg = s.Member.LocationName
			}
		}
		set, err := g.setter(s.Member.Shape)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("genEach(d.list(%s, %q), %s)", node, seg, set), nil
	case "map":
		entry := "entry"
		if s.Flattened || ref != nil && ref.Flattened {
			entry = ""
		}
		set, err := g.setter(s.Value.Shape)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("genMap(d, d.entries(%s, %q, %q, %q), %s)", node, entry,
			g.serializedName(s.Key, "key"), g.serializedName(s.Value, "value"), set), nil
	case "string":
		if len(s.Enum) > 0 {
			return fmt.Sprintf("d.enum(%s, genEnum%s)", node, name), nil
		}
		return fmt.Sprintf("d.str(%s)", node), nil
	case "boolean":
		return fmt.Sprintf("d.bool(%s)", node), nil
	case "integer":
		lo, hi := g.bounds(s, math.MinInt32, math.MaxInt32)
		return fmt.Sprintf("d.i32(%s, %d, %d)", node, lo, hi), nil
	case "long":
		lo, hi := g.bounds(s, math.MinInt64, math.MaxInt64)
		return fmt.Sprintf("d.i64(%s, %d, %d)", node, lo, hi), nil
	case "float", "double":
		return fmt.Sprintf("d.f64(%s)", node), nil
	case "timestamp":
		return fmt.Sprintf("d.time(%s)", node), nil
	}
	return "", fmt.Errorf("cannot decode shape %s of type %s", name, s.Type)
}

func (g *generator) bounds(s *Shape, lo, hi int64) (int64, int64) {
	if s.Min != nil {
		if v, err := s.Min.Int64(); err == nil && v > lo {
			lo = v
		}
	}
	if s.Max != nil {
		if v, err := s.Max.Int64(); err == nil && v < hi {
			hi = v
		}
	}
	return lo, hi
}

// setter is an expression of type func(*genNode, *T) that decodes an
// element of a list or a map value of shape name.
func (g *generator) setter(name string) (string, error) {
	s := g.shape(name)
	switch {
	case s.Type == "structure":
		return "d.dec" + g.typeName[name], nil
	case s.Type == "string" && len(s.Enum) == 0:
		return "d.setStr", nil
	case s.Type == "list" || s.Type == "map":
		e, err := g.decExpr(name, nil, "n")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("func(n *genNode, p *%s) { *p = %s }", g.goType(name, false), e), nil
	}
	e, err := g.decExpr(name, nil, "n")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("func(n *genNode, p *%s) { if x := %s; x != nil { *p = *x } }", g.goType(name, false), e), nil
}

// elemName is the response element name of a member, as botocore's
// XML parsers look it up.
func (g *generator) elemName(member string, r *Ref) string {
	s := g.shape(r.Shape)
	if s.Type == "list" && (s.Flattened || r.Flattened) && s.Member.LocationName != "" {
		return s.Member.LocationName
	}
	if r.LocationName != "" {
		return r.LocationName
	}
	return member
}

func (g *generator) itemName(list *Shape) string {
	if list.Member.LocationName != "" {
		return list.Member.LocationName
	}
	if g.ec2 {
		return "item"
	}
	return "member"
}

func (g *generator) encoder(name string) error {
	s := g.shape(name)
	g.p("func (v *%s) genXML(w *genWriter) {", g.typeName[name])
	seen := map[string]string{}
	for _, mn := range sortedKeys(s.Members) {
		r := s.Members[mn]
		el := g.elemName(mn, r)
		if other, dup := seen[el]; dup {
			return fmt.Errorf("shape %s: members %s and %s both use the element name %s", name, other, mn, el)
		}
		seen[el] = mn
		ms := g.shape(r.Shape)
		switch ms.Type {
		case "structure":
			g.p("genElem(w, %q, v.%s)", el, mn)
		case "list", "map":
			stmt, err := g.encCollection(r.Shape, r, strconv.Quote(el), "v."+mn)
			if err != nil {
				return fmt.Errorf("shape %s member %s: %w", name, mn, err)
			}
			g.p("%s", stmt)
		default:
			g.p("w.%s(%q, v.%s)", scalarWriter[ms.Type], el, mn)
		}
	}
	g.p("}")
	g.p("")
	return nil
}

var scalarWriter = map[string]string{
	"string": "str", "boolean": "bool", "integer": "i32", "long": "i64",
	"float": "f64", "double": "f64", "timestamp": "time",
}

// encCollection is a statement that writes the list or map value (of
// shape name) as the element named by the Go expression el.
func (g *generator) encCollection(name string, ref *Ref, el, value string) (string, error) {
	s := g.shape(name)
	flat := s.Flattened || ref != nil && ref.Flattened
	if s.Type == "map" {
		entry := "entry"
		if flat {
			entry = ""
		}
		elem, err := g.elemWriter(s.Value.Shape)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("genMapElem(w, %s, %q, %q, %q, %s, %s)", el, entry,
			g.keyName(s.Key, "key"), g.keyName(s.Value, "value"), value, elem), nil
	}
	wrapper, item := el, strconv.Quote(g.itemName(s))
	if flat {
		if ref == nil {
			return "", fmt.Errorf("a flattened list inside a list is not supported")
		}
		wrapper, item = `""`, el
	}
	if g.shape(s.Member.Shape).Type == "structure" {
		return fmt.Sprintf("genElems(w, %s, %s, %s)", wrapper, item, value), nil
	}
	elem, err := g.elemWriter(s.Member.Shape)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("genList(w, %s, %s, %s, %s)", wrapper, item, value, elem), nil
}

// keyName is the element name of a map's key or value in a response.
func (g *generator) keyName(r *Ref, def string) string {
	if r.LocationName != "" {
		return r.LocationName
	}
	return def
}

// elemWriter is an expression of type func(w *genWriter, name string, v T)
// that writes a list element or map value of shape name.
func (g *generator) elemWriter(name string) (string, error) {
	s := g.shape(name)
	switch s.Type {
	case "structure":
		return fmt.Sprintf("func(w *genWriter, name string, v %s) { genElem(w, name, &v) }", g.typeName[name]), nil
	case "list", "map":
		stmt, err := g.encCollection(name, nil, "name", "v")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("func(w *genWriter, name string, v %s) { %s }", g.goType(name, false), stmt), nil
	case "string":
		return "(*genWriter).elemStr", nil
	case "boolean":
		return "(*genWriter).elemBool", nil
	case "integer":
		return "(*genWriter).elemI32", nil
	case "long":
		return "(*genWriter).elemI64", nil
	case "float", "double":
		return "(*genWriter).elemF64", nil
	case "timestamp":
		return "(*genWriter).elemTime", nil
	}
	return "", fmt.Errorf("cannot encode shape %s of type %s", name, s.Type)
}

// file assembles the generated file: header, imports, body and the runtime
// declarations the body uses.
func (g *generator) file(body []byte) ([]byte, error) {
	rtDecls, err := runtimeFor(body)
	if err != nil {
		return nil, err
	}
	full := append(slices.Clip(body), rtDecls...)
	imports, err := usedImports(full)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "// Code generated by internal/awsapi/gen from %s. DO NOT EDIT.\n\n", g.source)
	fmt.Fprintf(&out, "package %s\n\n", g.pkg)
	out.WriteString(imports)
	out.Write(full)
	src, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format generated code: %w", err)
	}
	return src, nil
}
