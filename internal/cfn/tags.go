package cfn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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

// ParseTags parses the tags input: K=V pairs separated by commas or newlines
// (quoting as in ParseParameterOverrides), a JSON object {"K":"V"} or a JSON
// array [{"Key":"K","Value":"V"}]. It enforces CloudFormation's limits: at
// most 50 tags, keys of 1-128 and values of at most 256 characters from
// letters, digits, spaces and _ . : / = + - @, no "aws:" prefix, no repeats.
func ParseTags(value string) ([]Tag, error) {
	v := strings.TrimSpace(value)
	var tags []Tag
	switch {
	case v == "":
		return nil, nil
	case v[0] == '{':
		obj, err := orderedObject([]byte(v))
		if err != nil {
			return nil, err
		}
		for _, m := range obj {
			var s string
			if err := json.Unmarshal(m.raw, &s); err != nil {
				return nil, fmt.Errorf("the value of tag %q must be a JSON string", m.key)
			}
			tags = append(tags, Tag{Key: m.key, Value: s})
		}
	case v[0] == '[':
		var items []struct {
			Key   *string
			Value *string
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(v)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&items); err != nil {
			return nil, fmt.Errorf(`%w: use [{"Key":"k","Value":"v"}]`, jsonError(err))
		}
		for i, it := range items {
			if it.Key == nil || it.Value == nil {
				return nil, fmt.Errorf(`item %d needs both Key and Value: use [{"Key":"k","Value":"v"}]`, i+1)
			}
			tags = append(tags, Tag{Key: *it.Key, Value: *it.Value})
		}
	default:
		pairs, err := splitPairs(v)
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			tags = append(tags, Tag{Key: p.key, Value: p.value})
		}
	}
	return tags, checkTags(tags)
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
