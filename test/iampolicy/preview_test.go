package iampolicy

import (
	"strings"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/cfn"
)

var ps = Pseudo{Partition: "aws", Region: "eu-west-1", AccountID: "123456789012"}

const (
	stackARN    = "arn:aws:cloudformation:eu-west-1:123456789012:stack/myapp-prod/5e2a7f00-1111-2222-3333-444455556666"
	otherStack  = "arn:aws:cloudformation:eu-west-1:123456789012:stack/other-prod/5e2a7f00-1111-2222-3333-444455556666"
	serviceRole = "arn:aws:iam::123456789012:role/CloudFormationRole"
	previewName = "preview-pr7-0123456"
	previewARN  = "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/preview-pr7-0123456/9d8c7b6a-1111-2222-3333-444455556666"
	deployName  = "deploy-main-100-1-20260501t100000000"
	deployARN   = "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/deploy-main-100-1-20260501t100000000/1"
)

// resolved is iam/bootstrap.yaml deployed for octo-org/octo-repo with the
// preview role, plus extra parameters.
func resolved(t *testing.T, extra map[string]string) map[string]any {
	t.Helper()
	params := map[string]string{
		"GitHubOrg": "octo-org", "GitHubRepo": "octo-repo", "StackNamePrefix": "myapp-",
		"CloudFormationManagedPolicyArns": "arn:aws:iam::aws:policy/PowerUserAccess", "EnablePreviewRole": "true",
	}
	for k, v := range extra {
		params[k] = v
	}
	tpl, err := Resolve(bootstrap(t), params, ps)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// permissions are the statements of a role's inline policies.
func permissions(t *testing.T, tpl map[string]any, role string) []map[string]any {
	t.Helper()
	props := asMap(asMap(asMap(tpl["Resources"])[role])["Properties"])
	if props == nil {
		t.Fatalf("no resource %s", role)
	}
	var out []map[string]any
	for _, p := range flat(props["Policies"]) {
		out = append(out, statements(asMap(p)["PolicyDocument"])...)
	}
	return out
}

func trust(t *testing.T, tpl map[string]any, role string) []map[string]any {
	t.Helper()
	return statements(asMap(asMap(asMap(tpl["Resources"])[role])["Properties"])["AssumeRolePolicyDocument"])
}

func must(t *testing.T, policy []map[string]any, req Request) bool {
	t.Helper()
	ok, err := Allowed(policy, req)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestPreviewRole_permissions(t *testing.T) {
	t.Parallel()
	tpl := resolved(t, nil)
	preview, deploy := permissions(t, tpl, "PreviewRole"), permissions(t, tpl, "DeployRole")
	cs := func(action, resource, name string, roleARN ...string) Request {
		ctx := map[string]string{"cloudformation:ChangeSetName": name}
		if len(roleARN) > 0 {
			ctx["cloudformation:RoleArn"] = roleARN[0]
		}
		return Request{Action: action, Resource: resource, Context: ctx}
	}
	on := func(action, resource string) Request { return Request{Action: action, Resource: resource} }
	cases := []struct {
		name   string
		policy []map[string]any
		req    Request
		want   bool
	}{
		// What a preview needs.
		{"preview_creates_a_preview_through_the_service_role", preview, cs("cloudformation:CreateChangeSet", stackARN, previewName, serviceRole), true},
		{"preview_deletes_an_earlier_preview_by_arn", preview, cs("cloudformation:DeleteChangeSet", stackARN, previewARN), true},
		{"preview_deletes_an_earlier_preview_by_name", preview, cs("cloudformation:DeleteChangeSet", stackARN, previewName), true},
		{"preview_reads_stacks", preview, on("cloudformation:DescribeStacks", stackARN), true},
		{"preview_reads_change_sets", preview, cs("cloudformation:DescribeChangeSet", stackARN, previewARN), true},
		{"preview_reads_events", preview, on("cloudformation:DescribeStackEvents", stackARN), true},
		{"preview_lists_change_sets", preview, on("cloudformation:ListChangeSets", stackARN), true},
		{"preview_reads_template_summary", preview, on("cloudformation:GetTemplateSummary", stackARN), true},
		{"preview_passes_the_service_role_to_cloudformation", preview,
			Request{Action: "iam:PassRole", Resource: serviceRole, Context: map[string]string{"iam:PassedToService": "cloudformation.amazonaws.com"}}, true},
		// What it must never do.
		{"preview_cannot_execute_a_preview", preview, cs("cloudformation:ExecuteChangeSet", stackARN, previewARN), false},
		{"preview_cannot_execute_by_name", preview, cs("cloudformation:ExecuteChangeSet", stackARN, previewName), false},
		{"preview_cannot_execute_a_deploy_change_set", preview, cs("cloudformation:ExecuteChangeSet", stackARN, deployARN), false},
		{"preview_cannot_turn_off_termination_protection", preview, on("cloudformation:UpdateTerminationProtection", stackARN), false},
		{"preview_cannot_delete_the_stack", preview, on("cloudformation:DeleteStack", stackARN), false},
		{"preview_cannot_create_a_stack", preview, on("cloudformation:CreateStack", stackARN), false},
		{"preview_cannot_update_a_stack", preview, on("cloudformation:UpdateStack", stackARN), false},
		{"preview_cannot_set_a_stack_policy", preview, on("cloudformation:SetStackPolicy", stackARN), false},
		{"preview_cannot_create_outside_the_preview_prefix", preview, cs("cloudformation:CreateChangeSet", stackARN, deployName, serviceRole), false},
		{"preview_cannot_create_without_the_service_role", preview, cs("cloudformation:CreateChangeSet", stackARN, previewName), false},
		{"preview_cannot_create_with_another_role", preview, cs("cloudformation:CreateChangeSet", stackARN, previewName, "arn:aws:iam::123456789012:role/Admin"), false},
		{"preview_cannot_touch_other_stacks", preview, cs("cloudformation:CreateChangeSet", otherStack, previewName, serviceRole), false},
		{"preview_cannot_read_other_stacks", preview, on("cloudformation:DescribeStacks", otherStack), false},
		{"preview_cannot_delete_a_deploy_change_set", preview, cs("cloudformation:DeleteChangeSet", stackARN, deployARN), false},
		{"preview_cannot_pass_the_role_elsewhere", preview,
			Request{Action: "iam:PassRole", Resource: serviceRole, Context: map[string]string{"iam:PassedToService": "lambda.amazonaws.com"}}, false},
		{"preview_has_nothing_else", preview, on("s3:GetObject", "arn:aws:s3:::bucket/key"), false},
		// The deploy role runs its own change sets but never a preview.
		{"deploy_executes_its_change_set", deploy, cs("cloudformation:ExecuteChangeSet", stackARN, deployARN), true},
		{"deploy_cannot_execute_a_preview_by_arn", deploy, cs("cloudformation:ExecuteChangeSet", stackARN, previewARN), false},
		{"deploy_cannot_execute_a_preview_by_name", deploy, cs("cloudformation:ExecuteChangeSet", stackARN, previewName), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := must(t, tc.policy, tc.req); got != tc.want {
				t.Errorf("Allowed(%s on %s, %v) = %v, want %v", tc.req.Action, tc.req.Resource, tc.req.Context, got, tc.want)
			}
		})
	}
}

func TestPreviewRole_trust(t *testing.T) {
	t.Parallel()
	web := func(sub string) Request {
		return Request{Action: "sts:AssumeRoleWithWebIdentity", Resource: "*", Context: map[string]string{
			"token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": sub,
		}}
	}
	const (
		pr      = "repo:octo-org/octo-repo:pull_request"
		main    = "repo:octo-org/octo-repo:ref:refs/heads/main"
		forked  = "repo:mallory/octo-repo:pull_request"
		preview = "repo:octo-org/octo-repo:environment:preview"
	)
	cases := []struct {
		name        string
		params      map[string]string
		sub         string
		wantPreview bool
		wantDeploy  bool
	}{
		{"pull_request_gets_the_preview_role_only", nil, pr, true, false},
		{"push_to_main_gets_the_deploy_role_only", nil, main, false, true},
		{"another_repository_gets_neither", nil, forked, false, false},
		{"with_an_environment_a_bare_pull_request_gets_nothing", map[string]string{"PreviewGitHubEnvironment": "preview"}, pr, false, false},
		{"with_an_environment_its_approved_jobs_get_the_preview_role", map[string]string{"PreviewGitHubEnvironment": "preview"}, preview, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl := resolved(t, tc.params)
			if got := must(t, trust(t, tpl, "PreviewRole"), web(tc.sub)); got != tc.wantPreview {
				t.Errorf("preview role trusts %s: %v, want %v", tc.sub, got, tc.wantPreview)
			}
			if got := must(t, trust(t, tpl, "DeployRole"), web(tc.sub)); got != tc.wantDeploy {
				t.Errorf("deploy role trusts %s: %v, want %v", tc.sub, got, tc.wantDeploy)
			}
			// The audience is pinned.
			req := web(tc.sub)
			req.Context["token.actions.githubusercontent.com:aud"] = "https://github.com/octo-org"
			if must(t, trust(t, tpl, "PreviewRole"), req) {
				t.Errorf("preview role trusts another audience")
			}
		})
	}
}

