package gha

import (
	"fmt"
	"strings"
)

// ParseEnvFile is a port of the Linux runner's parser for GITHUB_ENV and
// GITHUB_OUTPUT (FileCommandManager.cs, EnvFileKeyValuePairs). Tests use it to
// read back exactly what the runner would set; it returns pairs in file order.
func ParseEnvFile(text string) ([]KV, error) {
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
