package iampolicy

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Pseudo are the pseudo parameters a resolved template is deployed with.
type Pseudo struct {
	Partition, Region, AccountID string
}

// noValue marks AWS::NoValue until its parent drops it.
type noValue struct{}

// Resolve evaluates a decoded template for one set of parameter values, as
// CloudFormation would when deploying it: conditions, Fn::If, Fn::Sub, Ref,
// Fn::GetAtt, Fn::Join, and AWS::NoValue dropped; resources whose condition
// is false are left out. Resources resolve to made-up physical ids: a role
// or user named LogicalID in the account, an OIDC provider for GitHub.
// It knows the functions iam/bootstrap.yaml uses and refuses others.
func Resolve(tpl map[string]any, params map[string]string, ps Pseudo) (map[string]any, error) {
	r := &resolver{tpl: tpl, ps: ps, params: map[string]any{}, conds: map[string]bool{}}
	for name, p := range asMap(tpl["Parameters"]) {
		v, given := params[name]
		def, hasDef := asMap(p)["Default"]
		switch {
		case given:
		case hasDef:
			v = fmt.Sprint(def)
		default:
			return nil, fmt.Errorf("parameter %s needs a value", name)
		}
		if asMap(p)["Type"] == "CommaDelimitedList" {
			var list []any
			for _, s := range strings.Split(v, ",") {
				list = append(list, strings.TrimSpace(s))
			}
			r.params[name] = list
		} else {
			r.params[name] = v
		}
	}
	for name := range params {
		if _, ok := r.params[name]; !ok {
			return nil, fmt.Errorf("the template has no parameter %s", name)
		}
	}
	names := make([]string, 0)
	for name := range asMap(tpl["Conditions"]) {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := r.condition(name, 0); err != nil {
			return nil, err
		}
	}
	out := map[string]any{}
	resources := map[string]any{}
	for id, res := range asMap(tpl["Resources"]) {
		m := asMap(res)
		if c, ok := m["Condition"].(string); ok {
			on, err := r.condition(c, 0)
			if err != nil {
				return nil, err
			}
			if !on {
				continue
			}
		}
		v, err := r.value(m)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		resources[id] = v
	}
	out["Resources"] = resources
	return out, nil
}

type resolver struct {
	tpl    map[string]any
	ps     Pseudo
	params map[string]any
	conds  map[string]bool
}

func (r *resolver) condition(name string, depth int) (bool, error) {
	if v, ok := r.conds[name]; ok {
		return v, nil
	}
	def, ok := asMap(r.tpl["Conditions"])[name]
	if !ok || depth > 20 {
		return false, fmt.Errorf("unknown or cyclic condition %s", name)
	}
	v, err := r.boolean(def, depth+1)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	r.conds[name] = v
	return v, nil
}

func (r *resolver) boolean(v any, depth int) (bool, error) {
	m := asMap(v)
	if len(m) != 1 {
		return false, fmt.Errorf("not a condition function: %v", v)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			return r.condition(fmt.Sprint(arg), depth)
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals needs 2 arguments")
			}
			a, err := r.value(args[0])
			if err != nil {
				return false, err
			}
			b, err := r.value(args[1])
			if err != nil {
				return false, err
			}
			return fmt.Sprint(a) == fmt.Sprint(b), nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not needs 1 argument")
			}
			b, err := r.boolean(args[0], depth)
			return !b, err
		case "Fn::And", "Fn::Or":
			and := fn == "Fn::And"
			for _, a := range args {
				b, err := r.boolean(a, depth)
				if err != nil {
					return false, err
				}
				if b != and {
					return !and, nil
				}
			}
			return and, nil
		}
		return false, fmt.Errorf("unsupported condition function %s", fn)
	}
	return false, nil
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

// value resolves v; a result of noValue means "leave this out".
func (r *resolver) value(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		var out []any
		for _, e := range x {
			rv, err := r.value(e)
			if err != nil {
				return nil, err
			}
			if _, drop := rv.(noValue); !drop {
				out = append(out, rv)
			}
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				if strings.HasPrefix(fn, "Fn::") || fn == "Ref" {
					return r.function(fn, arg)
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			rv, err := r.value(e)
			if err != nil {
				return nil, err
			}
			if _, drop := rv.(noValue); !drop {
				out[k] = rv
			}
		}
		return out, nil
	}
	return v, nil
}

func (r *resolver) function(fn string, arg any) (any, error) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		return r.ref(fmt.Sprint(arg))
	case "Fn::GetAtt":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt needs [resource, attribute]")
		}
		return r.getAtt(fmt.Sprint(args[0]), fmt.Sprint(args[1]))
	case "Fn::If":
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::If needs 3 arguments")
		}
		on, err := r.condition(fmt.Sprint(args[0]), 0)
		if err != nil {
			return nil, err
		}
		if on {
			return r.value(args[1])
		}
		return r.value(args[2])
	case "Fn::Sub":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("only the one-string form of Fn::Sub is supported")
		}
		var err error
		out := subVar.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-1]
			var v any
			if res, attr, ok := strings.Cut(name, "."); ok {
				v, err = r.getAtt(res, attr)
			} else {
				v, err = r.ref(name)
			}
			return fmt.Sprint(v)
		})
		return out, err
	case "Fn::Join":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Join needs [separator, list]")
		}
		list, err := r.value(args[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, e := range list.([]any) {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, fmt.Sprint(args[0])), nil
	}
	return nil, fmt.Errorf("unsupported function %s", fn)
}

