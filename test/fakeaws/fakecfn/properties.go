package fakecfn

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// resourceDoc is what property-level change sets need of one resource: its
// Properties (intrinsics still unresolved) and its policies.
type resourceDoc struct {
	Properties          map[string]any
	DeletionPolicy      string
	UpdateReplacePolicy string
}

// resourceDocs reads every resource's Properties from a JSON or YAML template
// body. YAML is a superset of JSON, so one parser reads both; CloudFormation's
// short-form tags (!Ref, !Sub, ...) become their long form.
func resourceDocs(body string) (map[string]resourceDoc, error) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(body), &root); err != nil {
		return nil, fmt.Errorf("reading template properties: %w", err)
	}
	doc, ok := longForm(&root).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("reading template properties: the template is not a mapping")
	}
	out := map[string]resourceDoc{}
	resources, _ := doc["Resources"].(map[string]any)
	for id, r := range resources {
		m, _ := r.(map[string]any)
		props, _ := m["Properties"].(map[string]any)
		d, _ := m["DeletionPolicy"].(string)
		u, _ := m["UpdateReplacePolicy"].(string)
		out[id] = resourceDoc{Properties: props, DeletionPolicy: d, UpdateReplacePolicy: u}
	}
	return out, nil
}

// longForm turns a YAML node into plain Go values with short-form intrinsic
// tags rewritten as {"Ref": ...} or {"Fn::Name": ...}.
func longForm(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return longForm(n.Content[0])
	case yaml.AliasNode:
		return longForm(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = longForm(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			l = append(l, longForm(c))
		}
		v = l
	default:
		// Scalars stay strings, as CloudFormation passes them to resources.
		v = n.Value
	}
	tag := n.Tag
	if !strings.HasPrefix(tag, "!") || strings.HasPrefix(tag, "!!") {
		return v
	}
	name := strings.TrimPrefix(tag, "!")
	if name == "Ref" || name == "Condition" {
		return map[string]any{name: v}
	}
	if name == "GetAtt" {
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
	}
	return map[string]any{"Fn::" + name: v}
}

// resolveValue evaluates the intrinsics the fake can evaluate; others stay.
func (c resolveCtx) resolveValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if s, ok := c.intrinsic(k, arg); ok {
					return s
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = c.resolveValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.resolveValue(e)
		}
		return out
	}
	return v
}

func (c resolveCtx) intrinsic(name string, arg any) (string, bool) {
	switch name {
	case "Ref":
		s, ok := arg.(string)
		return c.ref(s), ok
	case "Fn::GetAtt":
		if l, ok := arg.([]any); ok && len(l) == 2 {
			res, _ := l[0].(string)
			attr, _ := l[1].(string)
			return c.getAtt(res, attr), true
		}
	case "Fn::Sub":
		switch a := arg.(type) {
		case string:
			return c.sub(a), true
		case []any:
			if len(a) > 0 {
				if s, ok := a[0].(string); ok {
					return c.sub(s), true
				}
			}
		}
	case "Fn::Join":
		if l, ok := arg.([]any); ok && len(l) == 2 {
			sep, _ := l[0].(string)
			items, _ := l[1].([]any)
			var parts []string
			for _, it := range items {
				parts = append(parts, scalarString(c.resolveValue(it)))
			}
			return strings.Join(parts, sep), true
		}
	}
	return "", false
}

// scalarString renders a property value as DescribeChangeSet does: strings
// as they are, anything else as JSON.
func scalarString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// replacingProperties are properties whose change makes CloudFormation
// replace the resource (RequiresRecreation Always), for the types tests use.
var replacingProperties = map[string][]string{
	"AWS::S3::Bucket":            {"BucketName", "ObjectLockEnabled"},
	"AWS::SQS::Queue":            {"QueueName", "FifoQueue"},
	"AWS::SNS::Topic":            {"TopicName", "FifoTopic"},
	"AWS::DynamoDB::Table":       {"TableName", "KeySchema"},
	"AWS::Lambda::Function":      {"FunctionName", "PackageType"},
	"AWS::IAM::Role":             {"RoleName", "Path"},
	"AWS::Logs::LogGroup":        {"LogGroupName", "LogGroupClass"},
	"AWS::SSM::Parameter":        {"Name"},
	"AWS::ECR::Repository":       {"RepositoryName"},
	"AWS::KMS::Alias":            {"AliasName"},
	"AWS::EC2::SecurityGroup":    {"GroupName", "GroupDescription", "VpcId"},
	"AWS::CloudFormation::Stack": nil,
}

