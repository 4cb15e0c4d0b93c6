package cfn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// Template size limits of CloudFormation.
const (
	// MaxTemplateBodySize is the largest TemplateBody; larger local
	// templates must be uploaded to S3 and passed as TemplateURL.
	MaxTemplateBodySize = 51200
	// MaxTemplateSize is the largest template CloudFormation reads from S3.
	MaxTemplateSize = 1 << 20
	// maxTemplateURLLen is CloudFormation's limit for TemplateURL.
	maxTemplateURLLen = 5120
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Template is a loaded CloudFormation template: a local body or an https://
// URL (usually S3).
type Template struct {
	// Body is the template text of a local file; empty for URL templates.
	Body string
	// URL is the https:// template URL; empty for local files.
	URL string
	// Path is the resolved local file path, for messages.
	Path string
	// Size is the body's size in bytes (0 for URL templates).
	Size int
	// Parameters lists the declared parameter names, sorted, when
	// ParametersKnown.
	Parameters []string
	// ParametersKnown is false for URL templates and for YAML the extractor
	// cannot read (aliases, merge keys); unknown-override checks are then
	// left to CloudFormation.
	ParametersKnown bool
	// NoEcho lists the parameters declared with NoEcho, sorted: their
	// values are masked in change tables.
	NoEcho []string
}

// NeedsUpload reports whether the local body is too large for TemplateBody,
// so the deploy must upload it to S3 (and needs an S3 bucket).
func (t Template) NeedsUpload() bool {
	return t.URL == "" && t.Size > MaxTemplateBodySize
}

// Declares reports whether the template declares the parameter key; always
// true when the names are unknown.
func (t Template) Declares(key string) bool {
	if !t.ParametersKnown {
		return true
	}
	_, found := slices.BinarySearch(t.Parameters, key)
	return found
}

// CheckOverrides refuses overrides for parameters the template does not
// declare, listing the declared names. A key that may be a piece of a value
// (see Parameter.Item) is named by its position, never shown. It does
// nothing when the names are unknown.
func (t Template) CheckOverrides(ps []Parameter) error {
	var unknown, hidden []string
	for _, p := range ps {
		switch {
		case t.Declares(p.Key):
		case p.hidden():
			hidden = append(hidden, fmt.Sprintf("%s names a parameter the template does not declare; if it belongs to the value of %s, quote that value (%s='a,b') or repeat the key for a list (%s=a,%s=b); the key is not shown because it may be a piece of that value", p.where(), p.After, p.After, p.After, p.After))
		default:
			unknown = append(unknown, p.Key)
		}
	}
	if len(unknown) == 0 && len(hidden) == 0 {
		return nil
	}
	declared := "it declares none"
	if len(t.Parameters) > 0 {
		declared = "it declares: " + strings.Join(t.Parameters, ", ")
	}
	var lines []string
	if len(unknown) > 0 {
		lines = append(lines, fmt.Sprintf("the template does not declare %s (%s): fix the names or drop them", strings.Join(unknown, ", "), declared))
	}
	for _, h := range hidden {
		lines = append(lines, fmt.Sprintf("%s (%s)", h, declared))
	}
	return errors.New(strings.Join(lines, "\n"))
}

// LoadTemplate reads the template input: an https:// URL is checked and kept
// as a URL; anything else is a local file, relative to workspace unless
// absolute, read with readFile. Relative paths may not leave the workspace.
// The body must be text (UTF-8, no NUL), non-empty, at most 1 MB, and a JSON
// object or a YAML mapping; the declared parameter names are extracted.
// Bodies over MaxTemplateBodySize load fine: the caller checks NeedsUpload
// against the S3 bucket input.
func LoadTemplate(workspace, value string, readFile func(string) ([]byte, error)) (Template, error) {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		return Template{}, errors.New("no template given: give a path in the repository (infra/app.yaml) or an https:// S3 URL")
	case hasPrefixFold(v, "https://"):
		return loadTemplateURL(v)
	case hasPrefixFold(v, "http://"):
		return Template{}, errors.New("template URL must use https://")
	case hasPrefixFold(v, "s3://"):
		return Template{}, errors.New("s3:// URLs are not accepted: use https://BUCKET.s3.REGION.amazonaws.com/KEY")
	}
	path := filepath.FromSlash(strings.TrimPrefix(v, "file://"))
	if !filepath.IsAbs(path) {
		if !filepath.IsLocal(path) {
			return Template{}, fmt.Errorf("template path %s leaves the workspace: give a path inside the repository", v)
		}
		path = filepath.Join(workspace, path)
	}
	path = filepath.Clean(path)
	if readFile == nil {
		return Template{}, fmt.Errorf("reading template %s: no file reader configured", v)
	}
	data, err := readFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Template{}, fmt.Errorf("template %s not found: the path is relative to the repository root; check it out first (actions/checkout)", v)
		}
		return Template{}, fmt.Errorf("reading template %s: %w", v, err)
	}
	t, err := parseTemplateBody(data)
	if err != nil {
		return Template{}, fmt.Errorf("template %s %w", v, err)
	}
	t.Path = path
	t.NoEcho = noEchoParameters(data)
	return t, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func loadTemplateURL(v string) (Template, error) {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return Template{}, errors.New("template URL is not a valid URL: use https://BUCKET.s3.REGION.amazonaws.com/KEY")
	case u.User != nil:
		return Template{}, errors.New("template URL must not contain credentials")
	case u.Host == "" || strings.Trim(u.Path, "/") == "":
		return Template{}, errors.New("template URL needs a host and an object key: use https://BUCKET.s3.REGION.amazonaws.com/KEY")
	case len(v) > maxTemplateURLLen:
		return Template{}, fmt.Errorf("template URL is %d characters: CloudFormation allows at most %d", len(v), maxTemplateURLLen)
	}
	return Template{URL: v}, nil
}

