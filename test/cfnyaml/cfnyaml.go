// Package cfnyaml turns a CloudFormation YAML template into its JSON form,
// as CloudFormation and cfn-lint's decoder read it: short-form tags become
// intrinsic functions (!Ref X is {"Ref": "X"}, !GetAtt A.B is
// {"Fn::GetAtt": ["A", "B"]}, !Sub s is {"Fn::Sub": s}), aliases and merge
// keys (<<) are resolved, and duplicate keys are refused. Mapping keys keep
// their order, which the fake CloudFormation's event order follows.
//
// It serves the test tree (the fake CloudFormation, the IAM policy checks);
// the action itself reads templates in internal/cfn.
package cfnyaml

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/yamlsafe"
)

// maxNodes bounds the nodes a document may expand to through aliases: a
// 1 MB template without aliases has fewer, an alias bomb (billion laughs)
// has billions.
const maxNodes = yamlsafe.MaxNodes

// Error is a template the decoder refuses.
type Error struct {
	// Line and Column are 1-based; 0 when unknown. yaml.v3 reports syntax
	// errors by line only: their Column is where that line's text starts.
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// ToJSON converts a YAML template into JSON text. It reads only the first
// document; an empty one gives null.
func ToJSON(body []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, syntaxError(body, err)
	}
	if len(doc.Content) == 0 {
		return []byte("null"), nil
	}
	if err := yamlsafe.Check(&doc, maxNodes); err != nil {
		var loop *yamlsafe.AliasLoopError
		var large *yamlsafe.TooLargeError
		switch {
		case errors.As(err, &loop):
			return nil, fail(loop.Alias, "alias *%s is inside its own anchor", loop.Anchor.Anchor)
		case errors.As(err, &large):
			return nil, fail(large.Node, "the template expands to more than %d nodes through aliases (an alias bomb?)", maxNodes)
		}
		return nil, err
	}
	var c converter
	if err := c.value(doc.Content[0]); err != nil {
		return nil, err
	}
	return c.out.Bytes(), nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func syntaxError(body []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{Msg: msg}
	}
	line, _ := strconv.Atoi(m[1])
	column := 0
	if lines := bytes.Split(body, []byte("\n")); line <= len(lines) {
		text := lines[line-1]
		column = 1 + len(text) - len(bytes.TrimLeft(text, " "))
	}
	return &Error{Line: line, Column: column, Msg: strings.TrimPrefix(msg, m[0][len("yaml: "):])}
}

type converter struct {
	out bytes.Buffer
}

func fail(n *yaml.Node, format string, args ...any) *Error {
	return &Error{Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
}

func (c *converter) value(n *yaml.Node) error {
	n = yamlsafe.Deref(n)
	if fn, ok := intrinsic(n.Tag); ok {
		c.out.WriteString(`{` + quote(fn) + `:`)
		var err error
		switch {
		case fn == "Fn::GetAtt" && n.Kind == yaml.ScalarNode:
			// !GetAtt Res.Attr.Path splits at the first dot only.
			c.out.WriteString(`[` + strings.Join(mapQuote(strings.SplitN(n.Value, ".", 2)), ",") + `]`)
		case n.Kind == yaml.ScalarNode:
			c.out.WriteString(quote(n.Value)) // a tagged scalar is always text
		default:
			err = c.collection(n)
		}
		c.out.WriteString(`}`)
		return err
	}
	if n.Kind == yaml.ScalarNode {
		c.out.WriteString(scalar(n))
		return nil
	}
	return c.collection(n)
}

// intrinsic maps a short-form tag to its long name: !Ref and !Condition keep
// theirs, every other !Name becomes Fn::Name, as cfn-lint does.
func intrinsic(tag string) (string, bool) {
	name, ok := strings.CutPrefix(tag, "!")
	switch {
	case !ok || name == "" || strings.HasPrefix(name, "!") || strings.HasPrefix(name, "<"):
		return "", false
	case name == "Ref" || name == "Condition":
		return name, true
	}
	return "Fn::" + name, true
}

func (c *converter) collection(n *yaml.Node) error {
	switch n.Kind {
	case yaml.SequenceNode:
		c.out.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				c.out.WriteByte(',')
			}
			if err := c.value(item); err != nil {
				return err
			}
		}
		c.out.WriteByte(']')
		return nil
	case yaml.MappingNode:
		entries, err := c.mappingEntries(n)
		if err != nil {
			return err
		}
		c.out.WriteByte('{')
		for i, e := range entries {
			if i > 0 {
				c.out.WriteByte(',')
			}
			c.out.WriteString(quote(e.Key) + ":")
			if err := c.value(e.Value); err != nil {
				return err
			}
		}
		c.out.WriteByte('}')
		return nil
	}
	return fail(n, "unexpected YAML node kind %v", n.Kind)
}

// mappingEntries resolves merge keys as YAML defines them and refuses a
// key written twice: YAML loaders keep one silently, which can drop a policy
// condition.
func (c *converter) mappingEntries(m *yaml.Node) ([]yamlsafe.Entry, error) {
	es, err := yamlsafe.Entries(m)
	var dup *yamlsafe.DuplicateKeyError
	var key *yamlsafe.KeyError
	var merge *yamlsafe.MergeError
	switch {
	case errors.As(err, &dup):
		return nil, fail(dup.Again, "duplicate key %q (first at line %d)", dup.Key, dup.First)
	case errors.As(err, &key):
		return nil, fail(key.Node, "a mapping key must be a plain name")
	case errors.As(err, &merge):
		return nil, fail(merge.Node, "a merge key (<<) takes a mapping or a list of them")
	}
	return es, err
}

// scalar renders a plain scalar as yaml.v3 resolves it: null, booleans and
// numbers as JSON literals (the source text when it is one, so 1.50 stays
// 1.50), everything else (timestamps included) as a string.
func scalar(n *yaml.Node) string {
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!bool", "!!int", "!!float":
		if json.Valid([]byte(n.Value)) {
			return n.Value
		}
		var v any
		if n.Decode(&v) == nil {
			if f, ok := v.(float64); !ok || !math.IsInf(f, 0) && !math.IsNaN(f) {
				if b, err := json.Marshal(v); err == nil {
					return string(b)
				}
			}
		}
	}
	return quote(n.Value)
}

func quote(s string) string {
	b, _ := json.Marshal(s) // a Go string always marshals
	return string(b)
}

func mapQuote(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quote(s)
	}
	return out
}
