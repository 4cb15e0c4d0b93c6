// Package iampolicy checks the IAM policies in a CloudFormation template against the rules that keep a
// GitHub deploy setup least-privilege (docs/iam-setup.md): exact OIDC trust, change sets pinned to one
// service role, PassRole only to CloudFormation, and no stack-wide wildcards. Its tests check
// iam/bootstrap.yaml and the example templates.
//
// The template is the decoded JSON form (DecodeTemplate turns YAML short tags such as !Sub into
// {"Fn::Sub": ...}). Fn::If is checked on both branches, so a rule cannot hide behind a condition.
package iampolicy

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Rule names one property the checker enforces.
type Rule string

// The rules. Each Finding carries one of them, so tests and callers can match on it.
const (
	RuleOIDCAudience       Rule = "oidc-audience"           // AssumeRoleWithWebIdentity without StringEquals on :aud
	RuleOIDCSubject        Rule = "oidc-subject"            // AssumeRoleWithWebIdentity without a :sub condition
	RuleWildcardRepository Rule = "oidc-wildcard-repo"      // a sub that does not pin one repository
	RuleForAllValues       Rule = "trust-forallvalues"      // ForAllValues: in an Allow trust statement
	RuleOpenTrust          Rule = "trust-open-principal"    // Principal "*" in an Allow trust statement
	RuleServiceRoleTrust   Rule = "service-role-trust"      // the CloudFormation role trusts someone else too
	RuleStackWildcard      Rule = "stack-resource-wildcard" // stack-mutating actions on every stack
	RuleChangeSetRoleArn   Rule = "changeset-role-arn"      // CreateChangeSet without a pinned cloudformation:RoleArn
	RulePassRoleCondition  Rule = "passrole-condition"      // iam:PassRole without iam:PassedToService
	RulePassRoleWildcard   Rule = "passrole-wildcard"       // iam:PassRole on every role
	RuleParameterWildcard  Rule = "parameter-wildcard"      // a parameter can put a wildcard into a pinned value
)

// Finding is one broken rule in one resource.
type Finding struct {
	Resource string // logical id
	Rule     Rule
	Message  string
}

func (f Finding) String() string { return fmt.Sprintf("%s: %s: %s", f.Resource, f.Rule, f.Message) }

// Actions that change a stack or run a change set, and so carry the service role's power.
var stackMutating = []string{
	"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet",
	"cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack",
	"cloudformation:UpdateTerminationProtection", "cloudformation:SetStackPolicy",
	"cloudformation:ContinueUpdateRollback", "cloudformation:CancelUpdateStack", "cloudformation:RollbackStack",
}

// Actions that take a RoleARN: without the condition the caller picks the role (or none).
var takesRoleArn = []string{"cloudformation:CreateChangeSet", "cloudformation:CreateStack", "cloudformation:UpdateStack"}

// Values a parameter must refuse when it is part of a pinned sub or stack name.
var wildcardProbes = []string{"*", "a*", "*a", "a/*", "?", "a?"}

var placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)

// Check returns every rule the template's IAM resources break, sorted by resource and rule.
func Check(template map[string]any) []Finding {
	c := &checker{params: asMap(template["Parameters"]), resources: asMap(template["Resources"])}
	c.findServiceRoles()
	ids := make([]string, 0, len(c.resources))
	for id := range c.resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		res := asMap(c.resources[id])
		props := asMap(res["Properties"])
		switch res["Type"] {
		case "AWS::IAM::Role":
			c.checkTrust(id, props["AssumeRolePolicyDocument"])
			c.checkInlinePolicies(id, props["Policies"])
		case "AWS::IAM::User", "AWS::IAM::Group":
			c.checkInlinePolicies(id, props["Policies"])
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy",
			"AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy":
			c.checkPermissions(id, props["PolicyDocument"])
		}
	}
	sort.SliceStable(c.findings, func(i, j int) bool {
		a, b := c.findings[i], c.findings[j]
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		return a.Rule < b.Rule
	})
	return c.findings
}

type checker struct {
	params       map[string]any
	resources    map[string]any
	serviceRoles map[string]bool
	findings     []Finding
	seen         map[Finding]bool
}

func (c *checker) add(id string, rule Rule, format string, args ...any) {
	f := Finding{Resource: id, Rule: rule, Message: fmt.Sprintf(format, args...)}
	if c.seen == nil {
		c.seen = map[Finding]bool{}
	}
	if !c.seen[f] {
		c.seen[f] = true
		c.findings = append(c.findings, f)
	}
}

