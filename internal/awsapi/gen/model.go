package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// Model is a trimmed botocore service model. Decoding is strict: a trait the
// generator does not know fails generation instead of being ignored, because
// an ignored trait is how a wire name silently goes wrong.
type Model struct {
	Version    string                `json:"version"`
	Metadata   Metadata              `json:"metadata"`
	Operations map[string]*Operation `json:"operations"`
	// OtherOperations names the service's operations that were trimmed
	// away: actions that exist but that privlink does not serve.
	OtherOperations []string          `json:"otherOperations"`
	Shapes          map[string]*Shape `json:"shapes"`
}

// Metadata is the service-wide part of a model.
type Metadata struct {
	APIVersion          string   `json:"apiVersion"`
	Auth                []string `json:"auth"`
	EndpointPrefix      string   `json:"endpointPrefix"`
	Protocol            string   `json:"protocol"`
	Protocols           []string `json:"protocols"`
	ServiceAbbreviation string   `json:"serviceAbbreviation"`
	ServiceFullName     string   `json:"serviceFullName"`
	ServiceID           string   `json:"serviceId"`
	SignatureVersion    string   `json:"signatureVersion"`
	UID                 string   `json:"uid"`
	XMLNamespace        string   `json:"xmlNamespace"`
}

// Operation is one API action.
type Operation struct {
	Name              string `json:"name"`
	HTTP              HTTP   `json:"http"`
	Input             *Ref   `json:"input"`
	Output            *Ref   `json:"output"`
	Errors            []*Ref `json:"errors"`
	Deprecated        bool   `json:"deprecated"`
	DeprecatedMessage string `json:"deprecatedMessage"`
}

// HTTP is an operation's HTTP binding (always POST / for ec2 and query).
type HTTP struct {
	Method     string `json:"method"`
	RequestURI string `json:"requestUri"`
}

// Ref is a reference to a shape with the serialization traits of its use.
type Ref struct {
	Shape             string `json:"shape"`
	LocationName      string `json:"locationName"`
	QueryName         string `json:"queryName"`
	Flattened         bool   `json:"flattened"`
	ResultWrapper     string `json:"resultWrapper"`
	IdempotencyToken  bool   `json:"idempotencyToken"`
	Deprecated        bool   `json:"deprecated"`
	DeprecatedMessage string `json:"deprecatedMessage"`
	DeprecatedSince   string `json:"deprecatedSince"`
}

// Shape is a named type of the model.
type Shape struct {
	Type              string          `json:"type"`
	Members           map[string]*Ref `json:"members"`
	Member            *Ref            `json:"member"`
	Key               *Ref            `json:"key"`
	Value             *Ref            `json:"value"`
	Required          []string        `json:"required"`
	Enum              []string        `json:"enum"`
	Min               *json.Number    `json:"min"`
	Max               *json.Number    `json:"max"`
	Pattern           string          `json:"pattern"`
	Sensitive         bool            `json:"sensitive"`
	Flattened         bool            `json:"flattened"`
	Exception         bool            `json:"exception"`
	Error             *ErrorTrait     `json:"error"`
	Deprecated        bool            `json:"deprecated"`
	DeprecatedMessage string          `json:"deprecatedMessage"`
}

// ErrorTrait is the wire identity of a modeled error.
type ErrorTrait struct {
	Code           string `json:"code"`
	HTTPStatusCode int    `json:"httpStatusCode"`
	SenderFault    bool   `json:"senderFault"`
}

// loadModel reads and checks a trimmed model.
func loadModel(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseModel(data)
}

func parseModel(data []byte) (*Model, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var supportedTypes = map[string]bool{
	"structure": true, "list": true, "map": true, "string": true, "boolean": true,
	"integer": true, "long": true, "float": true, "double": true, "timestamp": true,
}

// check rejects what the generator cannot serve exactly.
func (m *Model) check() error {
	switch m.Metadata.Protocol {
	case "ec2", "query":
	default:
		return fmt.Errorf("protocol %q is not supported (want ec2 or query)", m.Metadata.Protocol)
	}
	if m.Metadata.XMLNamespace == "" || m.Metadata.APIVersion == "" {
		return fmt.Errorf("metadata lacks xmlNamespace or apiVersion")
	}
	ref := func(where string, r *Ref) error {
		if r == nil {
			return nil
		}
		if _, ok := m.Shapes[r.Shape]; !ok {
			return fmt.Errorf("%s: unknown shape %q", where, r.Shape)
		}
		return nil
	}
	for _, name := range sortedKeys(m.Operations) {
		op := m.Operations[name]
		if op.Name != name {
			return fmt.Errorf("operation %s has name %q", name, op.Name)
		}
		if op.HTTP.Method != "POST" || op.HTTP.RequestURI != "/" {
			return fmt.Errorf("operation %s: HTTP binding %s %s is not POST /", name, op.HTTP.Method, op.HTTP.RequestURI)
		}
		if err := ref(name+" input", op.Input); err != nil {
			return err
		}
		if err := ref(name+" output", op.Output); err != nil {
			return err
		}
		for _, e := range op.Errors {
			if err := ref(name+" error", e); err != nil {
				return err
			}
			if m.Shapes[e.Shape].Error == nil && m.Metadata.Protocol == "query" {
				return fmt.Errorf("operation %s: error shape %s has no error trait", name, e.Shape)
			}
		}
		for _, r := range []*Ref{op.Input, op.Output} {
			if r != nil && m.Shapes[r.Shape].Type != "structure" {
				return fmt.Errorf("operation %s: %s is not a structure", name, r.Shape)
			}
		}
	}
	for _, name := range m.OtherOperations {
		if !isIdent(name) {
			return fmt.Errorf("other operation %q is not a Go identifier", name)
		}
		if _, ok := m.Operations[name]; ok {
			return fmt.Errorf("operation %s is both served and other", name)
		}
	}
	for _, name := range sortedKeys(m.Shapes) {
		s := m.Shapes[name]
		if !supportedTypes[s.Type] {
			return fmt.Errorf("shape %s: type %q is not supported", name, s.Type)
		}
		var err error
		switch s.Type {
		case "structure":
			for _, mn := range sortedKeys(s.Members) {
				if !isIdent(mn) {
					return fmt.Errorf("shape %s: member %q is not a Go identifier", name, mn)
				}
				if err = ref(name+"."+mn, s.Members[mn]); err != nil {
					return err
				}
			}
			for _, r := range s.Required {
				if _, ok := s.Members[r]; !ok {
					return fmt.Errorf("shape %s: required member %s does not exist", name, r)
				}
			}
		case "list":
			if s.Member == nil {
				return fmt.Errorf("shape %s: list without member", name)
			}
			err = ref(name+" member", s.Member)
		case "map":
			if s.Key == nil || s.Value == nil {
				return fmt.Errorf("shape %s: map without key or value", name)
			}
			if k := m.Shapes[s.Key.Shape]; k == nil || k.Type != "string" {
				return fmt.Errorf("shape %s: map keys must be strings", name)
			}
			err = ref(name+" value", s.Value)
		case "integer", "long":
			for _, n := range []*json.Number{s.Min, s.Max} {
				if n != nil {
					if _, err := n.Int64(); err != nil {
						return fmt.Errorf("shape %s: bound %s is not an integer", name, *n)
					}
				}
			}
		}
		if err != nil {
			return err
		}
		if len(s.Enum) > 0 && s.Type != "string" {
			return fmt.Errorf("shape %s: enum on a %s", name, s.Type)
		}
	}
	return nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9'
		if !ok {
			return false
		}
	}
	return true
}