// parseTemplateBody checks the body and extracts the parameter names. Error
// texts follow "template PATH".
func parseTemplateBody(data []byte) (Template, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return Template{}, errors.New("is empty")
	case len(data) > MaxTemplateSize:
		return Template{}, fmt.Errorf("is %d bytes: CloudFormation accepts at most %d (1 MB); split it into nested stacks", len(data), MaxTemplateSize)
	case bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data):
		return Template{}, errors.New("is not a text file (binary or not UTF-8): give a JSON or YAML template")
	}
	t := Template{Body: string(data), Size: len(data)}
	trimmed := bytes.TrimSpace(data)
	if trimmed[0] == '{' {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &doc); err != nil {
			return Template{}, fmt.Errorf("is not valid JSON: %w", templateJSONError(trimmed, err))
		}
		var params map[string]json.RawMessage
		if raw, ok := doc["Parameters"]; ok {
			if err := json.Unmarshal(raw, &params); err != nil {
				return Template{}, errors.New("has a Parameters section that is not a JSON object")
			}
		}
		for k := range params {
			t.Parameters = append(t.Parameters, k)
		}
		slices.Sort(t.Parameters)
		t.ParametersKnown = true
		return t, nil
	}
	names, known, err := yamlParameterNames(t.Body)
	if err != nil {
		return Template{}, err
	}
	slices.Sort(names)
	t.Parameters, t.ParametersKnown = slices.Compact(names), known
	return t, nil
}

// templateJSONError adds the line number to a JSON syntax error; templates
// are not secret, but the message stays short.
func templateJSONError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("line %d: %s", line, se.Error())
	}
	return err
}

// yamlParameterNames finds the keys of the top-level Parameters mapping of a
// YAML template without a YAML library. It handles comments, quoted keys,
// CRLF, document markers and flow style (Parameters: {A: {...}}). known is
// false when the section uses YAML features it does not follow (aliases,
// merge keys, tags). It fails when the text is not a YAML mapping at all.
func yamlParameterNames(body string) (names []string, known bool, err error) {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	sawKey := false
	for i := 0; i < len(lines); i++ {
		line := stripYAMLComment(lines[i])
		if strings.TrimSpace(line) == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if strings.HasPrefix(line, "---") || strings.HasPrefix(line, "...") || line[0] == '%' {
			continue
		}
		key, rest, ok := yamlKey(line)
		if !ok {
			if !sawKey {
				return nil, false, errors.New("is neither JSON nor YAML: expected a mapping with keys such as Resources:")
			}
			continue
		}
		sawKey = true
		if key != "Parameters" {
			continue
		}
		rest = strings.TrimSpace(rest)
		switch {
		case rest == "":
			names, known := yamlBlockKeys(lines[i+1:])
			return names, known, nil
		case rest[0] == '{':
			// A flow mapping may span lines: collect until the braces close.
			flow := rest
			for j := i + 1; j < len(lines) && !flowClosed(flow); j++ {
				flow += " " + stripYAMLComment(lines[j])
			}
			names, known := yamlFlowKeys(flow)
			return names, known, nil
		default:
			return nil, false, nil // alias, tag or other form we do not follow
		}
	}
	if !sawKey {
		return nil, false, errors.New("is neither JSON nor YAML: expected a mapping with keys such as Resources:")
	}
	return nil, true, nil
}

