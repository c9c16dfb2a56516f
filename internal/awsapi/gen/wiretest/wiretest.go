// Package wiretest holds test helpers for the packages that internal/awsapi/gen
// generates: it turns generated Go values into the plain maps botocore's
// parsers produce, reads the vectors that gen/testdata/gen_vectors.py wrote
// with botocore, and compares golden files. Only tests import it; it must not
// import anything from privlink but awsapi.
package wiretest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/privlink/privlink/internal/awsapi"
)

// Update is the -update flag of the golden tests.
var Update = flag.Bool("update", false, "rewrite golden files in testdata/")

// Botocore returns v as botocore would represent it after parsing it from
// the wire: a structure is a map from member name to value without unset
// (nil) members, lists are []any without empty ones, numbers are float64 and
// timestamps are strings in AWS's response format. This is also what
// encoding/json makes of the botocore input dicts in the vector files, with
// Prune applied.
func Botocore(v any) any {
	return convert(reflect.ValueOf(v))
}

var timeType = reflect.TypeFor[time.Time]()

func convert(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Type() == timeType {
		return v.Interface().(time.Time).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return convert(v.Elem())
	case reflect.Struct:
		out := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if x := convert(v.Field(i)); x != nil {
				out[f.Name] = x
			}
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = convert(v.Index(i))
		}
		return out
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		out := map[string]any{}
		for it := v.MapRange(); it.Next(); {
			out[it.Key().String()] = convert(it.Value())
		}
		return out
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	panic("wiretest: cannot convert " + v.Type().String())
}

// Prune removes empty lists and maps from a decoded JSON value, as Botocore
// omits them (nil and empty slices are the same to a handler).
func Prune(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if x = Prune(x); x != nil {
				out[k] = x
			}
		}
		return out
	case []any:
		if len(v) == 0 {
			return nil
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = Prune(x)
		}
		return out
	}
	return v
}

// Request is one request serialized by botocore.
type Request struct {
	Name      string         `json:"name"`
	Operation string         `json:"operation"`
	Input     map[string]any `json:"input"`
	Params    awsapi.Params  `json:"params"`
}

// Requests reads testdata/botocore_requests.json.
func Requests(t testing.TB) []Request {
	t.Helper()
	var f struct {
		Vectors []Request `json:"vectors"`
	}
	readJSON(t, filepath.Join("testdata", "botocore_requests.json"), &f)
	return f.Vectors
}

// Responses reads testdata/botocore_responses.json: golden file name → what
// botocore parsed from it.
func Responses(t testing.TB) map[string]any {
	t.Helper()
	var f struct {
		Responses map[string]any `json:"responses"`
	}
	readJSON(t, filepath.Join("testdata", "botocore_responses.json"), &f)
	return f.Responses
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Golden compares got with testdata/golden/<name>, or rewrites the file
// with -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the encoder's output (run go test -update, then gen/testdata/gen_vectors.py):\nwant: %s\ngot:  %s", path, want, got)
	}
}
