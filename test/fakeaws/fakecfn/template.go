package fakecfn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// template is the part of a CloudFormation template the fake understands.
type template struct {
	Body        string
	Description string
	Params      []templateParam
	Resources   []templateResource
	Outputs     []templateOutput
	Transforms  []string
}

type templateParam struct {
	Name          string
	Type          string
	Default       string
	HasDefault    bool
	NoEcho        bool
	Description   string
	AllowedValues []string
}

type templateResource struct {
	ID   string
	Type string
	// Raw is the resource's source text; two resources differ when it does.
	Raw string
}

type templateOutput struct {
	Name        string
	Description string
	ExportName  string
	Value       valueExpr
}

// valueExpr is an output value: a literal or one intrinsic the fake can fake.
type valueExpr struct {
	Kind   string // literal, ref, getatt, sub, other
	Text   string // the literal, the Ref target, the GetAtt resource or the Sub string
	Attr   string // the GetAtt attribute
	Origin string // the intrinsic's name for kind other (Fn::Join, ...)
}

func (t *template) param(name string) (templateParam, bool) {
	for _, p := range t.Params {
		if p.Name == name {
			return p, true
		}
	}
	return templateParam{}, false
}

func (t *template) resource(id string) (templateResource, bool) {
	for _, r := range t.Resources {
		if r.ID == id {
			return r, true
		}
	}
	return templateResource{}, false
}

// resourceTypes lists the distinct resource types in template order.
func (t *template) resourceTypes() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range t.Resources {
		if !seen[r.Type] {
			seen[r.Type] = true
			out = append(out, r.Type)
		}
	}
	return out
}

// namedIAMProps are the properties that make an IAM resource need CAPABILITY_NAMED_IAM.
var namedIAMProps = regexp.MustCompile(`\b(RoleName|UserName|GroupName|ManagedPolicyName|InstanceProfileName)\b`)

// requiredCapabilities returns what CreateChangeSet would demand, and why.
func (t *template) requiredCapabilities() (caps []string, reason string) {
	var named, iam bool
	for _, r := range t.Resources {
		if !strings.HasPrefix(r.Type, "AWS::IAM::") {
			continue
		}
		iam = true
		if namedIAMProps.MatchString(r.Raw) {
			named = true
		}
	}
	switch {
	case named:
		caps = append(caps, "CAPABILITY_NAMED_IAM")
		reason = "The following resource(s) require capabilities: [AWS::IAM::*] with custom names"
	case iam:
		caps = append(caps, "CAPABILITY_IAM")
		reason = "The following resource(s) require capabilities: [AWS::IAM::*]"
	}
	if len(t.Transforms) > 0 {
		caps = append(caps, "CAPABILITY_AUTO_EXPAND")
	}
	return caps, reason
}

// parseTemplate reads a JSON or YAML template. Errors carry CloudFormation's wording.
func parseTemplate(body string) (*template, error) {
	var (
		t   *template
		err error
	)
	if strings.HasPrefix(strings.TrimSpace(body), "{") {
		t, err = parseJSONTemplate(body)
	} else {
		t, err = parseYAMLTemplate(body)
	}
	if err != nil {
		return nil, err
	}
	if len(t.Resources) == 0 {
		return nil, fmt.Errorf("Template format error: At least one Resources member must be defined.")
	}
	for _, r := range t.Resources {
		if r.Type == "" {
			return nil, fmt.Errorf("Template format error: [/Resources/%s] Every Resources object must contain a Type member.", r.ID)
		}
	}
	return t, nil
}

// ---- JSON ----

// jsonObject decodes an object keeping the key order, which drives event order.
func jsonObject(raw []byte) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("not an object")
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := vals[key]; !dup {
			keys = append(keys, key)
		}
		vals[key] = v
	}
	return keys, vals, nil
}

func jsonScalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