// findServiceRoles marks the roles that act as CloudFormation service roles: those CloudFormation
// may assume, and those a policy pins as cloudformation:RoleArn or lets be passed.
func (c *checker) findServiceRoles() {
	c.serviceRoles = map[string]bool{}
	for id, r := range c.resources {
		res := asMap(r)
		props := asMap(res["Properties"])
		if res["Type"] == "AWS::IAM::Role" {
			for _, st := range statements(props["AssumeRolePolicyDocument"]) {
				for _, p := range principals(st) {
					if p == "Service:cloudformation.amazonaws.com" {
						c.serviceRoles[id] = true
					}
				}
			}
		}
		var docs []any
		for _, p := range flat(props["Policies"]) {
			docs = append(docs, asMap(p)["PolicyDocument"])
		}
		docs = append(docs, props["PolicyDocument"])
		for _, doc := range docs {
			for _, st := range statements(doc) {
				refs := conditionValues(st, "cloudformation:RoleArn")
				if coversAny(actions(st), []string{"iam:PassRole"}) {
					refs = append(refs, strs(st["Resource"])...)
				}
				for _, v := range refs {
					for _, m := range placeholder.FindAllStringSubmatch(v, -1) {
						name := strings.TrimSuffix(m[1], ".Arn")
						if asMap(c.resources[name])["Type"] == "AWS::IAM::Role" {
							c.serviceRoles[name] = true
						}
					}
				}
			}
		}
	}
}

func (c *checker) checkTrust(id string, doc any) {
	service := c.serviceRoles[id]
	for _, st := range statements(doc) {
		if st["Effect"] != "Allow" {
			continue
		}
		for op := range asMap(st["Condition"]) {
			if strings.HasPrefix(strings.ToLower(op), "forallvalues:") {
				c.add(id, RuleForAllValues, "trust condition %q is true when the claim is absent; use StringEquals", op)
			}
		}
		ps := principals(st)
		for _, p := range ps {
			if p == "*" || p == "AWS:*" {
				c.add(id, RuleOpenTrust, "trust statement allows Principal %q", p)
			}
			if service && p != "Service:cloudformation.amazonaws.com" {
				c.add(id, RuleServiceRoleTrust, "CloudFormation service role is also trusted by %s; only cloudformation.amazonaws.com may assume it", p)
			}
		}
		if _, ok := st["NotPrincipal"]; ok && service {
			c.add(id, RuleServiceRoleTrust, "CloudFormation service role uses NotPrincipal in an Allow statement")
		}
		if coversAny(actions(st), []string{"sts:AssumeRoleWithWebIdentity"}) {
			c.checkOIDC(id, st)
		}
	}
}

func (c *checker) checkOIDC(id string, st map[string]any) {
	var aud, sub bool
	for op, block := range asMap(st["Condition"]) {
		for key, v := range asMap(block) {
			k := strings.ToLower(key)
			switch {
			case strings.HasSuffix(k, ":aud"):
				vals := strs(v)
				if op == "StringEquals" && len(vals) > 0 && !anyWildcard(vals) {
					aud = true
				}
			case strings.HasSuffix(k, ":sub"):
				if op != "StringEquals" && op != "StringLike" {
					continue
				}
				vals := strs(v)
				sub = sub || len(vals) > 0
				for _, s := range vals {
					c.checkSubject(id, s)
				}
			}
		}
	}
	if !aud {
		c.add(id, RuleOIDCAudience, "AssumeRoleWithWebIdentity needs StringEquals on the provider's :aud (sts.amazonaws.com)")
	}
	if !sub {
		c.add(id, RuleOIDCSubject, "AssumeRoleWithWebIdentity without a :sub condition lets any GitHub repository assume the role")
	}
}

// checkSubject requires repo:ORG/REPO with no wildcard before the first ':' after the repository.
func (c *checker) checkSubject(id, sub string) {
	rest, ok := strings.CutPrefix(sub, "repo:")
	if !ok {
		c.add(id, RuleWildcardRepository, "sub %q does not start with repo:ORG/REPO", sub)
		return
	}
	repo, _, _ := strings.Cut(rest, ":")
	literal := placeholder.ReplaceAllString(repo, "x")
	org, name, ok := strings.Cut(literal, "/")
	if strings.ContainsAny(literal, "*?") || !ok || org == "" || name == "" || strings.Contains(name, "/") {
		c.add(id, RuleWildcardRepository, "sub %q does not pin exactly one repository", sub)
	}
	for _, p := range c.paramsIn(sub) {
		if v, bad := c.acceptsAny(p, wildcardProbes); bad {
			c.add(id, RuleParameterWildcard, "parameter %s (used in sub) accepts %q; give it an AllowedPattern without wildcards", p, v)
		}
	}
}

