package cfn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Parameter is one stack parameter override. Values may be secrets: they are
// never logged or put into an error. Keys may be pieces of a secret split at
// a separator, so errors name items by position, and keys are printed only
// where paramNames allows (see paramnames.go).
type Parameter struct {
	Key   string
	Value string
	// UsePrevious keeps the stack's current value (CLI JSON format
	// "UsePreviousValue": true); Value is then empty.
	UsePrevious bool
}

// maxParamKeyLen is CloudFormation's limit for a parameter name.
const maxParamKeyLen = 255

// ParseParameterOverrides parses the parameter-overrides input:
//   - K=V pairs separated by commas or newlines; a value in double quotes may
//     contain commas, equals signs and newlines, with \" and \\ escapes
//     (K="a,b");
//   - file://path, or a path ending in .json, naming a JSON file read with
//     readFile;
//   - inline JSON.
//
// JSON may be the CLI format [{"ParameterKey":"K","ParameterValue":"V"}], the
// CodePipeline format {"Parameters":{"K":"V"}}, a plain {"K":"V"} object or
// ["K=V", ...]. An empty value gives no overrides.
func ParseParameterOverrides(value string, readFile func(string) ([]byte, error)) ([]Parameter, error) {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		return nil, nil
	case strings.HasPrefix(v, "file://"):
		return parseParameterFile(strings.TrimPrefix(v, "file://"), readFile)
	case strings.HasSuffix(strings.ToLower(v), ".json") && !strings.ContainsAny(v, "=\n,"):
		return parseParameterFile(v, readFile)
	case v[0] == '[' || v[0] == '{':
		ps, err := parseParameterJSON([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("parsing inline JSON: %w", err)
		}
		return ps, nil
	}
	pairs, err := splitPairs(v)
	if err != nil {
		return nil, err
	}
	ps := make([]Parameter, 0, len(pairs))
	for _, p := range pairs {
		ps = append(ps, Parameter{Key: p.key, Value: p.value})
	}
	return ps, checkParameterKeys(ps)
}

func parseParameterFile(path string, readFile func(string) ([]byte, error)) ([]Parameter, error) {
	if path == "" {
		return nil, errors.New("file:// names no file: give a path such as file://params/prod.json")
	}
	if readFile == nil {
		return nil, fmt.Errorf("reading %s: no file reader configured", path)
	}
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w (paths are relative to the workspace; check out the repository first)", path, err)
	}
	ps, err := parseParameterJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return ps, nil
}

// parameterFormats is the hint printed when JSON has an unexpected shape.
const parameterFormats = `use [{"ParameterKey":"K","ParameterValue":"V"}], {"Parameters":{"K":"V"}}, {"K":"V"} or ["K=V"]`

func parseParameterJSON(data []byte) ([]Parameter, error) {
	data = bytes.TrimPrefix(bytes.TrimSpace(data), utf8BOM)
	if len(data) == 0 {
		return nil, fmt.Errorf("it is empty: %s", parameterFormats)
	}
	var ps []Parameter
	switch data[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, jsonError(err)
		}
		for i, item := range items {
			p, err := parseParameterItem(item)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", itemRef(i), err)
			}
			ps = append(ps, p)
		}
	case '{':
		obj, err := orderedObject(data)
		if err != nil {
			return nil, err
		}
		if obj, err = codePipelineParameters(obj); err != nil {
			return nil, err
		}
		for i, kv := range obj {
			v, err := scalarText(kv.raw)
			if err != nil {
				return nil, fmt.Errorf("%s: the value %w", itemRef(i), err)
			}
			ps = append(ps, Parameter{Key: kv.key, Value: v})
		}
	default:
		return nil, fmt.Errorf("it is not a JSON array or object: %s", parameterFormats)
	}
	return ps, checkParameterKeys(ps)
}

func parseParameterItem(item json.RawMessage) (Parameter, error) {
	var s string
	if json.Unmarshal(item, &s) == nil {
		pairs, err := splitPairs(s)
		if err != nil {
			return Parameter{}, err
		}
		if len(pairs) != 1 {
			return Parameter{}, fmt.Errorf(`a string item must hold exactly one K=V pair: %s`, parameterFormats)
		}
		return Parameter{Key: pairs[0].key, Value: pairs[0].value}, nil
	}
	var cli struct {
		ParameterKey     *string
		ParameterValue   json.RawMessage
		UsePreviousValue bool
	}
	dec := json.NewDecoder(bytes.NewReader(item))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cli); err != nil || cli.ParameterKey == nil {
		return Parameter{}, fmt.Errorf("expected an object with ParameterKey and ParameterValue: %s", parameterFormats)
	}
	p := Parameter{Key: *cli.ParameterKey, UsePrevious: cli.UsePreviousValue}
	switch {
	case cli.UsePreviousValue && len(cli.ParameterValue) > 0:
		return Parameter{}, errors.New("it has both ParameterValue and UsePreviousValue: give one")
	case cli.UsePreviousValue:
		return p, nil
	case len(cli.ParameterValue) == 0:
		return Parameter{}, errors.New("it has no ParameterValue")
	}
	v, err := scalarText(cli.ParameterValue)
	if err != nil {
		return Parameter{}, fmt.Errorf("its ParameterValue %w", err)
	}
	p.Value = v
	return p, nil
}

// scalarText accepts a JSON string, number or boolean, because numbers
// ("Port": 80) are a common way to write parameter values.
func scalarText(raw json.RawMessage) (string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", jsonError(err)
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return fmt.Sprint(v), nil
	}
	return "", errors.New(`must be a string, number or boolean (join list values with commas: "a,b")`)
}

