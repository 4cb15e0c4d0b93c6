package cfn

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/yamlsafe"
)

// Tag is a stack tag; CloudFormation propagates it to the stack's resources.
type Tag struct {
	Key   string
	Value string
}

// CloudFormation's tag limits.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// ParseTags parses the tags input in every form aws-cloudformation-github-deploy
// accepts, plus K=V pairs:
//   - K=V pairs separated by commas or newlines (quoting as in
//     ParseParameterOverrides);
//   - a YAML or JSON mapping {"K":"V"} / K: V, in document order;
//   - a YAML or JSON list of {Key, Value}.
//
// Numbers and booleans are taken as the text written (CostCenter: 12345 is
// "12345"), and an empty YAML value is "". Where that action drops input
// silently (YAML it cannot parse, list items without Key or Value, a value
// that is no mapping or list), ParseTags fails instead. It enforces
// CloudFormation's limits: at most 50 tags, keys of 1-128 and values of at
// most 256 characters from letters, digits, spaces and _ . : / = + - @, no
// "aws:" prefix, no repeats.
func ParseTags(value string) ([]Tag, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return nil, nil
	}
	if isPairList(v) {
		return pairTags(v)
	}
	var tags []Tag
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err != nil {
		return nil, fmt.Errorf("is neither K=V pairs nor valid YAML or JSON (%s): %s", strings.TrimPrefix(err.Error(), "yaml: "), tagFormats)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("holds no tags: %s", tagFormats)
	}
	// 50 tags are a few hundred nodes; aliases must not make them millions.
	if err := yamlsafe.Check(&doc, 10_000); err != nil {
		return nil, fmt.Errorf("uses YAML aliases that expand too far: write the tags out (%s)", tagFormats)
	}
	root := yamlsafe.Deref(doc.Content[0])
	switch root.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, val := yamlsafe.Deref(root.Content[i]), yamlsafe.Deref(root.Content[i+1])
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a tag key must be text: %s", k.Line, tagFormats)
			}
			text, ok := scalarValue(val)
			if !ok {
				return nil, fmt.Errorf("the value of tag %q (line %d) must be text, a number or a boolean, not a list or mapping", k.Value, val.Line)
			}
			tags = append(tags, Tag{Key: k.Value, Value: text})
		}
	case yaml.SequenceNode:
		for i, item := range root.Content {
			t, err := tagItem(yamlsafe.Deref(item))
			if err != nil {
				return nil, fmt.Errorf("item %d %w", i+1, err)
			}
			tags = append(tags, t)
		}
	case yaml.ScalarNode:
		if strings.Contains(v, "=") {
			return pairTags(v)
		}
		return nil, fmt.Errorf("is not a list of tags: %s", tagFormats)
	default:
		return nil, fmt.Errorf("is not a list of tags: %s", tagFormats)
	}
	return tags, checkTags(tags)
}

func pairTags(v string) ([]Tag, error) {
	pairs, err := splitPairs(v)
	if err != nil {
		return nil, err
	}
	var tags []Tag
	for _, p := range pairs {
		tags = append(tags, Tag{Key: p.key, Value: p.value})
	}
	return tags, checkTags(tags)
}

const tagFormats = `write K=V pairs, a mapping (Team: payments, or {"Team":"payments"}) or a list of {Key, Value}`

// isPairList tells K=V pairs from YAML: an '=' before the first mapping
// colon (": " or a colon at the end of a line) in text that does not open a
// flow collection or a YAML list.
func isPairList(v string) bool {
	if strings.ContainsRune("{[-", rune(v[0])) {
		return false
	}
	eq := strings.IndexByte(v, '=')
	colon := -1
	for i := 0; i < len(v); i++ {
		if v[i] == ':' && (i+1 == len(v) || strings.ContainsRune(" \t\r\n", rune(v[i+1]))) {
			colon = i
			break
		}
	}
	return eq >= 0 && (colon < 0 || eq < colon)
}

// tagItem reads one {Key, Value} list item; texts follow "item N".
func tagItem(n *yaml.Node) (Tag, error) {
	if n.Kind != yaml.MappingNode {
		return Tag{}, errors.New(`is not a {Key, Value} mapping: use [{"Key":"k","Value":"v"}] or a YAML list of Key/Value`)
	}
	var t Tag
	var hasKey, hasValue bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := yamlsafe.Deref(n.Content[i]), yamlsafe.Deref(n.Content[i+1])
		text, ok := scalarValue(val)
		switch {
		case k.Value != "Key" && k.Value != "Value":
			return Tag{}, fmt.Errorf("has member %q: only Key and Value are allowed", k.Value)
		case !ok:
			return Tag{}, fmt.Errorf("has a %s that is a list or mapping: it must be text, a number or a boolean", k.Value)
		case k.Value == "Key":
			t.Key, hasKey = text, true
		default:
			t.Value, hasValue = text, true
		}
	}
	if !hasKey || !hasValue {
		return Tag{}, errors.New(`needs both Key and Value: use [{"Key":"k","Value":"v"}]`)
	}
	return t, nil
}

// scalarValue is a scalar's text as written; null is "".
func scalarValue(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

func checkTags(tags []Tag) error {
	if len(tags) > maxTags {
		return fmt.Errorf("%d tags given: CloudFormation allows at most %d", len(tags), maxTags)
	}
	var errs []error
	seen := map[string]bool{}
	for _, t := range tags {
		switch n := utf8.RuneCountInString(t.Key); {
		case n == 0:
			errs = append(errs, errors.New("a tag has an empty key: write Key=Value"))
			continue
		case n > maxTagKeyLen:
			errs = append(errs, fmt.Errorf("tag key %.20q... is %d characters: at most %d are allowed", t.Key, n, maxTagKeyLen))
			continue
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			errs = append(errs, fmt.Errorf("tag key %q uses the reserved prefix aws:", t.Key))
		}
		if !validTagText(t.Key) {
			errs = append(errs, fmt.Errorf("tag key %q has characters CloudFormation refuses: use letters, digits, spaces and _ . : / = + - @", t.Key))
		}
		if n := utf8.RuneCountInString(t.Value); n > maxTagValueLen {
			errs = append(errs, fmt.Errorf("the value of tag %q is %d characters: at most %d are allowed", t.Key, n, maxTagValueLen))
		}
		if !validTagText(t.Value) {
			errs = append(errs, fmt.Errorf("the value of tag %q has characters CloudFormation refuses: use letters, digits, spaces and _ . : / = + - @", t.Key))
		}
		if seen[t.Key] {
			errs = append(errs, fmt.Errorf("tag %q is given twice", t.Key))
		}
		seen[t.Key] = true
	}
	return errors.Join(errs...)
}

// validTagText matches CloudFormation's [\p{L}\p{Z}\p{N}_.:/=+\-@]*.
func validTagText(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.Is(unicode.Z, r) || unicode.IsNumber(r) || strings.ContainsRune("_.:/=+-@", r) {
			continue
		}
		return false
	}
	return true
}