func (c *checker) checkInlinePolicies(id string, policies any) {
	for _, p := range flat(policies) {
		c.checkPermissions(id, asMap(p)["PolicyDocument"])
	}
}

func (c *checker) checkPermissions(id string, doc any) {
	for _, st := range statements(doc) {
		if st["Effect"] != "Allow" {
			continue
		}
		acts := actions(st)
		res := strs(st["Resource"])
		if _, ok := st["NotResource"]; ok {
			res = append(res, "*")
		}
		if m := coveredBy(acts, stackMutating); len(m) > 0 {
			for _, r := range res {
				if c.allStacks(r) {
					c.add(id, RuleStackWildcard, "%s allowed on %q; name the stacks (stack/PREFIX*/*)", strings.Join(m, ", "), r)
				}
			}
		}
		if m := coveredBy(acts, takesRoleArn); len(m) > 0 {
			vals, ops := conditionValuesOps(st, "cloudformation:RoleArn")
			if len(vals) == 0 || anyWildcard(vals) || !allIn(ops, "StringEquals", "ArnEquals") {
				c.add(id, RuleChangeSetRoleArn, "%s needs StringEquals cloudformation:RoleArn = the service role, or the caller chooses the role", strings.Join(m, ", "))
			}
		}
		if coversAny(acts, []string{"iam:PassRole"}) {
			vals, _ := conditionValuesOps(st, "iam:PassedToService")
			if len(vals) == 0 || anyWildcard(vals) {
				c.add(id, RulePassRoleCondition, "iam:PassRole needs StringEquals iam:PassedToService = cloudformation.amazonaws.com")
			}
			for _, r := range res {
				if allRoles(r) {
					c.add(id, RulePassRoleWildcard, "iam:PassRole allowed on %q; name the service role", r)
				}
			}
		}
	}
}

// allStacks reports whether a resource pattern reaches every stack (or cannot be shown not to).
func (c *checker) allStacks(r string) bool {
	if r == "*" {
		return true
	}
	_, after, ok := strings.Cut(r, ":stack/")
	if !ok {
		// transform/..., changeSet/... are fine; a bare wildcard ARN is not.
		return strings.Contains(placeholder.ReplaceAllString(r, ""), "*") && !strings.Contains(r, ":transform/")
	}
	name, _, _ := strings.Cut(after, "/")
	if strings.Trim(placeholder.ReplaceAllString(name, ""), "*?") != "" {
		return false
	}
	ps := c.paramsIn(name)
	if len(ps) == 0 {
		return true
	}
	for _, p := range ps {
		if _, bad := c.acceptsAny(p, append([]string{""}, wildcardProbes...)); !bad {
			return false // one parameter that must be a literal name is enough
		}
	}
	return true
}

func allRoles(r string) bool {
	if r == "*" {
		return true
	}
	literal := placeholder.ReplaceAllString(r, "x")
	_, name, ok := strings.Cut(literal, ":role/")
	if !ok {
		return strings.Contains(literal, "*")
	}
	return strings.Trim(name, "*?/") == ""
}

// paramsIn lists the template parameters referenced as ${Name} in s.
func (c *checker) paramsIn(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		if _, ok := c.params[m[1]]; ok {
			out = append(out, m[1])
		}
	}
	return out
}

// acceptsAny reports the first probe the parameter would accept.
func (c *checker) acceptsAny(name string, probes []string) (string, bool) {
	p := asMap(c.params[name])
	for _, v := range probes {
		if accepts(p, v) {
			return v, true
		}
	}
	return "", false
}

func accepts(p map[string]any, v string) bool {
	if t, _ := p["Type"].(string); t != "" && t != "String" {
		return true
	}
	if allowed, ok := p["AllowedValues"]; ok {
		found := false
		for _, a := range strs(allowed) {
			found = found || a == v
		}
		if !found {
			return false
		}
	}
	if n, ok := number(p["MinLength"]); ok && len(v) < n {
		return false
	}
	if n, ok := number(p["MaxLength"]); ok && len(v) > n {
		return false
	}
	if pat, ok := p["AllowedPattern"].(string); ok {
		re, err := regexp.Compile(`^(?:` + pat + `)$`)
		if err == nil && !re.MatchString(v) {
			return false
		}
	}
	return true
}

func number(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case string:
		var i int
		_, err := fmt.Sscanf(n, "%d", &i)
		return i, err == nil
	}
	return 0, false
}