// quoteHint is the fix for items that may be pieces of a split value.
const quoteHint = `if it is part of the value before it, quote that value (Key="a,b", with \" for a quote inside) or give the parameters as JSON`

// checkParameterKeys refuses empty, malformed and repeated keys, naming
// items by position only.
func checkParameterKeys(ps []Parameter) error {
	seen := make(map[string]int, len(ps))
	for i, p := range ps {
		if err := validParameterKey(p.Key); err != nil {
			return fmt.Errorf("%s: %w", itemRef(i), err)
		}
		if j, ok := seen[p.Key]; ok {
			return fmt.Errorf("%s name the same parameter: give each parameter once (for a list value, quote it: Key=\"a,b\")", itemRefs([]int{j, i}))
		}
		seen[p.Key] = i
	}
	return nil
}

func validParameterKey(k string) error {
	if k == "" {
		return errors.New("the parameter name is empty: write Key=Value")
	}
	if len(k) > maxParamKeyLen {
		return fmt.Errorf("the parameter name is longer than %d characters; %s", maxParamKeyLen, quoteHint)
	}
	for i := 0; i < len(k); i++ {
		if !isLetter(k[i]) && !isDigit(k[i]) {
			return fmt.Errorf("the parameter name is not alphanumeric: CloudFormation parameter names use only letters and digits; %s", quoteHint)
		}
	}
	return nil
}

// pair is one K=V item of a list input.
type pair struct{ key, value string }

// splitPairs parses K=V items separated by commas or newlines. A value that
// starts with a double quote runs to the closing quote and may contain
// separators; \" and \\ are its only escapes. Keys and unquoted values are
// trimmed; empty items are skipped. Errors name items by position and never
// quote keys or values: either may be a piece of a secret.
func splitPairs(s string) ([]pair, error) {
	var out []pair
	i, n := 0, len(s)
	for i < n {
		// One item: key up to '='.
		start := i
		for i < n && s[i] != '=' && s[i] != ',' && s[i] != '\n' {
			i++
		}
		key := strings.TrimSpace(s[start:i])
		if i == n || s[i] != '=' {
			if key != "" {
				return nil, itemWithoutEquals(len(out), out)
			}
			i++ // empty item
			continue
		}
		if key == "" {
			return nil, fmt.Errorf("item %d has an empty key: write Key=Value", len(out)+1)
		}
		i++ // '='
		for i < n && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var value string
		if i < n && s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < n {
				c := s[i]
				if c == '\\' && i+1 < n && (s[i+1] == '"' || s[i+1] == '\\') {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '"' {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("%s: its value has an unbalanced double quote: close it with \" (write \\\" for a quote inside the value)", itemRef(len(out)))
			}
			for i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
				i++
			}
			if i < n && s[i] != ',' && s[i] != '\n' {
				return nil, fmt.Errorf("%s: its value has text after its closing quote: put the whole value inside the quotes (write \\\" for a quote inside the value)", itemRef(len(out)))
			}
			value = b.String()
		} else {
			vs := i
			for i < n && s[i] != ',' && s[i] != '\n' {
				i++
			}
			value = strings.TrimSpace(s[vs:i])
		}
		out = append(out, pair{key: key, value: value})
		i++ // separator
	}
	return out, nil
}

func itemWithoutEquals(index int, _ []pair) error {
	if index == 0 {
		return errors.New("item 1 has no '=': write Key=Value pairs separated by commas or newlines")
	}
	return fmt.Errorf("%s has no '=': write Key=Value; %s", itemRef(index), quoteHint)
}

// kv is one member of a JSON object, in document order.
type kv struct {
	key string
	raw json.RawMessage
}

// orderedObject decodes a JSON object keeping member order and refusing
// duplicate keys, which encoding/json would silently merge.
func orderedObject(data []byte) ([]kv, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("expected a JSON object")
	}
	var out []kv
	seen := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonError(err)
		}
		if j, ok := seen[key]; ok {
			return nil, fmt.Errorf("%s have the same key: give each key once", itemRefs([]int{j, len(out)}))
		}
		seen[key] = len(out)
		out = append(out, kv{key: key, raw: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("invalid JSON: text after the closing brace")
	}
	return out, nil
}

// codePipelineParameters unwraps a CodePipeline template configuration
// {"Parameters":{...}}; any other object is taken as plain {"K":"V"}.
func codePipelineParameters(obj []kv) ([]kv, error) {
	var params json.RawMessage
	for _, m := range obj {
		if m.key == "Parameters" && isJSONObject(m.raw) {
			params = m.raw
		}
	}
	if params == nil {
		return obj, nil
	}
	for i, m := range obj {
		switch m.key {
		case "Parameters":
		case "Tags", "StackPolicy":
			return nil, fmt.Errorf("key %s is not supported next to Parameters: give tags in the tags input and drop the rest", m.key)
		default:
			return nil, fmt.Errorf("%s: only Parameters is supported in a CodePipeline template configuration: give tags in the tags input and drop the rest", itemRef(i))
		}
	}
	inner, err := orderedObject(params)
	if err != nil {
		return nil, fmt.Errorf("in Parameters: %w", err)
	}
	return inner, nil
}

func isJSONObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

// jsonError keeps the decoder's position but never the offending text, which
// may be a secret value.
func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("invalid JSON: unexpected %s at byte %d: %s", te.Value, te.Offset, parameterFormats)
	}
	return fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}
