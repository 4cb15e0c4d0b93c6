package cfn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/yamlsafe"
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
	// ParametersKnown is false for URL templates, whose body is not read;
	// unknown-override checks are then left to CloudFormation.
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
// declare, listing the declared names. Items are named by position, never
// by key: an undeclared key may be a piece of a value (see paramnames.go).
// It does nothing when the names are unknown.
func (t Template) CheckOverrides(ps []Parameter) error {
	var unknown []int
	where := ""
	for i, p := range ps {
		if !t.Declares(p.Key) {
			unknown = append(unknown, itemIndex(ps, i))
			where = paramRef(ps, i)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	declared := "it declares none"
	if len(t.Parameters) > 0 {
		declared = "it declares: " + strings.Join(t.Parameters, ", ")
	}
	// By position: an undeclared name may be a piece of a secret value.
	what, fix := "names a parameter", "fix the name or drop the item"
	if len(unknown) > 1 {
		where, what, fix = itemRefs(unknown), "name parameters", "fix the names or drop the items"
	}
	return fmt.Errorf("%s %s the template does not declare (%s): %s; %s", where, what, declared, fix, quoteHint)
}

// LoadTemplate reads the template input: an https:// URL is checked and kept
// as a URL; anything else is a local file path that the caller has already
// resolved (the workspace rule is the caller's), read with readFile. The
// body must be text (UTF-8, no NUL), non-empty, at most 1 MB, and a JSON
// object or a YAML mapping; the declared parameter names are extracted.
// Bodies over MaxTemplateBodySize load fine: the caller checks NeedsUpload
// against the S3 bucket input.
func LoadTemplate(value string, readFile func(string) ([]byte, error)) (Template, error) {
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
	data, err := readFile(v)
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
	t.Path = v
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
	parse := yamlParameterNames
	if bytes.TrimSpace(data)[0] == '{' {
		parse = jsonParameterNames
	}
	params, err := parse(data)
	if err != nil {
		return Template{}, err
	}
	t := Template{Body: string(data), Size: len(data), ParametersKnown: true}
	for _, p := range params {
		t.Parameters = append(t.Parameters, p.name)
		if p.noEcho {
			t.NoEcho = append(t.NoEcho, p.name)
		}
	}
	slices.Sort(t.Parameters)
	slices.Sort(t.NoEcho)
	return t, nil
}

// declaredParameter is one entry of a template's Parameters section.
type declaredParameter struct {
	name string
	// noEcho is NoEcho: true (or "true"): the value must never be shown.
	noEcho bool
}

func isTrue(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }

// duplicateKey is the error for a key given twice: which one CloudFormation
// keeps is not defined, so one set of settings would be silently lost.
func duplicateKey(section, key string, first, again int) error {
	if section == "" {
		return fmt.Errorf("has two %s sections (lines %d and %d): merge them into one", key, first, again)
	}
	return fmt.Errorf("declares %s %s twice (lines %d and %d): remove one", section, key, first, again)
}

// jsonParameterNames returns the entries of the top-level Parameters
// object, refusing duplicate keys there and at the top level.
func jsonParameterNames(data []byte) ([]declaredParameter, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("is not valid JSON: %w", templateJSONError(data, err))
	}
	var names []declaredParameter
	dec := json.NewDecoder(bytes.NewReader(data))
	sections := map[string]int{}
	err := jsonKeys(dec, func(key string, end int64) error {
		line := lineAt(data, end)
		if first, dup := sections[key]; dup {
			return duplicateKey("", key, first, line)
		}
		sections[key] = line
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil || key != "Parameters" || string(raw) == "null" {
			return err
		}
		start := dec.InputOffset() - int64(len(raw))
		params := map[string]int{}
		pdec := json.NewDecoder(bytes.NewReader(raw))
		err := jsonKeys(pdec, func(name string, end int64) error {
			line := lineAt(data, start+end)
			if first, dup := params[name]; dup {
				return duplicateKey("parameter", name, first, line)
			}
			params[name] = line
			var decl struct{ NoEcho json.RawMessage }
			if err := pdec.Decode(&decl); err != nil {
				return err
			}
			names = append(names, declaredParameter{name: name, noEcho: isTrue(strings.Trim(string(decl.NoEcho), `"`))})
			return nil
		})
		if errors.Is(err, errNotObject) {
			return errors.New("has a Parameters section that is not a JSON object")
		}
		return err
	})
	return names, err
}

var errNotObject = errors.New("not a JSON object")

// jsonKeys reads the object at dec's position; value gets each key and the
// offset just after it, and must consume the key's value.
func jsonKeys(dec *json.Decoder, value func(key string, end int64) error) error {
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return errNotObject
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if err := value(key, dec.InputOffset()); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

func lineAt(data []byte, offset int64) int {
	return 1 + bytes.Count(data[:min(max(offset, 0), int64(len(data)))], []byte("\n"))
}

// templateJSONError adds the line number to a JSON syntax error; templates
// are not secret, but the message stays short.
func templateJSONError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: %s", lineAt(data, se.Offset), se.Error())
	}
	return err
}

