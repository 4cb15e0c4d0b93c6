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

// Entry is one key of a mapping and its value.
type Entry struct {
	Key   string
	Line  int
	Value *yaml.Node
}

// DuplicateKeyError is a key written twice in one mapping: YAML loaders keep
// one silently, which can drop a parameter or a policy condition.
type DuplicateKeyError struct {
	Key   string
	First int        // line of the first
	Again *yaml.Node // the second key
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("duplicate key %q (lines %d and %d)", e.Key, e.First, e.Again.Line)
}

// KeyError is a mapping key that is not a plain name (null, a sequence, a
// mapping).
type KeyError struct{ Node *yaml.Node }

func (e *KeyError) Error() string {
	return fmt.Sprintf("a mapping key must be a plain name (line %d)", e.Node.Line)
}

// MergeError is a merge key (<<) whose value is not a mapping or a list of
// them.
type MergeError struct{ Node *yaml.Node }

func (e *MergeError) Error() string {
	return fmt.Sprintf("a merge key (<<) takes a mapping or a list of them (line %d)", e.Node.Line)
}

// Entries lists a mapping's entries with merge keys resolved as YAML defines
// them: keys written in the mapping win over merged ones, and earlier merged
// mappings over later ones. A key written twice is an error. Run Check on
// the document first: merges follow aliases.
func Entries(m *yaml.Node) ([]Entry, error) {
	var out, merged []Entry
	lines := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := Deref(m.Content[i]), m.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null":
			return nil, &KeyError{Node: k}
		case k.ShortTag() == "!!merge":
			more, err := mergeEntries(v)
			if err != nil {
				return nil, err
			}
			merged = append(merged, more...)
			continue
		}
		if first, dup := lines[k.Value]; dup {
			return nil, &DuplicateKeyError{Key: k.Value, First: first, Again: k}
		}
		lines[k.Value] = k.Line
		out = append(out, Entry{Key: k.Value, Line: k.Line, Value: v})
	}
	for _, e := range merged {
		if _, written := lines[e.Key]; !written {
			lines[e.Key] = e.Line
			out = append(out, e)
		}
	}
	return out, nil
}

// mergeEntries reads the value of a merge key: a mapping or a list of them.
func mergeEntries(v *yaml.Node) ([]Entry, error) {
	v = Deref(v)
	sources := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		sources = v.Content
	}
	var out []Entry
	for _, s := range sources {
		s = Deref(s)
		if s.Kind != yaml.MappingNode {
			return nil, &MergeError{Node: s}
		}
		more, err := Entries(s)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}