func parseJSONTemplate(body string) (*template, error) {
	if !json.Valid([]byte(body)) {
		var v any
		err := json.Unmarshal([]byte(body), &v)
		return nil, fmt.Errorf("Template format error: JSON not well-formed. (%v)", err)
	}
	_, top, err := jsonObject([]byte(body))
	if err != nil {
		return nil, fmt.Errorf("Template format error: JSON not well-formed. (%v)", err)
	}
	t := &template{Body: body}
	if d, ok := top["Description"]; ok {
		t.Description = jsonScalar(d)
	}
	if tr, ok := top["Transform"]; ok {
		var list []string
		if json.Unmarshal(tr, &list) != nil {
			list = []string{jsonScalar(tr)}
		}
		t.Transforms = list
	}
	err = jsonSection(top, "Parameters", func(k string, props map[string]json.RawMessage, _ json.RawMessage) {
		p := templateParam{Name: k, Type: jsonScalar(props["Type"])}
		if d, ok := props["Default"]; ok {
			p.Default, p.HasDefault = jsonScalar(d), true
		}
		if ne, ok := props["NoEcho"]; ok {
			p.NoEcho = strings.EqualFold(jsonScalar(ne), "true")
		}
		if d, ok := props["Description"]; ok {
			p.Description = jsonScalar(d)
		}
		if av, ok := props["AllowedValues"]; ok {
			var list []any
			if json.Unmarshal(av, &list) == nil {
				for _, v := range list {
					p.AllowedValues = append(p.AllowedValues, fmt.Sprint(v))
				}
			}
		}
		t.Params = append(t.Params, p)
	})
	if err != nil {
		return nil, err
	}
	err = jsonSection(top, "Resources", func(k string, props map[string]json.RawMessage, raw json.RawMessage) {
		var compact bytes.Buffer
		_ = json.Compact(&compact, raw)
		r := templateResource{ID: k, Raw: compact.String()}
		if ty, ok := props["Type"]; ok {
			r.Type = jsonScalar(ty)
		}
		t.Resources = append(t.Resources, r)
	})
	if err != nil {
		return nil, err
	}
	err = jsonSection(top, "Outputs", func(k string, props map[string]json.RawMessage, _ json.RawMessage) {
		o := templateOutput{Name: k, Value: jsonExpr(props["Value"])}
		if d, ok := props["Description"]; ok {
			o.Description = jsonScalar(d)
		}
		if ex, ok := props["Export"]; ok {
			if _, ev, err := jsonObject(ex); err == nil {
				if n, ok := ev["Name"]; ok {
					o.ExportName = jsonExpr(n).fallback()
				}
			}
		}
		t.Outputs = append(t.Outputs, o)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// jsonSection calls fn for each entry of a top-level section, in order.
func jsonSection(top map[string]json.RawMessage, name string, fn func(key string, props map[string]json.RawMessage, raw json.RawMessage)) error {
	raw, ok := top[name]
	if !ok {
		return nil
	}
	keys, vals, err := jsonObject(raw)
	if err != nil {
		return fmt.Errorf("Template format error: %s must be an object", name)
	}
	for _, k := range keys {
		_, props, err := jsonObject(vals[k])
		if err != nil {
			return fmt.Errorf("Template format error: [/%s/%s] must be an object", name, k)
		}
		fn(k, props, vals[k])
	}
	return nil
}

func jsonExpr(raw json.RawMessage) valueExpr {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return valueExpr{Kind: "literal"}
	}
	if raw[0] != '{' {
		return valueExpr{Kind: "literal", Text: jsonScalar(raw)}
	}
	keys, vals, err := jsonObject(raw)
	if err != nil || len(keys) != 1 {
		return valueExpr{Kind: "other"}
	}
	v := vals[keys[0]]
	switch keys[0] {
	case "Ref":
		return valueExpr{Kind: "ref", Text: jsonScalar(v)}
	case "Fn::GetAtt":
		var list []string
		if json.Unmarshal(v, &list) == nil && len(list) == 2 {
			return valueExpr{Kind: "getatt", Text: list[0], Attr: list[1]}
		}
		return getAttDotted(jsonScalar(v))
	case "Fn::Sub":
		var s string
		if json.Unmarshal(v, &s) == nil {
			return valueExpr{Kind: "sub", Text: s}
		}
		var list []json.RawMessage
		if json.Unmarshal(v, &list) == nil && len(list) > 0 {
			return valueExpr{Kind: "sub", Text: jsonScalar(list[0])}
		}
	}
	return valueExpr{Kind: "other", Origin: keys[0]}
}

func getAttDotted(s string) valueExpr {
	res, attr, _ := strings.Cut(strings.TrimSpace(s), ".")
	return valueExpr{Kind: "getatt", Text: res, Attr: attr}
}

// fallback is the expression's text when nothing resolves it (export names).
func (e valueExpr) fallback() string {
	return e.Text
}

// ---- YAML (a small extractor, not a YAML parser) ----

type yline struct {
	indent int
	text   string
	num    int
}

type yentry struct {
	key      string
	value    string
	children []yline
}

// yamlLines drops blank lines, comments and document markers.
func yamlLines(body string) ([]yline, error) {
	var out []yline
	for i, raw := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimLeft(raw, " ")
		if strings.HasPrefix(trimmed, "\t") {
			return nil, fmt.Errorf("Template format error: YAML not well-formed. (line %d, column %d)", i+1, len(raw)-len(trimmed)+1)
		}
		text := strings.TrimRight(stripComment(trimmed), " \t")
		if text == "" || text == "---" || text == "..." {
			continue
		}
		out = append(out, yline{indent: len(raw) - len(trimmed), text: text, num: i + 1})
	}
	return out, nil
}

// stripComment removes a " #" comment that is outside quotes.
func stripComment(s string) string {
	if strings.HasPrefix(s, "#") {
		return ""
	}
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'' && c == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++ // '' is an escaped quote inside '...'
		case quote == '"' && c == '\\':
			i++ // skip the escaped character
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			if i == 0 || s[i-1] == ' ' || s[i-1] == '[' || s[i-1] == '{' || s[i-1] == ',' || s[i-1] == ':' {
				quote = c
			}
		case c == '#' && i > 0 && (s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// splitKey splits "key: value" outside quotes; ok is false for non-mapping lines.
func splitKey(s string) (key, value string, ok bool) {
	if strings.HasPrefix(s, "- ") || s == "-" {
		return "", "", false
	}
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case (c == '"' || c == '\'') && i == 0:
			quote = c
		case c == ':' && (i == len(s)-1 || s[i+1] == ' '):
			return unquote(s[:i]), strings.TrimSpace(s[i+1:]), true
		}
	}
	return "", "", false
}

// yamlEntries groups a block's lines into the mappings at its first indent.
func yamlEntries(lines []yline) []yentry {
	if len(lines) == 0 {
		return nil
	}
	base := lines[0].indent
	var out []yentry
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l.indent != base {
			continue
		}
		j := i + 1
		for j < len(lines) && lines[j].indent > base {
			j++
		}
		if k, v, ok := splitKey(l.text); ok {
			out = append(out, yentry{key: k, value: v, children: lines[i+1 : j]})
		}
		i = j - 1
	}
	return out
}

