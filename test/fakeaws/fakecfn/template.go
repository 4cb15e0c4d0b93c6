package fakecfn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/cfnyaml"
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
	// Raw is the resource in compact JSON (YAML converted), so a change of
	// format, layout or comments is no change; two resources differ when it does.
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
	sections := yamlTop
	if strings.HasPrefix(strings.TrimSpace(body), "{") {
		sections = jsonTop
	}
	top, err := sections(body)
	if err != nil {
		return nil, err
	}
	t, err := fromSections(body, top)
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

// jsonTop returns the top-level sections of a JSON template.
func jsonTop(body string) (map[string]json.RawMessage, error) {
	if !json.Valid([]byte(body)) {
		var v any
		err := json.Unmarshal([]byte(body), &v)
		return nil, fmt.Errorf("Template format error: JSON not well-formed. (%v)", err)
	}
	_, top, err := jsonObject([]byte(body))
	if err != nil {
		return nil, fmt.Errorf("Template format error: JSON not well-formed. (%v)", err)
	}
	return top, nil
}

// fromSections reads the sections of a template in its JSON form; YAML
// templates arrive here converted.
func fromSections(body string, top map[string]json.RawMessage) (*template, error) {
	t := &template{Body: body}
	var err error
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

// ---- YAML ----

// yamlTop decodes a YAML template into its JSON form (short tags become
// intrinsic functions, keys keep their order) and returns the top level.
// A document that is not a mapping has no sections; neither has an empty
// section ("Parameters:" with nothing under it).
func yamlTop(body string) (map[string]json.RawMessage, error) {
	js, err := cfnyaml.ToJSON([]byte(body))
	if err != nil {
		var e *cfnyaml.Error
		if errors.As(err, &e) && e.Line > 0 {
			return nil, fmt.Errorf("Template format error: YAML not well-formed. (line %d, column %d)", e.Line, e.Column)
		}
		return nil, fmt.Errorf("Template format error: YAML not well-formed. (%v)", err)
	}
	_, top, err := jsonObject(js)
	if err != nil {
		return map[string]json.RawMessage{}, nil
	}
	for k, v := range top {
		if string(v) == "null" {
			delete(top, k)
		}
	}
	return top, nil
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
