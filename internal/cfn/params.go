package cfn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Parameter is one stack parameter override. Values may be secrets: they are
// never logged or put into an error, only keys are.
type Parameter struct {
	Key   string
	Value string
	// UsePrevious keeps the stack's current value (CLI JSON format
	// "UsePreviousValue": true); Value is then empty.
	UsePrevious bool
	// Item is the 1-based position of the K=V item that named the key, 0
	// for JSON. From the second item on, a key may be a piece of the
	// previous value that an unquoted comma split off (Password=ab,cd=e),
	// so messages about it name the position and never the key.
	Item int
	// After is the key of the item before Item, for those messages.
	After string
}

// hidden reports whether the key may be a piece of a value.
func (p Parameter) hidden() bool { return p.Item > 1 }

// where names the parameter in a message: its key, or its position.
func (p Parameter) where() string {
	if p.hidden() {
		return fmt.Sprintf("item %d (after %s)", p.Item, p.After)
	}
	return "parameter " + p.Key
}

// maxParamKeyLen is CloudFormation's limit for a parameter name.
const maxParamKeyLen = 255

// ErrItemWithoutEquals marks a K=V list with an item that has no '=': most
// often an unquoted list value (Subnets=a,b) split at its comma, which
// aws-cloudformation-github-deploy silently sends as a junk parameter.
var ErrItemWithoutEquals = errors.New("an item has no '='")

// ParseParameterOverrides parses the parameter-overrides input the way
// aws-cloudformation-github-deploy v2 does, refusing what it would silently
// corrupt:
//   - K=V items separated by commas or newlines. A value that starts with a
//     single or double quote runs to the same quote and may hold commas,
//     equals signs and newlines (K='a,b', K="a,b"); there are no escapes, so
//     backslashes stay as written. A quote later in a value is literal
//     (K=it's). A key given again adds to a list: Subnets=a,Subnets=b is
//     Subnets="a,b". Unquoted keys and values are trimmed.
//   - file://path, a path ending in .json, or an https:// URL naming a JSON
//     file, read with readFile (which gets the path or the URL).
//   - inline JSON.
//
// JSON may be the CLI format [{"ParameterKey":"K","ParameterValue":"V"}]
// (ResolvedValue, which describe-stacks prints, is allowed and ignored), the
// CodePipeline format {"Parameters":{"K":"V"}}, a plain {"K":"V"} object or
// ["K=V", ...]. An empty value gives no overrides. Errors never show a value.
func ParseParameterOverrides(value string, readFile func(string) ([]byte, error)) ([]Parameter, error) {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		return nil, nil
	case strings.HasPrefix(v, "file://"):
		return parseParameterFile(strings.TrimPrefix(v, "file://"), readFile)
	case hasPrefixFold(v, "https://"):
		return parseParameterFile(v, readFile)
	case hasPrefixFold(v, "http://"):
		return nil, errors.New("a parameter file URL must use https://")
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
	var ps []Parameter
	index := map[string]int{}
	for i, p := range pairs {
		after := ""
		if i > 0 {
			after = pairs[i-1].key
		}
		param := Parameter{Key: p.key, Value: p.value, Item: i + 1, After: after}
		if err := validParameterKey(param); err != nil {
			return nil, err
		}
		if j, seen := index[p.key]; seen {
			// aws-cloudformation-github-deploy joins a repeated key into
			// a list (its README's Subnets example).
			ps[j].Value += "," + p.value
			continue
		}
		index[p.key] = len(ps)
		ps = append(ps, param)
	}
	return ps, nil
}

func parseParameterFile(path string, readFile func(string) ([]byte, error)) ([]Parameter, error) {
	shown := displayRef(path)
	if path == "" {
		return nil, errors.New("file:// names no file: give a path such as file://params/prod.json")
	}
	if readFile == nil {
		return nil, fmt.Errorf("reading %s: no file reader configured", shown)
	}
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", shown, err)
	}
	ps, err := parseParameterJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", shown, err)
	}
	return ps, nil
}