func requiresRecreation(resourceType, property string) string {
	if slices.Contains(replacingProperties[resourceType], property) {
		return "Always"
	}
	return "Never"
}

// propertyChange is one changed top-level property and its changed leaves.
type propertyChange struct {
	Name               string
	RequiresRecreation string
	ChangeSource       string // DirectModification or ParameterReference
	CausingEntity      string // the parameter, for ParameterReference
	Leaves             []leafChange
}

// leafChange is one changed value, addressed by a JSON pointer.
type leafChange struct {
	Path                    string
	ChangeType              string // Add, Remove or Modify
	BeforeValue, AfterValue string
}

// diffProperties compares a resource's resolved properties. oldRaw and
// newRaw are the unresolved ones, to tell parameter-driven changes apart.
func diffProperties(resourceType string, oldRaw, newRaw map[string]any, oldCtx, newCtx resolveCtx, changedParams []string) []propertyChange {
	names := map[string]bool{}
	for k := range oldRaw {
		names[k] = true
	}
	for k := range newRaw {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []propertyChange
	for _, name := range sorted {
		ov, oOK := oldRaw[name]
		nv, nOK := newRaw[name]
		var before, after any
		if oOK {
			before = oldCtx.resolveValue(ov)
		}
		if nOK {
			after = newCtx.resolveValue(nv)
		}
		if oOK == nOK && reflect.DeepEqual(before, after) {
			continue
		}
		pc := propertyChange{Name: name, RequiresRecreation: requiresRecreation(resourceType, name), ChangeSource: "DirectModification"}
		if ref, ok := nv.(map[string]any); ok && reflect.DeepEqual(ov, nv) {
			if p, _ := ref["Ref"].(string); slices.Contains(changedParams, p) {
				pc.ChangeSource, pc.CausingEntity = "ParameterReference", p
			}
		}
		diffLeaves("/Properties/"+escapePointer(name), before, after, oOK, nOK, &pc.Leaves)
		out = append(out, pc)
	}
	return out
}

// diffLeaves appends the changed leaves below path.
func diffLeaves(path string, before, after any, hadBefore, hasAfter bool, out *[]leafChange) {
	switch {
	case !hadBefore && !hasAfter:
		return
	case !hadBefore:
		*out = append(*out, leafChange{Path: path, ChangeType: "Add", AfterValue: scalarString(after)})
		return
	case !hasAfter:
		*out = append(*out, leafChange{Path: path, ChangeType: "Remove", BeforeValue: scalarString(before)})
		return
	}
	bm, bIsMap := before.(map[string]any)
	am, aIsMap := after.(map[string]any)
	if bIsMap && aIsMap {
		keys := map[string]bool{}
		for k := range bm {
			keys[k] = true
		}
		for k := range am {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			bv, bok := bm[k]
			av, aok := am[k]
			if bok && aok && reflect.DeepEqual(bv, av) {
				continue
			}
			diffLeaves(path+"/"+escapePointer(k), bv, av, bok, aok, out)
		}
		return
	}
	bl, bIsList := before.([]any)
	al, aIsList := after.([]any)
	if bIsList && aIsList {
		for i := range max(len(bl), len(al)) {
			var bv, av any
			if i < len(bl) {
				bv = bl[i]
			}
			if i < len(al) {
				av = al[i]
			}
			if i < len(bl) && i < len(al) && reflect.DeepEqual(bv, av) {
				continue
			}
			diffLeaves(fmt.Sprintf("%s/%d", path, i), bv, av, i < len(bl), i < len(al), out)
		}
		return
	}
	if !reflect.DeepEqual(before, after) {
		*out = append(*out, leafChange{Path: path, ChangeType: "Modify", BeforeValue: scalarString(before), AfterValue: scalarString(after)})
	}
}

// escapePointer escapes a JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// contextJSON is a ResourceChange's BeforeContext or AfterContext.
func contextJSON(props map[string]any) string {
	if props == nil {
		props = map[string]any{}
	}
	b, _ := json.Marshal(map[string]any{"Properties": props})
	return string(b)
}
