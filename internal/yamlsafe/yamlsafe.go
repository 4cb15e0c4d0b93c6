// Package yamlsafe guards a parsed YAML document before anything walks its
// values. yaml.v3 keeps aliases as pointers, so parsing never expands them,
// but code that reads every value would: a billion-laughs document, or an
// alias inside its own anchor, must be refused first, in linear time.
package yamlsafe

import (
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// MaxNodes bounds a document with every alias expanded: far above any real
// CloudFormation template (1 MB), far below what exhausts memory.
const MaxNodes = 1_000_000

// Deref follows an alias to its anchored node.
func Deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// AliasLoopError is an alias inside its own anchor: YAML cannot expand it.
type AliasLoopError struct {
	Alias, Anchor *yaml.Node
}

func (e *AliasLoopError) Error() string {
	return fmt.Sprintf("alias *%s (line %d) is inside its own anchor (line %d)", e.Anchor.Anchor, e.Alias.Line, e.Anchor.Line)
}

// TooLargeError is a document that expands past the limit through aliases.
type TooLargeError struct {
	Max  int
	Node *yaml.Node // where the count passed Max
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("expands to more than %d nodes through aliases (an alias bomb?)", e.Max)
}

// Check counts the nodes doc would have with every alias expanded, in time
// linear in its size (only anchored nodes can be reached twice, and their
// sizes are remembered), and refuses an alias loop or more than max nodes.
func Check(doc *yaml.Node, max int) error {
	e := expansion{size: map[*yaml.Node]int{}, max: max}
	_, err := e.count(doc)
	return err
}

type expansion struct {
	size map[*yaml.Node]int // anchored nodes: expanded size, or -1 while counting
	max  int
}

func (e *expansion) count(n *yaml.Node) (int, error) {
	target := Deref(n)
	if target.Anchor != "" {
		switch s, ok := e.size[target]; {
		case ok && s < 0:
			return 0, &AliasLoopError{Alias: n, Anchor: target}
		case ok:
			return s, nil
		}
		e.size[target] = -1
	}
	total := 1
	for _, c := range target.Content {
		s, err := e.count(c)
		if err != nil {
			return 0, err
		}
		if total += s; total > e.max {
			return 0, &TooLargeError{Max: e.max, Node: target}
		}
	}
	if target.Anchor != "" {
		e.size[target] = total
	}
	return total, nil
}