func (r *resolver) ref(name string) (any, error) {
	switch name {
	case "AWS::NoValue":
		return noValue{}, nil
	case "AWS::Partition":
		return r.ps.Partition, nil
	case "AWS::Region":
		return r.ps.Region, nil
	case "AWS::AccountId":
		return r.ps.AccountID, nil
	}
	if v, ok := r.params[name]; ok {
		return v, nil
	}
	res, ok := asMap(r.tpl["Resources"])[name]
	if !ok {
		return nil, fmt.Errorf("Ref to unknown %s", name)
	}
	switch asMap(res)["Type"] {
	case "AWS::IAM::OIDCProvider":
		return fmt.Sprintf("arn:%s:iam::%s:oidc-provider/token.actions.githubusercontent.com", r.ps.Partition, r.ps.AccountID), nil
	}
	return name, nil // roles and users: their name
}

func (r *resolver) getAtt(res, attr string) (any, error) {
	m, ok := asMap(r.tpl["Resources"])[res]
	if !ok || attr != "Arn" {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s is not supported", res, attr)
	}
	kind := map[string]string{"AWS::IAM::Role": "role", "AWS::IAM::User": "user"}[fmt.Sprint(asMap(m)["Type"])]
	if kind == "" {
		return nil, fmt.Errorf("Fn::GetAtt %s.Arn: unsupported type", res)
	}
	return fmt.Sprintf("arn:%s:iam::%s:%s/%s", r.ps.Partition, r.ps.AccountID, kind, res), nil
}

// Request is one API call as IAM evaluates it.
type Request struct {
	Action   string
	Resource string
	// Context holds the condition keys of the request; a key left out is
	// absent, as a RoleArn is when CreateChangeSet names none.
	Context map[string]string
}

// Allowed evaluates identity-policy statements for req as IAM does within
// one account: an explicit Deny wins, then any Allow, else the implicit
// deny. It knows the operators the bootstrap template uses (String*, Arn*,
// Bool, Null, each with IfExists) and fails on others, so a test cannot pass
// by an operator it ignores.
func Allowed(statements []map[string]any, req Request) (bool, error) {
	allowed := false
	for _, st := range statements {
		applies, err := matches(st, req)
		if err != nil {
			return false, err
		}
		if !applies {
			continue
		}
		switch st["Effect"] {
		case "Deny":
			return false, nil
		case "Allow":
			allowed = true
		}
	}
	return allowed, nil
}

func matches(st map[string]any, req Request) (bool, error) {
	acts, notActs := strs(st["Action"]), strs(st["NotAction"])
	if len(acts) > 0 && !anyGlob(acts, req.Action, true) || len(notActs) > 0 && anyGlob(notActs, req.Action, true) {
		return false, nil
	}
	res, notRes := strs(st["Resource"]), strs(st["NotResource"])
	if len(res) > 0 && !anyGlob(res, req.Resource, false) || len(notRes) > 0 && anyGlob(notRes, req.Resource, false) {
		return false, nil
	}
	for op, block := range asMap(st["Condition"]) {
		for key, want := range asMap(block) {
			ok, err := condition(op, strs(want), req.Context, key)
			if err != nil || !ok {
				return false, err
			}
		}
	}
	return true, nil
}

func condition(op string, want []string, ctx map[string]string, key string) (bool, error) {
	got, present := ctx[key]
	if !present {
		for k, v := range ctx { // condition keys are case-insensitive
			if strings.EqualFold(k, key) {
				got, present = v, true
			}
		}
	}
	base, ifExists := strings.CutSuffix(op, "IfExists")
	if base == "Null" {
		return (want[0] == "true") == !present, nil
	}
	negated := strings.Contains(base, "Not")
	if !present {
		return ifExists || negated, nil
	}
	var match func(pattern string) bool
	switch base {
	case "StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals":
		match = func(p string) bool { return p == got }
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		match = func(p string) bool { return strings.EqualFold(p, got) }
	case "StringLike", "StringNotLike", "ArnLike", "ArnNotLike":
		match = func(p string) bool { return glob(p, got, false) }
	case "Bool":
		match = func(p string) bool { return strings.EqualFold(p, got) }
	default:
		return false, fmt.Errorf("condition operator %s is not supported by this evaluator", op)
	}
	for _, p := range want {
		if match(p) {
			return !negated, nil
		}
	}
	return negated, nil
}

func anyGlob(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if glob(p, s, fold) {
			return true
		}
	}
	return false
}

// glob matches IAM's wildcards: * any run of characters, ? one character.
func glob(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	var b strings.Builder
	b.WriteString("^")
	for _, c := range pattern {
		switch c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String()).MatchString(s)
}