// displayRef shows a parameter file path or URL without a URL's user
// information, query and fragment: a presigned URL carries a session token.
func displayRef(ref string) string {
	if !hasPrefixFold(ref, "https://") {
		return ref
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "the parameter file URL"
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = nil, "", "", "", false
	return u.String()
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
				return nil, fmt.Errorf("item %d: %w", i+1, err)
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
		for _, kv := range obj {
			v, err := scalarText(kv.raw)
			if err != nil {
				return nil, fmt.Errorf("value of %s: %w", kv.key, err)
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
	// Unknown members are refused, not dropped: a misspelt
	// "ParameterValues" would otherwise lose its value silently.
	// ResolvedValue is what describe-stacks prints for SSM parameter types;
	// files copied from its output carry it, and CloudFormation ignores it
	// on input.
	var cli struct {
		ParameterKey     *string
		ParameterValue   json.RawMessage
		UsePreviousValue bool
		ResolvedValue    json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader(item))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cli); err != nil || cli.ParameterKey == nil {
		return Parameter{}, fmt.Errorf("expected an object with ParameterKey and ParameterValue (UsePreviousValue and ResolvedValue are allowed too): %s", parameterFormats)
	}
	p := Parameter{Key: *cli.ParameterKey, UsePrevious: cli.UsePreviousValue}
	switch {
	case cli.UsePreviousValue && len(cli.ParameterValue) > 0:
		return Parameter{}, fmt.Errorf("parameter %s has both ParameterValue and UsePreviousValue: give one", p.Key)
	case cli.UsePreviousValue:
		return p, nil
	case len(cli.ParameterValue) == 0:
		return Parameter{}, fmt.Errorf("parameter %s has no ParameterValue", p.Key)
	}
	v, err := scalarText(cli.ParameterValue)
	if err != nil {
		return Parameter{}, fmt.Errorf("the ParameterValue of %s: %w", p.Key, err)
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

// checkParameterKeys refuses empty, malformed and repeated keys of JSON
// parameters: unlike a K=V list, JSON has no list form to join them into.
func checkParameterKeys(ps []Parameter) error {
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		if err := validParameterKey(p); err != nil {
			return err
		}
		if seen[p.Key] {
			return fmt.Errorf("parameter %s is given twice: give each parameter once (for a list value, join it with commas: \"a,b\")", p.Key)
		}
		seen[p.Key] = true
	}
	return nil
}

func validParameterKey(p Parameter) error {
	k := p.Key
	if k == "" {
		return errors.New("a parameter has an empty key: write Key=Value")
	}
	bad := len(k) > maxParamKeyLen
	for i := 0; i < len(k) && !bad; i++ {
		bad = !isLetter(k[i]) && !isDigit(k[i])
	}
	switch {
	case !bad:
		return nil
	case p.hidden():
		return fmt.Errorf("%s has a key that is not a parameter name (letters and digits only); the key is not shown because it may be a piece of the value of %s split off at a comma: quote that value (%s='a,b') or repeat the key for a list (%s=a,%s=b)", p.where(), p.After, p.After, p.After, p.After)
	case len(k) > maxParamKeyLen:
		return fmt.Errorf("parameter key %.20s... is longer than %d characters", k, maxParamKeyLen)
	}
	return fmt.Errorf("parameter key %q is not alphanumeric: CloudFormation parameter names use only letters and digits", k)
}

// pair is one K=V item of a list input.
type pair struct{ key, value string }

// splitPairs parses K=V items separated by commas or newlines. A value that
// starts with a single or double quote runs to the same quote and may
// contain separators; there are no escapes. Keys and unquoted values are
// trimmed; empty items are skipped. Errors never quote values.
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
		if i < n && (s[i] == '"' || s[i] == '\'') {
			q := s[i]
			end := strings.IndexByte(s[i+1:], q)
			if end < 0 {
				return nil, fmt.Errorf("the value of %s has an unbalanced %s quote: close it with %c", key, quoteName(q), q)
			}
			value = s[i+1 : i+1+end]
			i += end + 2
			for i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
				i++
			}
			if i < n && s[i] != ',' && s[i] != '\n' {
				return nil, fmt.Errorf("the value of %s has text after its closing quote: put the whole value inside the quotes", key)
			}
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

func quoteName(q byte) string {
	if q == '\'' {
		return "single"
	}
	return "double"
}

func itemWithoutEquals(index int, before []pair) error {
	if index == 0 {
		return noEquals("item 1 has no '=': write Key=Value pairs separated by commas or newlines")
	}
	prev := before[len(before)-1].key
	return noEquals(fmt.Sprintf("item %d (after %s) has no '=': if it belongs to the value of %s, quote that value (%s='a,b') or repeat the key for a list (%s=a,%s=b); the item is not shown because it may be a piece of a value", index+1, prev, prev, prev, prev, prev))
}

// noEquals is an error that is ErrItemWithoutEquals.
type noEquals string

func (e noEquals) Error() string        { return string(e) }
func (e noEquals) Is(target error) bool { return target == ErrItemWithoutEquals }

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
	seen := map[string]bool{}
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
		if seen[key] {
			return nil, fmt.Errorf("key %q is given twice", key)
		}
		seen[key] = true
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
	for _, m := range obj {
		if m.key != "Parameters" {
			return nil, fmt.Errorf("key %q is not supported next to Parameters: give tags in the tags input and drop the rest", m.key)
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