// yamlBlockKeys reads the keys of an indented block mapping: the first
// indented key fixes the indentation; the block ends at a line with none.
func yamlBlockKeys(lines []string) ([]string, bool) {
	var names []string
	indent := -1
	for _, raw := range lines {
		line := stripYAMLComment(raw)
		if strings.TrimSpace(line) == "" {
			continue
		}
		n := len(line) - len(strings.TrimLeft(line, " "))
		if n == 0 {
			break
		}
		if indent < 0 {
			indent = n
		}
		if n != indent {
			continue
		}
		key, _, ok := yamlKey(line[n:])
		if !ok || key == "<<" || strings.HasPrefix(key, "?") {
			return nil, false
		}
		names = append(names, key)
	}
	return names, true
}

// yamlKey splits "key: rest" where key is plain, 'single' or "double" quoted.
func yamlKey(line string) (key, rest string, ok bool) {
	if line == "" {
		return "", "", false
	}
	if q := line[0]; q == '"' || q == '\'' {
		end := closingQuote(line, q)
		if end < 0 {
			return "", "", false
		}
		after := strings.TrimLeft(line[end+1:], " \t")
		if !strings.HasPrefix(after, ":") {
			return "", "", false
		}
		return unquoteYAML(line[1:end], q), after[1:], true
	}
	switch line[0] {
	case '-', '[', '{', '#', '&', '*', '!', '|', '>':
		return "", "", false
	}
	for i := 0; i < len(line); i++ {
		if line[i] == ':' && (i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t') {
			return strings.TrimSpace(line[:i]), line[i+1:], true
		}
	}
	return "", "", false
}

// yamlFlowKeys returns the keys of a one-level flow mapping "{A: ..., B: ...}".
func yamlFlowKeys(flow string) ([]string, bool) {
	var names []string
	depth := 0
	var cur strings.Builder
	inKey := true
	for i := 0; i < len(flow); i++ {
		c := flow[i]
		if c == '"' || c == '\'' {
			end := closingQuote(flow[i:], c)
			if end < 0 {
				return nil, false
			}
			if depth == 1 && inKey {
				cur.WriteString(unquoteYAML(flow[i+1:i+end], c))
			}
			i += end
			continue
		}
		switch c {
		case '{', '[':
			depth++
			continue
		case '}', ']':
			depth--
			if depth == 0 {
				if k := strings.TrimSpace(cur.String()); k != "" && inKey {
					return nil, false // a key without a value
				}
				return names, true
			}
			continue
		}
		if depth != 1 {
			continue
		}
		switch {
		case c == ':' && inKey:
			k := strings.TrimSpace(cur.String())
			if k == "" || k == "<<" {
				return nil, false
			}
			names = append(names, k)
			cur.Reset()
			inKey = false
		case c == ',':
			inKey = true
			cur.Reset()
		case inKey:
			cur.WriteByte(c)
		}
	}
	return nil, false
}

func flowClosed(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', '\'':
			end := closingQuote(s[i:], s[i])
			if end < 0 {
				return false
			}
			i += end
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return true
			}
		}
	}
	return false
}

// closingQuote returns the index of the quote closing s[0], or -1. In single
// quotes a doubled quote is literal; in double quotes backslash escapes.
func closingQuote(s string, q byte) int {
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == q:
			return i
		}
	}
	return -1
}

func unquoteYAML(s string, q byte) string {
	if q == '\'' {
		return strings.ReplaceAll(s, "''", "'")
	}
	return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(s)
}

// stripYAMLComment drops a " #" comment that is not inside quotes.
func stripYAMLComment(line string) string {
	line = strings.TrimRight(line, " \t\r")
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"' || c == '\'':
			if end := closingQuote(line[i:], c); end >= 0 {
				i += end
			}
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return strings.TrimRight(line[:i], " \t")
		}
	}
	return line
}
