package iampolicy

import (
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	bootstrapOnce sync.Once
	bootstrapJSON []byte
	bootstrapErr  error
)

// bootstrap returns a fresh copy of the decoded iam/bootstrap.yaml, so each case can mutate its own.
func bootstrap(t *testing.T) map[string]any {
	t.Helper()
	bootstrapOnce.Do(func() {
		var tpl map[string]any
		tpl, bootstrapErr = DecodeTemplate("../../iam/bootstrap.yaml")
		if bootstrapErr == nil {
			bootstrapJSON, bootstrapErr = json.Marshal(tpl)
		}
	})
	if bootstrapErr != nil {
		t.Fatal(bootstrapErr)
	}
	var tpl map[string]any
	if err := json.Unmarshal(bootstrapJSON, &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl
}

// at walks maps by key and lists by index.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %T is not a map", path, v)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: no index %d in %T", path, k, v)
			}
			v = l[k]
		}
	}
	return v
}

func obj(t *testing.T, v any, path ...any) map[string]any {
	t.Helper()
	m, ok := at(t, v, path...).(map[string]any)
	if !ok {
		t.Fatalf("at %v: not a map", path)
	}
	return m
}

// oidcTrust is the deploy role's OIDC statement (the true branch of its Fn::If).
func oidcTrust(t *testing.T, tpl map[string]any) map[string]any {
	return obj(t, tpl, "Resources", "DeployRole", "Properties", "AssumeRolePolicyDocument", "Statement", 0, "Fn::If", 1)
}

// deployStatement finds a deploy role policy statement by Sid, looking inside Fn::If.
func deployStatement(t *testing.T, tpl map[string]any, sid string) map[string]any {
	t.Helper()
	for _, s := range statements(obj(t, tpl, "Resources", "DeployRole", "Properties", "Policies", 0, "PolicyDocument")) {
		if s["Sid"] == sid {
			return s
		}
	}
	t.Fatalf("no statement %s", sid)
	return nil
}

func addDeployStatement(t *testing.T, tpl map[string]any, st map[string]any) {
	doc := obj(t, tpl, "Resources", "DeployRole", "Properties", "Policies", 0, "PolicyDocument")
	doc["Statement"] = append(doc["Statement"].([]any), st)
}

type key struct {
	Resource string
	Rule     Rule
}

func TestCheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(t *testing.T, tpl map[string]any)
		want   []key
	}{
		{
			name:   "bootstrap_template_passes",
			mutate: func(*testing.T, map[string]any) {},
		},
		{
			name: "oidc_without_sub",
			mutate: func(t *testing.T, tpl map[string]any) {
				delete(obj(t, oidcTrust(t, tpl), "Condition", "StringEquals"), "token.actions.githubusercontent.com:sub")
			},
			want: []key{{"DeployRole", RuleOIDCSubject}},
		},
		{
			name: "oidc_without_aud",
			mutate: func(t *testing.T, tpl map[string]any) {
				delete(obj(t, oidcTrust(t, tpl), "Condition", "StringEquals"), "token.actions.githubusercontent.com:aud")
			},
			want: []key{{"DeployRole", RuleOIDCAudience}},
		},
		{
			name: "oidc_without_any_condition",
			mutate: func(t *testing.T, tpl map[string]any) {
				delete(oidcTrust(t, tpl), "Condition")
			},
			want: []key{{"DeployRole", RuleOIDCAudience}, {"DeployRole", RuleOIDCSubject}},
		},
		{
			name: "oidc_aud_with_wildcard",
			mutate: func(t *testing.T, tpl map[string]any) {
				cond := obj(t, oidcTrust(t, tpl), "Condition")
				delete(obj(t, cond, "StringEquals"), "token.actions.githubusercontent.com:aud")
				cond["StringLike"] = map[string]any{"token.actions.githubusercontent.com:aud": "sts.*"}
			},
			want: []key{{"DeployRole", RuleOIDCAudience}},
		},
		{
			name: "sub_wildcard_org",
			mutate: func(t *testing.T, tpl map[string]any) {
				cond := obj(t, oidcTrust(t, tpl), "Condition")
				delete(obj(t, cond, "StringEquals"), "token.actions.githubusercontent.com:sub")
				cond["StringLike"] = map[string]any{"token.actions.githubusercontent.com:sub": "repo:my-org/*"}
			},
			want: []key{{"DeployRole", RuleWildcardRepository}},
		},
		{
			name: "sub_any_repository",
			mutate: func(t *testing.T, tpl map[string]any) {
				obj(t, oidcTrust(t, tpl), "Condition", "StringEquals")["token.actions.githubusercontent.com:sub"] = "repo:*"
			},
			want: []key{{"DeployRole", RuleWildcardRepository}},
		},
		{
			name: "sub_wildcard_in_repository_name",
			mutate: func(t *testing.T, tpl map[string]any) {
				obj(t, oidcTrust(t, tpl), "Condition", "StringEquals")["token.actions.githubusercontent.com:sub"] = "repo:my-org/app-*:ref:refs/heads/main"
			},
			want: []key{{"DeployRole", RuleWildcardRepository}},
		},
		{
			name: "sub_without_repo",
			mutate: func(t *testing.T, tpl map[string]any) {
				obj(t, oidcTrust(t, tpl), "Condition", "StringEquals")["token.actions.githubusercontent.com:sub"] = "*"
			},
			want: []key{{"DeployRole", RuleWildcardRepository}},
		},
		{
			name: "sub_wildcard_hidden_in_if_branch",
			mutate: func(t *testing.T, tpl map[string]any) {
				branches := at(t, oidcTrust(t, tpl), "Condition", "StringEquals", "token.actions.githubusercontent.com:sub", "Fn::If").([]any)
				branches[1] = map[string]any{"Fn::Sub": "repo:${GitHubOrg}/*:environment:${GitHubEnvironment}"}
			},
			want: []key{{"DeployRole", RuleWildcardRepository}},
		},
		{
			// The boundary of the rule: after the repository a wildcard is the owner's choice.
			name: "sub_wildcard_after_repository_is_allowed",
			mutate: func(t *testing.T, tpl map[string]any) {
				obj(t, oidcTrust(t, tpl), "Condition", "StringEquals")["token.actions.githubusercontent.com:sub"] = "repo:my-org/app:environment:*"
			},
		},
		{
			name: "forallvalues_in_trust",
			mutate: func(t *testing.T, tpl map[string]any) {
				cond := obj(t, oidcTrust(t, tpl), "Condition")
				cond["ForAllValues:StringEquals"] = cond["StringEquals"]
				delete(cond, "StringEquals")
			},
			want: []key{{"DeployRole", RuleForAllValues}, {"DeployRole", RuleOIDCAudience}, {"DeployRole", RuleOIDCSubject}},
		},
		{
			name: "sub_parameter_accepts_wildcard",
			mutate: func(t *testing.T, tpl map[string]any) {
				delete(obj(t, tpl, "Parameters", "GitHubRepo"), "AllowedPattern")
			},
			want: []key{{"DeployRole", RuleParameterWildcard}, {"PreviewRole", RuleParameterWildcard}},
		},
		{
			name: "trust_any_principal",
			mutate: func(t *testing.T, tpl map[string]any) {
				oidcTrust(t, tpl)["Principal"] = map[string]any{"AWS": "*"}
			},
			want: []key{{"DeployRole", RuleOpenTrust}},
		},
		{
			name: "changeset_on_every_stack",
			mutate: func(t *testing.T, tpl map[string]any) {
				deployStatement(t, tpl, "CreateChangeSetWithServiceRole")["Resource"] = "*"
			},
			want: []key{{"DeployRole", RuleStackWildcard}},
		},
		{
			name: "execute_on_every_stack_arn",
			mutate: func(t *testing.T, tpl map[string]any) {
				deployStatement(t, tpl, "OperateChangeSets")["Resource"] = map[string]any{"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:*:stack/*/*"}
			},
			want: []key{{"DeployRole", RuleStackWildcard}},
		},
		{
			name: "stack_prefix_may_be_empty",
			mutate: func(t *testing.T, tpl map[string]any) {
				obj(t, tpl, "Parameters", "StackNamePrefix")["AllowedPattern"] = "^[A-Za-z0-9-]*$"
			},
			want: []key{{"DeployRole", RuleStackWildcard}, {"PreviewRole", RuleStackWildcard}},
		},
		{
			name: "delete_stack_on_every_stack",
			mutate: func(t *testing.T, tpl map[string]any) {
				deployStatement(t, tpl, "RecoverFailedStacks")["Resource"] = "*"
			},
			want: []key{{"DeployRole", RuleStackWildcard}},
		},
		{
			name: "changeset_without_role_arn_condition",
			mutate: func(t *testing.T, tpl map[string]any) {
				delete(deployStatement(t, tpl, "CreateChangeSetWithServiceRole"), "Condition")
			},
			want: []key{{"DeployRole", RuleChangeSetRoleArn}},
		},
		{
			name: "changeset_role_arn_with_wildcard",
			mutate: func(t *testing.T, tpl map[string]any) {
				deployStatement(t, tpl, "UseServerlessTransform")["Condition"] = map[string]any{
					"StringLike": map[string]any{"cloudformation:RoleArn": "arn:aws:iam::*:role/*"},
				}
			},
			want: []key{{"DeployRole", RuleChangeSetRoleArn}},
		},
		{
			name: "passrole_without_condition",
			mutate: func(t *testing.T, tpl map[string]any) {
				delete(deployStatement(t, tpl, "PassServiceRoleToCloudFormation"), "Condition")
			},
			want: []key{{"DeployRole", RulePassRoleCondition}},
		},
		{
			name: "passrole_on_every_role",
			mutate: func(t *testing.T, tpl map[string]any) {
				deployStatement(t, tpl, "PassServiceRoleToCloudFormation")["Resource"] = map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"}
			},
			want: []key{{"DeployRole", RulePassRoleWildcard}},
		},
		{
			name: "admin_statement_on_deploy_role",
			mutate: func(t *testing.T, tpl map[string]any) {
				addDeployStatement(t, tpl, map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"})
			},
			want: []key{
				{"DeployRole", RuleChangeSetRoleArn}, {"DeployRole", RulePassRoleCondition},
				{"DeployRole", RulePassRoleWildcard}, {"DeployRole", RuleStackWildcard},
			},
		},
		{
			name: "deny_statement_is_not_a_grant",
			mutate: func(t *testing.T, tpl map[string]any) {
				addDeployStatement(t, tpl, map[string]any{"Effect": "Deny", "Action": "cloudformation:*", "Resource": "*"})
			},
		},
		{
			name: "service_role_trusts_an_account",
			mutate: func(t *testing.T, tpl map[string]any) {
				st := obj(t, tpl, "Resources", "CloudFormationRole", "Properties", "AssumeRolePolicyDocument", "Statement", 0)
				st["Principal"] = map[string]any{
					"Service": "cloudformation.amazonaws.com",
					"AWS":     map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"},
				}
			},
			want: []key{{"CloudFormationRole", RuleServiceRoleTrust}},
		},
		{
			name: "service_role_trusts_another_service",
			mutate: func(t *testing.T, tpl map[string]any) {
				st := obj(t, tpl, "Resources", "CloudFormationRole", "Properties", "AssumeRolePolicyDocument", "Statement", 0)
				st["Principal"] = map[string]any{"Service": []any{"cloudformation.amazonaws.com", "lambda.amazonaws.com"}}
			},
			want: []key{{"CloudFormationRole", RuleServiceRoleTrust}},
		},
		{
			// Found through the PassRole resource even when CloudFormation is no longer in its trust.
			name: "passed_role_trusted_by_ec2",
			mutate: func(t *testing.T, tpl map[string]any) {
				st := obj(t, tpl, "Resources", "CloudFormationRole", "Properties", "AssumeRolePolicyDocument", "Statement", 0)
				st["Principal"] = map[string]any{"Service": "ec2.amazonaws.com"}
			},
			want: []key{{"CloudFormationRole", RuleServiceRoleTrust}},
		},
		{
			name: "standalone_policy_is_checked",
			mutate: func(t *testing.T, tpl map[string]any) {
				doc := obj(t, tpl, "Resources", "DeployUserPolicy", "Properties", "PolicyDocument")
				doc["Statement"] = append(doc["Statement"].([]any), map[string]any{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})
			},
			want: []key{{"DeployUserPolicy", RulePassRoleCondition}, {"DeployUserPolicy", RulePassRoleWildcard}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl := bootstrap(t)
			tc.mutate(t, tpl)
			// Compare the set of (resource, rule) pairs: one rule may fire once per statement.
			var got []key
			seen := map[key]bool{}
			for _, f := range Check(tpl) {
				t.Log(f)
				if k := (key{f.Resource, f.Rule}); !seen[k] {
					seen[k] = true
					got = append(got, k)
				}
			}
			less := func(a, b key) bool { return a.Resource+string(a.Rule) < b.Resource+string(b.Rule) }
			if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(less), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Check() findings (-want +got):\n%s", diff)
			}
		})
	}
}

// The example application templates hold no IAM grants of their own, but they must decode and stay clean.
func TestExampleTemplates(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("../../examples/templates/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no example templates found")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			t.Parallel()
			tpl, err := DecodeTemplate(p)
			if err != nil {
				t.Fatal(err)
			}
			if fs := Check(tpl); len(fs) > 0 {
				t.Errorf("findings: %v", fs)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, action string
		want            bool
	}{
		{"cloudformation:*", "cloudformation:CreateChangeSet", true},
		{"*", "iam:PassRole", true},
		{"cloudformation:Create*", "cloudformation:CreateChangeSet", true},
		{"cloudformation:Describe*", "cloudformation:CreateChangeSet", false},
		{"iam:Pass?ole", "iam:PassRole", true},
		{"iam:PassRole", "iam:passrole", true},
		{"s3:*", "iam:PassRole", false},
	}
	for _, tc := range cases {
		if got := coversAny([]string{tc.pattern}, []string{tc.action}); got != tc.want {
			t.Errorf("coversAny(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
	}
}
