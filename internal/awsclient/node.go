package awsclient

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Node is one element of an XML document: its local name (the namespace is
// dropped), its text and its child elements in document order. The methods
// of a nil *Node return zero values, so that lookups chain without checks.
type Node struct {
	Name     string
	Text     string // character data directly inside the element, trimmed
	Children []*Node
}

// ParseXML parses a document into its root element.
func ParseXML(r io.Reader) (*Node, error) {
	dec := xml.NewDecoder(r)
	var stack []*Node
	var root *Node
	var text []*strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &Node{Name: t.Name.Local}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, n)
			} else if root == nil {
				root = n
			} else {
				return nil, errors.New("parse XML: more than one root element")
			}
			stack = append(stack, n)
			text = append(text, &strings.Builder{})
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.Text = strings.TrimSpace(text[len(text)-1].String())
			stack, text = stack[:len(stack)-1], text[:len(text)-1]
		case xml.CharData:
			if len(text) > 0 {
				text[len(text)-1].Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("parse XML: no root element")
	}
	return root, nil
}

// Child returns the first direct child named name, or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Get follows path from n, one child name per step, taking the first child
// of each name, and returns the node it ends on, or nil.
func (n *Node) Get(path ...string) *Node {
	for _, name := range path {
		n = n.Child(name)
	}
	return n
}

// Value returns the text of Get(path...), or "".
func (n *Node) Value(path ...string) string {
	if m := n.Get(path...); m != nil {
		return m.Text
	}
	return ""
}

// All returns every node that path leads to from n, taking every child of
// the name at each step, in document order. It is how lists are read:
// All("subnetSet", "item") for EC2, All("Subnets", "member") for ELBv2.
func (n *Node) All(path ...string) []*Node {
	if n == nil {
		return nil
	}
	cur := []*Node{n}
	for _, name := range path {
		var next []*Node
		for _, c := range cur {
			for _, cc := range c.Children {
				if cc.Name == name {
					next = append(next, cc)
				}
			}
		}
		cur = next
	}
	return cur
}

// Values returns the texts of All(path...).
func (n *Node) Values(path ...string) []string {
	var out []string
	for _, m := range n.All(path...) {
		out = append(out, m.Text)
	}
	return out
}

// find returns the first node named name in a depth-first walk of n,
// n included.
func (n *Node) find(name string) *Node {
	if n == nil {
		return nil
	}
	if n.Name == name {
		return n
	}
	for _, c := range n.Children {
		if m := c.find(name); m != nil {
			return m
		}
	}
	return nil
}