// statements returns every statement of a policy document, each Fn::If branch included.
func statements(doc any) []map[string]any {
	var out []map[string]any
	for _, d := range flat(doc) {
		for _, s := range flat(asMap(d)["Statement"]) {
			if m := asMap(s); m != nil {
				out = append(out, m)
			}
		}
	}
	return out
}

func actions(st map[string]any) []string {
	if _, ok := st["NotAction"]; ok {
		return []string{"*"} // an Allow with NotAction allows nearly everything
	}
	return strs(st["Action"])
}

// principals renders the statement's principals as "Type:value" (or "*").
func principals(st map[string]any) []string {
	var out []string
	for _, p := range flat(st["Principal"]) {
		if s, ok := render(p); ok {
			out = append(out, s)
			continue
		}
		for typ, v := range asMap(p) {
			for _, s := range strs(v) {
				out = append(out, typ+":"+s)
			}
		}
	}
	sort.Strings(out)
	return out
}

func conditionValues(st map[string]any, key string) []string {
	v, _ := conditionValuesOps(st, key)
	return v
}

// conditionValuesOps returns the values of a condition key and the operators it appears under.
func conditionValuesOps(st map[string]any, key string) (vals, ops []string) {
	for _, cond := range flat(st["Condition"]) {
		for op, block := range asMap(cond) {
			for k, v := range asMap(block) {
				if strings.EqualFold(k, key) {
					ops = append(ops, op)
					vals = append(vals, strs(v)...)
				}
			}
		}
	}
	return vals, ops
}

func allIn(ops []string, allowed ...string) bool {
	for _, op := range ops {
		ok := false
		for _, a := range allowed {
			ok = ok || op == a
		}
		if !ok {
			return false
		}
	}
	return true
}

func anyWildcard(vals []string) bool {
	for _, v := range vals {
		if strings.ContainsAny(placeholder.ReplaceAllString(v, ""), "*?") {
			return true
		}
	}
	return false
}

func coversAny(patterns, actions []string) bool { return len(coveredBy(patterns, actions)) > 0 }

// coveredBy returns the actions that at least one IAM action pattern (with * and ?) matches.
func coveredBy(patterns, actions []string) []string {
	var out []string
	for _, a := range actions {
		for _, p := range patterns {
			if globMatch(strings.ToLower(p), strings.ToLower(a)) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

func globMatch(pattern, s string) bool {
	re := regexp.QuoteMeta(pattern)
	re = strings.ReplaceAll(re, `\*`, ".*")
	re = strings.ReplaceAll(re, `\?`, ".")
	ok, _ := regexp.MatchString("^"+re+"$", s)
	return ok
}

// flat resolves Fn::If to both branches, drops AWS::NoValue and flattens lists.
func flat(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		var out []any
		for _, e := range t {
			out = append(out, flat(e)...)
		}
		return out
	case map[string]any:
		if args, ok := t["Fn::If"].([]any); ok && len(t) == 1 && len(args) == 3 {
			return append(flat(args[1]), flat(args[2])...)
		}
		if t["Ref"] == "AWS::NoValue" && len(t) == 1 {
			return nil
		}
	}
	return []any{v}
}

// strs renders every leaf of v as a string, intrinsic functions as ${...} placeholders.
func strs(v any) []string {
	var out []string
	for _, e := range flat(v) {
		if s, ok := render(e); ok {
			out = append(out, s)
		}
	}
	return out
}

// render turns a string or a string-valued intrinsic into text: Ref X -> ${X}, GetAtt X.Arn -> ${X.Arn},
// Fn::Sub keeps its own text. Other functions become ${?}, which matches no rule's literal.
func render(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case map[string]any:
		if len(t) != 1 {
			return "", false
		}
		for fn, arg := range t {
			switch fn {
			case "Ref":
				s, _ := arg.(string)
				return "${" + s + "}", true
			case "Fn::GetAtt":
				switch a := arg.(type) {
				case string:
					return "${" + a + "}", true
				case []any:
					parts := make([]string, 0, len(a))
					for _, p := range a {
						s, _ := render(p)
						parts = append(parts, s)
					}
					return "${" + strings.Join(parts, ".") + "}", true
				}
			case "Fn::Sub":
				if s, ok := arg.(string); ok {
					return s, true
				}
				if a, ok := arg.([]any); ok && len(a) > 0 {
					s, ok := a[0].(string)
					return s, ok
				}
			case "Fn::Join":
				if a, ok := arg.([]any); ok && len(a) == 2 {
					sep, _ := a[0].(string)
					return strings.Join(strs(a[1]), sep), true
				}
			}
			if strings.HasPrefix(fn, "Fn::") {
				return "${?}", true
			}
		}
	}
	return "", false
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