func TestPreviewRole_is_off_by_default(t *testing.T) {
	t.Parallel()
	tpl := resolved(t, map[string]string{"EnablePreviewRole": "false"})
	if _, ok := asMap(tpl["Resources"])["PreviewRole"]; ok {
		t.Errorf("PreviewRole created without EnablePreviewRole")
	}
	// The deploy role's deny holds either way.
	if must(t, permissions(t, tpl, "DeployRole"), Request{Action: "cloudformation:ExecuteChangeSet", Resource: stackARN,
		Context: map[string]string{"cloudformation:ChangeSetName": previewARN}}) {
		t.Errorf("deploy role may execute a preview")
	}
}

// The policies key on the action's one preview prefix (cfn.PreviewPrefix):
// a second copy of the rule could drift.
func TestPreviewRole_uses_the_actions_preview_prefix(t *testing.T) {
	t.Parallel()
	tpl := resolved(t, map[string]string{"AllowServerlessTransform": "true"})
	n := 0
	for _, role := range []string{"PreviewRole", "DeployRole"} {
		for _, st := range permissions(t, tpl, role) {
			for _, v := range conditionValues(st, "cloudformation:ChangeSetName") {
				n++
				name := v
				if i := strings.Index(v, ":changeSet/"); i >= 0 {
					name = v[i+len(":changeSet/"):]
				}
				if name != cfn.PreviewPrefix+"*" {
					t.Errorf("%s %s: ChangeSetName pattern %q does not use cfn.PreviewPrefix %q", role, st["Sid"], v, cfn.PreviewPrefix)
				}
			}
		}
	}
	if n < 5 {
		t.Errorf("found %d ChangeSetName conditions, want the preview role's and the deploy role's", n)
	}
}

func TestEvaluator_refuses_what_it_does_not_know(t *testing.T) {
	t.Parallel()
	st := []map[string]any{{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": map[string]any{
		"ForAnyValue:StringLike": map[string]any{"aws:TagKeys": "x"}}}}
	if _, err := Allowed(st, Request{Action: "s3:GetObject", Resource: "*", Context: map[string]string{"aws:TagKeys": "x"}}); err == nil {
		t.Errorf("an unknown operator was accepted")
	}
	if _, err := Resolve(map[string]any{"Resources": map[string]any{"R": map[string]any{"Type": "AWS::SNS::Topic", "Properties": map[string]any{"X": map[string]any{"Fn::Base64": "a"}}}}}, nil, ps); err == nil {
		t.Errorf("an unknown function was accepted")
	}
}
