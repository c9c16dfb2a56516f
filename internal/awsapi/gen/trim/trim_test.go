package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const model = `{
  "version": "2.0",
  "documentation": "<p>service docs</p>",
  "metadata": {"apiVersion": "2015-12-01", "protocol": "query", "xmlNamespace": "http://x/"},
  "operations": {
    "Keep": {"name": "Keep", "http": {"method": "POST", "requestUri": "/"}, "documentation": "<p>op</p>",
      "input": {"shape": "KeepInput"}, "output": {"shape": "KeepOutput", "resultWrapper": "KeepResult"},
      "errors": [{"shape": "NotFound"}]},
    "Drop": {"name": "Drop", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "DropInput"}}
  },
  "shapes": {
    "KeepInput": {"type": "structure", "required": ["documentation"], "documentation": "<p>in</p>", "members": {
      "documentation": {"shape": "Str", "documentation": "<p>a member named documentation</p>", "locationName": "doc"},
      "shape": {"shape": "List"}}},
    "KeepOutput": {"type": "structure", "members": {"N": {"shape": "Int", "documentation": "x"}}},
    "List": {"type": "list", "member": {"shape": "Str", "locationName": "item"}, "flattened": true},
    "Str": {"type": "string", "enum": ["a<b"], "documentation": "s"},
    "Int": {"type": "integer", "min": 5, "max": 1000},
    "NotFound": {"type": "structure", "members": {}, "error": {"code": "NotFound", "httpStatusCode": 400, "senderFault": true}, "exception": true},
    "DropInput": {"type": "structure", "members": {"X": {"shape": "Unused"}}},
    "Unused": {"type": "string"}
  }
}`

func TestTrim(t *testing.T) {
	got, err := trim([]byte(model), parseOps([]byte("# comment\nKeep  # trailing\n")))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "metadata": {
    "apiVersion": "2015-12-01",
    "protocol": "query",
    "xmlNamespace": "http://x/"
  },
  "operations": {
    "Keep": {
      "errors": [
        {
          "shape": "NotFound"
        }
      ],
      "http": {
        "method": "POST",
        "requestUri": "/"
      },
      "input": {
        "shape": "KeepInput"
      },
      "name": "Keep",
      "output": {
        "resultWrapper": "KeepResult",
        "shape": "KeepOutput"
      }
    }
  },
  "otherOperations": [
    "Drop"
  ],
  "shapes": {
    "Int": {
      "max": 1000,
      "min": 5,
      "type": "integer"
    },
    "KeepInput": {
      "members": {
        "documentation": {
          "locationName": "doc",
          "shape": "Str"
        },
        "shape": {
          "shape": "List"
        }
      },
      "required": [
        "documentation"
      ],
      "type": "structure"
    },
    "KeepOutput": {
      "members": {
        "N": {
          "shape": "Int"
        }
      },
      "type": "structure"
    },
    "List": {
      "flattened": true,
      "member": {
        "locationName": "item",
        "shape": "Str"
      },
      "type": "list"
    },
    "NotFound": {
      "error": {
        "code": "NotFound",
        "httpStatusCode": 400,
        "senderFault": true
      },
      "exception": true,
      "members": {},
      "type": "structure"
    },
    "Str": {
      "enum": [
        "a<b"
      ],
      "type": "string"
    }
  },
  "version": "2.0"
}
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("trim() mismatch (-want +got):\n%s", diff)
	}
}

func TestTrimUnknownOperation(t *testing.T) {
	if _, err := trim([]byte(model), []string{"Keep", "Nope"}); err == nil {
		t.Error("trim() with an unknown operation succeeded")
	}
}

// TestTrimUpToDate re-trims botocore's models when BOTOCORE_DATA points at
// botocore's data directory (python3 -c 'import botocore,os;print(os.path.dirname(botocore.__file__))'
// followed by /data); without it, it skips.
func TestTrimUpToDate(t *testing.T) {
	data := os.Getenv("BOTOCORE_DATA")
	if data == "" {
		t.Skip("BOTOCORE_DATA is not set")
	}
	for svc, file := range map[string]string{"ec2": "ec2/2016-11-15/service-2.json.gz", "elbv2": "elbv2/2015-12-01/service-2.json.gz"} {
		raw, err := readModel(filepath.Join(data, file))
		if err != nil {
			t.Fatal(err)
		}
		ops, err := os.ReadFile(filepath.Join("..", "..", "model", svc+".ops"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := trim(raw, parseOps(ops))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", "model", svc+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Errorf("model/%s.json differs from botocore's model trimmed by model/%s.ops: re-run trim", svc, svc)
		}
		if !json.Valid(got) {
			t.Errorf("trim() produced invalid JSON")
		}
	}
}
