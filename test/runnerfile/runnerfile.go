// Package runnerfile reads GITHUB_ENV and GITHUB_OUTPUT back exactly as
// GitHub's Linux runner does. It is a port of the runner's parser
// (FileCommandManager.cs, EnvFileKeyValuePairs) for tests, the sandbox and
// the image test, so they check what a later step would really see rather
// than what the action meant to write. It imports nothing from internal/: a
// check written against the product's own types could not catch the product
// and the runner disagreeing.
package runnerfile

import (
	"fmt"
	"strings"
)

// KV is one name and value, in the order the file sets them.
type KV struct {
	Key, Value string
}

// Parse reads a file command as the runner does and returns its pairs in
// file order; an error means the runner would fail the step.
func Parse(text string) ([]KV, error) {
	var out []KV
	idx := 0
	for {
		line, _, ok := readLine(text, &idx)
		if !ok {
			return out, nil
		}
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		hd := strings.Index(line, "<<")
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			k, v, _ := strings.Cut(line, "=")
			if k == "" {
				return out, fmt.Errorf("invalid format %q: name must not be empty", line)
			}
			out = append(out, KV{k, v})
		case hd >= 0 && (eq < 0 || hd < eq):
			name, delim, _ := strings.Cut(line, "<<")
			if name == "" || delim == "" {
				return out, fmt.Errorf("invalid format %q: name and delimiter must not be empty", line)
			}
			start, end := idx, idx
			for {
				tmp, nl, ok := readLine(text, &idx)
				if ok && tmp == delim {
					break
				}
				if !ok {
					return out, fmt.Errorf("invalid value: matching delimiter not found %q", delim)
				}
				if nl == "" {
					return out, fmt.Errorf("invalid value: EOF marker missing new line")
				}
				end = idx - len(nl)
			}
			v := ""
			if end > start {
				v = text[start:end]
			}
			out = append(out, KV{name, v})
		default:
			return out, fmt.Errorf("invalid format %q", line)
		}
	}
}

// Map is Parse with the pairs as a map: a name set twice keeps its last
// value, as the runner's environment does.
func Map(text string) (map[string]string, error) {
	kvs, err := Parse(text)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m, nil
}

// readLine mirrors the runner's ReadLine on Linux: lines end at '\n' only.
func readLine(text string, idx *int) (line, newline string, ok bool) {
	if *idx >= len(text) {
		return "", "", false
	}
	start := *idx
	lf := strings.IndexByte(text[start:], '\n')
	if lf < 0 {
		*idx = len(text)
		return text[start:], "", true
	}
	*idx = start + lf + 1
	return text[start : start+lf], "\n", true
}