// yamlList reads a flow list "[a, b]" or block list children "- a".
func yamlList(value string, children []yline) []string {
	if strings.HasPrefix(value, "[") {
		return flowItems(strings.TrimSuffix(strings.TrimPrefix(value, "["), "]"))
	}
	var out []string
	for _, c := range children {
		if c.indent == children[0].indent && strings.HasPrefix(c.text, "-") {
			out = append(out, unquote(strings.TrimSpace(strings.TrimPrefix(c.text, "-"))))
		}
	}
	return out
}

// flowItems splits "a, 'b, c', d" at top-level commas.
func flowItems(s string) []string {
	var out []string
	var quote byte
	depth, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) {
			if item := strings.TrimSpace(s[start:]); item != "" {
				out = append(out, unquote(item))
			}
			break
		}
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, unquote(strings.TrimSpace(s[start:i])))
			start = i + 1
		}
	}
	return out
}

// flowMap reads "{Type: String, Default: x}" as entries.
func flowMap(value string) []yentry {
	var out []yentry
	for _, item := range flowItems(strings.TrimSuffix(strings.TrimPrefix(value, "{"), "}")) {
		if k, v, ok := splitKey(item); ok {
			out = append(out, yentry{key: k, value: v})
		} else if k, v, ok := strings.Cut(item, ":"); ok {
			out = append(out, yentry{key: unquote(strings.TrimSpace(k)), value: strings.TrimSpace(v)})
		}
	}
	return out
}