// maxYAMLNodes bounds the nodes a YAML template may expand to through
// aliases. A 1 MB template without aliases has well under a million nodes;
// an alias bomb (billion laughs) has billions.
const maxYAMLNodes = yamlsafe.MaxNodes

// yamlParameterNames returns the entries of the top-level Parameters
// mapping, with aliases and merge keys resolved. It refuses invalid YAML, a
// document that is not a mapping, alias bombs, and duplicate keys at the
// top level and in Parameters.
func yamlParameterNames(data []byte) ([]declaredParameter, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("is not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 || yamlsafe.Deref(doc.Content[0]).Kind != yaml.MappingNode {
		return nil, errors.New("is neither JSON nor YAML: expected a mapping with keys such as Resources:")
	}
	if err := yamlsafe.Check(&doc, maxYAMLNodes); err != nil {
		var loop *yamlsafe.AliasLoopError
		if errors.As(err, &loop) {
			return nil, fmt.Errorf("has an alias *%s inside its own anchor (line %d): YAML cannot expand it", loop.Anchor.Anchor, loop.Anchor.Line)
		}
		return nil, fmt.Errorf("expands to more than %d nodes through YAML aliases (an alias bomb?): write the values out", maxYAMLNodes)
	}
	top, err := yamlEntries(yamlsafe.Deref(doc.Content[0]), "")
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(top, func(e yamlsafe.Entry) bool { return e.Key == "Parameters" })
	if i < 0 {
		return nil, nil
	}
	section := yamlsafe.Deref(top[i].Value)
	switch {
	case section.ShortTag() == "!!null":
		return nil, nil
	case section.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("has a Parameters section that is not a mapping (line %d)", section.Line)
	}
	params, err := yamlEntries(section, "parameter")
	if err != nil {
		return nil, err
	}
	var names []declaredParameter
	for _, p := range params {
		d := declaredParameter{name: p.Key}
		if v := yamlsafe.Deref(p.Value); v.Kind == yaml.MappingNode {
			// A broken declaration is CloudFormation's to report.
			fields, _ := yamlEntries(v, "property of parameter")
			for _, f := range fields {
				if fv := yamlsafe.Deref(f.Value); f.Key == "NoEcho" && fv.Kind == yaml.ScalarNode {
					d.noEcho = isTrue(fv.Value)
				}
			}
		}
		names = append(names, d)
	}
	return names, nil
}

// yamlEntries lists a mapping's entries (merge keys resolved, a key written
// twice refused), with errors in the template's words; section names the
// mapping ("" for the top level).
func yamlEntries(m *yaml.Node, section string) ([]yamlsafe.Entry, error) {
	es, err := yamlsafe.Entries(m)
	var dup *yamlsafe.DuplicateKeyError
	var key *yamlsafe.KeyError
	var merge *yamlsafe.MergeError
	switch {
	case errors.As(err, &dup):
		return nil, duplicateKey(section, dup.Key, dup.First, dup.Again.Line)
	case errors.As(err, &key):
		return nil, fmt.Errorf("has a key that is not a plain name (line %d)", key.Node.Line)
	case errors.As(err, &merge):
		return nil, fmt.Errorf("has a merge key (<<) whose value is not a mapping (line %d)", merge.Node.Line)
	}
	return es, err
}
