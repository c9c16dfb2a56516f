// Command trim cuts a botocore service model (service-2.json, optionally
// gzipped) down to the operations listed in an ops file and the shapes they
// reference, with every documentation field removed. Everything that matters
// on the wire is kept verbatim. The names of the model's other operations are
// kept too, as "otherOperations", so that the generated handler can tell an
// action privlink does not build (UnsupportedOperation) from one the service
// does not have (InvalidAction). The result is pretty-printed with sorted
// keys so that model updates diff readably.
//
//	go run ./internal/awsapi/gen/trim -in .../ec2/2016-11-15/service-2.json.gz -ops internal/awsapi/model/ec2.ops -out internal/awsapi/model/ec2.json
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

func main() {
	in := flag.String("in", "", "botocore service-2.json or service-2.json.gz")
	opsPath := flag.String("ops", "", "file listing the operations to keep (whitespace separated, # comments)")
	out := flag.String("out", "", "output file")
	flag.Parse()
	if err := run(*in, *opsPath, *out); err != nil {
		fmt.Fprintln(os.Stderr, "trim:", err)
		os.Exit(1)
	}
}

func run(in, opsPath, out string) error {
	if in == "" || opsPath == "" || out == "" {
		return fmt.Errorf("-in, -ops and -out are required")
	}
	raw, err := readModel(in)
	if err != nil {
		return err
	}
	opsText, err := os.ReadFile(opsPath)
	if err != nil {
		return err
	}
	data, err := trim(raw, parseOps(opsText))
	if err != nil {
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

// readModel reads a model file, gunzipping it if needed.
func readModel(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gunzip %s: %w", path, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("gunzip %s: %w", path, err)
		}
	}
	return data, nil
}

// parseOps returns the operation names of an ops file.
func parseOps(text []byte) []string {
	var ops []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		ops = append(ops, strings.Fields(line)...)
	}
	return ops
}

// trim returns the trimmed model as indented JSON with sorted keys.
func trim(raw []byte, ops []string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var model map[string]any
	if err := dec.Decode(&model); err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	allOps, _ := model["operations"].(map[string]any)
	allShapes, _ := model["shapes"].(map[string]any)
	if allOps == nil || allShapes == nil {
		return nil, fmt.Errorf("model has no operations or shapes")
	}
	keptOps := map[string]any{}
	keptShapes := map[string]any{}
	var visit func(name string) error
	visit = func(name string) error {
		if _, ok := keptShapes[name]; ok {
			return nil
		}
		s, ok := allShapes[name]
		if !ok {
			return fmt.Errorf("unknown shape %q", name)
		}
		keptShapes[name] = s
		for _, ref := range shapeRefs(s) {
			if err := visit(ref); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	}
	for _, name := range ops {
		op, ok := allOps[name]
		if !ok {
			return nil, fmt.Errorf("operation %s is not in the model", name)
		}
		keptOps[name] = op
		for _, ref := range shapeRefs(op) {
			if err := visit(ref); err != nil {
				return nil, fmt.Errorf("operation %s: %w", name, err)
			}
		}
	}
	var others []string
	for name := range allOps {
		if _, ok := keptOps[name]; !ok {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	out := map[string]any{}
	if len(others) > 0 {
		out["otherOperations"] = others
	}
	for k, v := range model {
		switch k {
		case "documentation":
		case "operations":
			out[k] = keptOps
		case "shapes":
			out[k] = keptShapes
		default:
			out[k] = v
		}
	}
	stripDocs(out)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// shapeRefs returns the names of the shapes an operation or shape refers to:
// every string under a "shape" key (input, output, errors, member, key,
// value and each member of "members").
func shapeRefs(v any) []string {
	var refs []string
	var walk func(v any, inMembers bool)
	walk = func(v any, inMembers bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "shape" && !inMembers {
					refs = append(refs, s)
					continue
				}
				walk(x, k == "members" && !inMembers)
			}
		case []any:
			for _, x := range v {
				walk(x, false)
			}
		}
	}
	walk(v, false)
	return refs
}

// stripDocs deletes every "documentation" field. Keys of a "members" object
// are member names, not fields, and are never deleted.
func stripDocs(v any) {
	var walk func(v any, inMembers bool)
	walk = func(v any, inMembers bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !inMembers && k == "documentation" {
					delete(v, k)
					continue
				}
				walk(x, k == "members" && !inMembers)
			}
		case []any:
			for _, x := range v {
				walk(x, false)
			}
		}
	}
	walk(v, false)
}