// props returns an entry's properties, whether block or flow style.
func (e yentry) props() []yentry {
	if strings.HasPrefix(e.value, "{") {
		return flowMap(e.value)
	}
	return yamlEntries(e.children)
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
		return s[1 : len(s)-1]
	}
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	}
	return s
}

// isBlockScalar reports a "|" or ">" value whose text sits in the children.
func isBlockScalar(v string) bool {
	return v != "" && (v[0] == '|' || v[0] == '>')
}

func blockText(children []yline) string {
	var parts []string
	for _, c := range children {
		parts = append(parts, c.text)
	}
	return strings.Join(parts, "\n")
}

func yamlScalar(value string, children []yline) string {
	if isBlockScalar(value) {
		return blockText(children)
	}
	return unquote(value)
}

func parseYAMLTemplate(body string) (*template, error) {
	lines, err := yamlLines(body)
	if err != nil {
		return nil, err
	}
	if len(lines) > 0 && lines[0].indent != 0 {
		return nil, fmt.Errorf("Template format error: YAML not well-formed. (line %d, column %d)", lines[0].num, lines[0].indent+1)
	}
	t := &template{Body: body}
	for _, sec := range yamlEntries(lines) {
		switch sec.key {
		case "Description":
			t.Description = yamlScalar(sec.value, sec.children)
		case "Transform":
			if sec.value != "" && !strings.HasPrefix(sec.value, "[") {
				t.Transforms = []string{unquote(sec.value)}
			} else {
				t.Transforms = yamlList(sec.value, sec.children)
			}
		case "Parameters":
			for _, e := range sectionEntries(sec) {
				p := templateParam{Name: e.key}
				for _, pr := range e.props() {
					switch pr.key {
					case "Type":
						p.Type = unquote(pr.value)
					case "Default":
						p.Default, p.HasDefault = yamlScalar(pr.value, pr.children), true
					case "NoEcho":
						p.NoEcho = strings.EqualFold(unquote(pr.value), "true")
					case "Description":
						p.Description = yamlScalar(pr.value, pr.children)
					case "AllowedValues":
						p.AllowedValues = yamlList(pr.value, pr.children)
					}
				}
				t.Params = append(t.Params, p)
			}
		case "Resources":
			for _, e := range sectionEntries(sec) {
				r := templateResource{ID: e.key, Raw: e.value + "\n" + rawLines(e.children)}
				for _, pr := range e.props() {
					if pr.key == "Type" {
						r.Type = unquote(pr.value)
					}
				}
				t.Resources = append(t.Resources, r)
			}
		case "Outputs":
			for _, e := range sectionEntries(sec) {
				o := templateOutput{Name: e.key, Value: valueExpr{Kind: "literal"}}
				for _, pr := range e.props() {
					switch pr.key {
					case "Value":
						o.Value = yamlExpr(pr.value, pr.children)
					case "Description":
						o.Description = yamlScalar(pr.value, pr.children)
					case "Export":
						for _, ex := range pr.props() {
							if ex.key == "Name" {
								o.ExportName = yamlExpr(ex.value, ex.children).fallback()
							}
						}
					}
				}
				t.Outputs = append(t.Outputs, o)
			}
		}
	}
	return t, nil
}

// sectionEntries lists a top-level section's named entries ("Parameters: {}" has none).
func sectionEntries(sec yentry) []yentry {
	if strings.HasPrefix(sec.value, "{") {
		return flowMap(sec.value)
	}
	return yamlEntries(sec.children)
}

func rawLines(lines []yline) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat(" ", l.indent), l.text)
	}
	return b.String()
}

