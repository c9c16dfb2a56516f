package main

import (
	_ "embed"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// rtSource is package rt, whose declarations are copied into generated
// packages as far as they are used.
//
//go:embed rt/rt.go
var rtSource []byte

// rtDecl is one top-level declaration of package rt.
type rtDecl struct {
	name   string // function, type, var or const name; method name for methods
	recv   string // receiver type name for methods
	src    []byte // source text including its doc comment
	idents []string
	sels   []string
}

func parseRuntime() ([]rtDecl, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "rt.go", rtSource, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse runtime: %w", err)
	}
	var decls []rtDecl
	for _, d := range f.Decls {
		start := d.Pos()
		var rd rtDecl
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Doc != nil {
				start = d.Doc.Pos()
			}
			rd.name = d.Name.Name
			if d.Recv != nil {
				t := d.Recv.List[0].Type
				if st, ok := t.(*ast.StarExpr); ok {
					t = st.X
				}
				rd.recv = t.(*ast.Ident).Name
			}
		case *ast.GenDecl:
			if d.Tok == token.IMPORT {
				continue
			}
			if d.Doc != nil {
				start = d.Doc.Pos()
			}
			if len(d.Specs) != 1 {
				return nil, fmt.Errorf("runtime: declare one name per declaration (line %d)", fset.Position(d.Pos()).Line)
			}
			switch s := d.Specs[0].(type) {
			case *ast.TypeSpec:
				rd.name = s.Name.Name
			case *ast.ValueSpec:
				if len(s.Names) != 1 {
					return nil, fmt.Errorf("runtime: declare one name per declaration (line %d)", fset.Position(d.Pos()).Line)
				}
				rd.name = s.Names[0].Name
			}
		}
		if rd.recv == "" && !strings.HasPrefix(rd.name, "gen") {
			return nil, fmt.Errorf("runtime: top-level name %s does not start with gen", rd.name)
		}
		rd.src = rtSource[fset.Position(start).Offset:fset.Position(d.End()).Offset]
		ast.Inspect(d, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				rd.sels = append(rd.sels, n.Sel.Name)
			case *ast.Ident:
				rd.idents = append(rd.idents, n.Name)
			}
			return true
		})
		decls = append(decls, rd)
	}
	return decls, nil
}

// runtimeFor returns the runtime declarations that body needs, in their
// order in package rt.
func runtimeFor(body []byte) ([]byte, error) {
	decls, err := parseRuntime()
	if err != nil {
		return nil, err
	}
	f, err := parser.ParseFile(token.NewFileSet(), "body.go", append([]byte("package p\n"), body...), 0)
	if err != nil {
		return nil, fmt.Errorf("parse generated code: %w", err)
	}
	idents, sels := map[string]bool{}, map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			sels[n.Sel.Name] = true
		case *ast.Ident:
			idents[n.Name] = true
		}
		return true
	})
	for _, d := range f.Decls {
		// Names the body declares itself must not clash with the runtime.
		var name string
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				name = d.Name.Name
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					name = s.Name.Name
				case *ast.ValueSpec:
					name = s.Names[0].Name
				}
			}
		}
		for _, rd := range decls {
			if name != "" && rd.recv == "" && rd.name == name {
				return nil, fmt.Errorf("generated name %s clashes with the runtime", name)
			}
		}
	}
	used := make([]bool, len(decls))
	for changed := true; changed; {
		changed = false
		for i, rd := range decls {
			if used[i] {
				continue
			}
			if rd.recv == "" && !idents[rd.name] || rd.recv != "" && (!idents[rd.recv] || !sels[rd.name]) {
				continue
			}
			used[i], changed = true, true
			for _, id := range rd.idents {
				idents[id] = true
			}
			for _, s := range rd.sels {
				sels[s] = true
			}
		}
	}
	var out []byte
	out = append(out, "\n// Runtime support, copied from internal/awsapi/gen/rt.\n\n"...)
	for i, rd := range decls {
		if used[i] {
			out = append(out, rd.src...)
			out = append(out, "\n\n"...)
		}
	}
	return out, nil
}

// knownImports are the packages generated code and the runtime may use, by
// the name they are referred to.
var knownImports = map[string]string{
	"awsapi":  "github.com/privlink/privlink/internal/awsapi",
	"bytes":   "bytes",
	"cmp":     "cmp",
	"context": "context",
	"fmt":     "fmt",
	"math":    "math",
	"slices":  "slices",
	"strconv": "strconv",
	"strings": "strings",
	"time":    "time",
	"utf8":    "unicode/utf8",
}

// usedImports returns the import block for src: the packages it refers to,
// the standard library first.
func usedImports(src []byte) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "src.go", append([]byte("package p\n"), src...), 0)
	if err != nil {
		return "", fmt.Errorf("parse generated code: %w", err)
	}
	seen := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil {
				if path, ok := knownImports[id.Name]; ok {
					seen[path] = true
				}
			}
		}
		return true
	})
	var std, mod []string
	for _, p := range sortedKeys(seen) {
		if strings.Contains(p, ".") {
			mod = append(mod, strconv.Quote(p))
		} else {
			std = append(std, strconv.Quote(p))
		}
	}
	block := "import (\n" + strings.Join(std, "\n")
	if len(mod) > 0 {
		block += "\n\n" + strings.Join(mod, "\n")
	}
	return block + "\n)\n\n", nil
}