// yamlExpr reads an output value: a scalar, a short-form tag, or a nested long form.
func yamlExpr(value string, children []yline) valueExpr {
	if value == "" && len(children) > 0 {
		entries := yamlEntries(children)
		if len(entries) == 1 {
			return longFormExpr(entries[0])
		}
		if len(entries) == 0 {
			return yamlExpr(children[0].text, children[1:])
		}
		return valueExpr{Kind: "other"}
	}
	if isBlockScalar(value) {
		return valueExpr{Kind: "literal", Text: blockText(children)}
	}
	if strings.HasPrefix(value, "{") {
		if entries := flowMap(value); len(entries) == 1 {
			return longFormExpr(entries[0])
		}
		return valueExpr{Kind: "other"}
	}
	if strings.HasPrefix(value, "!") {
		tag, rest, _ := strings.Cut(value, " ")
		rest = strings.TrimSpace(rest)
		switch tag {
		case "!Ref":
			return valueExpr{Kind: "ref", Text: unquote(rest)}
		case "!GetAtt":
			if strings.HasPrefix(rest, "[") {
				if items := yamlList(rest, nil); len(items) == 2 {
					return valueExpr{Kind: "getatt", Text: items[0], Attr: items[1]}
				}
			}
			return getAttDotted(unquote(rest))
		case "!Sub":
			if rest == "" && len(children) > 0 {
				return valueExpr{Kind: "sub", Text: unquote(strings.TrimSpace(strings.TrimPrefix(children[0].text, "-")))}
			}
			if strings.HasPrefix(rest, "[") {
				if items := flowItems(strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]")); len(items) > 0 {
					return valueExpr{Kind: "sub", Text: items[0]}
				}
			}
			return valueExpr{Kind: "sub", Text: yamlScalar(rest, children)}
		}
		return valueExpr{Kind: "other", Origin: "Fn::" + strings.TrimPrefix(tag, "!")}
	}
	return valueExpr{Kind: "literal", Text: unquote(value)}
}

func longFormExpr(e yentry) valueExpr {
	switch e.key {
	case "Ref":
		return valueExpr{Kind: "ref", Text: unquote(e.value)}
	case "Fn::GetAtt":
		if items := yamlList(e.value, e.children); len(items) == 2 && (e.value == "" || strings.HasPrefix(e.value, "[")) {
			return valueExpr{Kind: "getatt", Text: items[0], Attr: items[1]}
		}
		return getAttDotted(unquote(e.value))
	case "Fn::Sub":
		if e.value == "" && len(e.children) > 0 {
			return valueExpr{Kind: "sub", Text: unquote(strings.TrimSpace(strings.TrimPrefix(e.children[0].text, "-")))}
		}
		return valueExpr{Kind: "sub", Text: yamlScalar(e.value, e.children)}
	}
	return valueExpr{Kind: "other", Origin: e.key}
}

// ---- resolving output values ----

// resolveCtx is what an output value may refer to.
type resolveCtx struct {
	params    map[string]string
	physical  map[string]string
	types     map[string]string
	stackName string
	stackID   string
	region    string
	account   string
}

func (c resolveCtx) ref(name string) string {
	switch name {
	case "AWS::Region":
		return c.region
	case "AWS::AccountId":
		return c.account
	case "AWS::StackName":
		return c.stackName
	case "AWS::StackId":
		return c.stackID
	case "AWS::Partition":
		return "aws"
	case "AWS::URLSuffix":
		return "amazonaws.com"
	case "AWS::NoValue":
		return ""
	}
	if v, ok := c.params[name]; ok {
		return v
	}
	if v, ok := c.physical[name]; ok {
		return v
	}
	return "fake-ref-" + name
}

func (c resolveCtx) getAtt(res, attr string) string {
	phys := c.ref(res)
	if attr == "Arn" {
		svc := "fake"
		if parts := strings.Split(c.types[res], "::"); len(parts) == 3 {
			svc = strings.ToLower(parts[1])
		}
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", svc, c.region, c.account, phys)
	}
	return phys + "." + attr
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (c resolveCtx) sub(s string) string {
	return subVar.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			return c.getAtt(res, attr)
		}
		return c.ref(name)
	})
}

func (c resolveCtx) resolve(e valueExpr, outputName string) string {
	switch e.Kind {
	case "literal":
		return e.Text
	case "ref":
		return c.ref(e.Text)
	case "getatt":
		return c.getAtt(e.Text, e.Attr)
	case "sub":
		return c.sub(e.Text)
	}
	return fmt.Sprintf("fake-%s-value", outputName)
}

// paramRefs reports which of names a resource's source mentions as a whole word.
func paramRefs(raw string, names []string) []string {
	var out []string
	for _, n := range names {
		if regexp.MustCompile(`\b` + regexp.QuoteMeta(n) + `\b`).MatchString(raw) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
