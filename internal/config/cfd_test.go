package config

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
)

// The test vectors of aws-cloudformation-github-deploy v2.2.0 (CFD) for
// booleans and modes, from ../shared/peers/aws-cloudformation-github-deploy.
// Each case names the CFD test it comes from and holds our result; where we
// differ on purpose, why says so.

// cfdUtils and cfdMain are the CFD test files.
const (
	cfdUtils = "__tests__/utils.test.ts"
	cfdMain  = "__tests__/main.test.ts"
)

func TestParseBool_cfd_vectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfd     string // file: describe / test
		in      string
		want    bool
		wantErr bool
		why     string // set where we differ from CFD
	}{
		// CFD's native boolean cases reach a Docker action as text.
		{cfd: cfdUtils + `: parseBoolean / handles native boolean true`, in: "true", want: true},
		{cfd: cfdUtils + `: parseBoolean / handles native boolean false`, in: "false", want: false},
		{cfd: cfdUtils + `: parseBoolean / handles string "true"`, in: "true", want: true},
		{cfd: cfdUtils + `: parseBoolean / handles string "false"`, in: "false", want: false},
		{cfd: cfdUtils + `: parseBoolean / handles legacy string "1"`, in: "1", want: true},
		{cfd: cfdUtils + `: parseBoolean / handles legacy string "0"`, in: "0", want: false},
		{cfd: cfdUtils + `: parseBoolean / handles undefined`, in: "", want: false},
		{cfd: cfdUtils + `: parseBoolean / handles empty string`, in: "", want: false},
		// Beyond CFD's vectors: what its parseBoolean does with other text
		// (run with node against dist/index.js).
		{cfd: "CFD dist parseBoolean(\"True\") = false", in: "True", want: true, why: "CFD reads True and TRUE as false (!!+\"True\"); we accept any case, as configure-aws-credentials does"},
		{cfd: "CFD dist parseBoolean(\"TRUE\") = false", in: "TRUE", want: true, why: "as above"},
		{cfd: "CFD dist parseBoolean(\"yes\") = false", in: "yes", wantErr: true, why: "a value that is neither true/false nor 1/0 is refused, not guessed"},
		{cfd: "CFD dist parseBoolean(\"2\") = true", in: "2", wantErr: true, why: "as above"},
	} {
		t.Run(tc.cfd, func(t *testing.T) {
			t.Parallel()
			p := &problems{}
			got := parseBool(p, "disable-rollback", tc.in, false)
			if (len(p.errs) > 0) != tc.wantErr || got != tc.want {
				t.Errorf("parseBool(%q) = %v, errors %v; want %v, error %v (%s)", tc.in, got, p.errs, tc.want, tc.wantErr, tc.why)
			}
		})
	}
}

// cfdInputs are CFD's createInputs() defaults of main.test.ts, as the
// runner passes them to this action, with credentials added.
func cfdInputs(over map[string]string) map[string]string {
	m := keys(map[string]string{
		"mode": "create-and-execute", "name": "MockStack", "template": "template.yaml", "capabilities": "CAPABILITY_IAM",
		"parameter-overrides": "AdminEmail=no-reply@amazon.com", "fail-on-empty-changeset": "1", "no-execute-changeset": "0",
		"no-delete-failed-changeset": "0", "disable-rollback": "0", "include-nested-stacks-change-set": "0",
	})
	for k, v := range over {
		if v == "<unset>" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// cfdTemplate is main.test.ts's mockTemplate.
const cfdTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Metadata:
    LICENSE: MIT
Parameters:
    AdminEmail:
        Type: String
Resources:
    CFSNSSubscription:
        Type: AWS::SNS::Subscription
        Properties:
            Endpoint: !Ref AdminEmail
            Protocol: email
            TopicArn: !Ref CFSNSTopic
    CFSNSTopic:
        Type: AWS::SNS::Topic
Outputs:
    CFSNSTopicArn:
        Value: !Ref CFSNSTopic
`

func TestLoad_cfd_mode_vectors(t *testing.T) {
	t.Parallel()
	type plan struct {
		Stack, ExecuteChangeSet, RoleARN, DeploymentMode    string
		Execute, FailOnEmpty, DeleteFailed, Disable, Nested bool
		Protect                                             bool
		Timeout                                             time.Duration
	}
	base := plan{Stack: "MockStack", Execute: true, FailOnEmpty: true, DeleteFailed: true}
	with := func(f func(*plan)) plan { p := base; f(&p); return p }
	for _, tc := range []struct {
		cfd  string
		in   map[string]string
		want plan
		why  string
	}{
		{cfd: cfdMain + ": deploys the stack with template from relative path", in: nil, want: base},
		{cfd: cfdMain + ": deploys the stack with termination protection", in: map[string]string{"fail-on-empty-changeset": "0", "termination-protection": "1"},
			want: with(func(p *plan) { p.FailOnEmpty, p.Protect = false, true })},
		{cfd: cfdMain + ": deploys the stack with disabling rollback", in: map[string]string{"fail-on-empty-changeset": "0", "disable-rollback": "1"},
			want: with(func(p *plan) { p.FailOnEmpty, p.Disable = false, true })},
		{cfd: cfdMain + ": deploys the stack with Role ARN", in: map[string]string{"fail-on-empty-changeset": "0", "role-arn": "arn:aws:iam::123456789012:role/my-role"},
			want: with(func(p *plan) { p.FailOnEmpty, p.RoleARN = false, "arn:aws:iam::123456789012:role/my-role" })},
		{cfd: cfdMain + ": deploys the stack with timeout", in: map[string]string{"fail-on-empty-changeset": "0", "timeout-in-minutes": "10"},
			want: with(func(p *plan) { p.FailOnEmpty, p.Timeout = false, 10*time.Minute }),
			why:  "CFD waits 10 minutes, then warns and succeeds; we fail after 10 minutes, saying CloudFormation carries on (succeeding on an unfinished deploy is unsafe)"},
		{cfd: cfdMain + ": no execute change set on update the stack", in: map[string]string{"no-execute-changeset": "1"},
			want: with(func(p *plan) { p.Execute = false })},
		{cfd: cfdMain + ": change set is not deleted if creating change set fails", in: map[string]string{"no-delete-failed-changeset": "1"},
			want: with(func(p *plan) { p.DeleteFailed = false })},
		{cfd: cfdMain + ": no deleting change set if change set is empty", in: map[string]string{"fail-on-empty-changeset": "0", "no-delete-failed-changeset": "1"},
			want: with(func(p *plan) { p.FailOnEmpty, p.DeleteFailed = false, false })},
		{cfd: cfdMain + ": create-only mode creates change set without executing", in: map[string]string{"mode": "create-only"},
			want: with(func(p *plan) { p.Execute = false })},
		{cfd: cfdMain + ": create-only mode with empty change set", in: map[string]string{"mode": "create-only", "fail-on-empty-changeset": "0"},
			want: with(func(p *plan) { p.Execute, p.FailOnEmpty = false, false })},
		{cfd: cfdMain + ": execute-only mode executes existing change set",
			in:   map[string]string{"mode": "execute-only", "execute-change-set-id": "arn:aws:cloudformation:us-east-1:123456789012:changeSet/test-cs/abc123", "fail-on-empty-changeset": "<unset>"},
			want: plan{Stack: "MockStack", Execute: true, ExecuteChangeSet: "arn:aws:cloudformation:us-east-1:123456789012:changeSet/test-cs/abc123"}},
		{cfd: "CFD v1 action.yml: no-fail-on-empty-changeset", in: map[string]string{"fail-on-empty-changeset": "<unset>", "no-fail-on-empty-changeset": "1"},
			want: with(func(p *plan) { p.FailOnEmpty = false })},
		{cfd: "CFD action.yml: include-nested-stacks-change-set, deployment-mode", in: map[string]string{"include-nested-stacks-change-set": "1", "deployment-mode": "REVERT_DRIFT"},
			want: with(func(p *plan) { p.Nested, p.DeploymentMode = true, "REVERT_DRIFT" })},
	} {
		t.Run(tc.cfd, func(t *testing.T) {
			t.Parallel()
			p, err := load(t, getter(cfdInputs(tc.in)), noEnv, map[string]string{"template.yaml": cfdTemplate})
			if err != nil {
				t.Fatal(err)
			}
			d := p.Deploy
			got := plan{d.StackName, d.ExecuteChangeSet, d.RoleARN, d.DeploymentMode, d.Execute, d.FailOnEmpty, d.DeleteFailedChangeSet,
				d.DisableRollback, d.IncludeNestedStacks, d.TerminationProtection, d.Timeout}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s%s", diff, tc.why)
			}
		})
	}
}

func TestLoad_cfd_aliases_and_contradictions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   map[string]string
		want []string // substrings of the error; none for success
	}{
		{"same_stack_name_twice_is_fine", map[string]string{"stack-name": "MockStack"}, nil},
		{"stack_names_differ", map[string]string{"stack-name": "Other"}, []string{"input stack-name: and name are both set, to different values"}},
		{"role_arns_differ", map[string]string{"role-arn": "arn:aws:iam::123456789012:role/a", "cloudformation-role-arn": "arn:aws:iam::123456789012:role/b"}, []string{"input cloudformation-role-arn: and role-arn are both set"}},
		{"execute_and_no_execute_agree", map[string]string{"no-execute-changeset": "true", "execute-changeset": "false"}, nil},
		{"execute_contradicts_no_execute", map[string]string{"no-execute-changeset": "1", "execute-changeset": "TRUE"}, []string{"input execute-changeset: contradicts no-execute-changeset"}},
		{"create_only_contradicts_execute", map[string]string{"mode": "create-only", "execute-changeset": "true"}, []string{"input mode: create-only contradicts execute-changeset"}},
		{"execute_only_contradicts_no_execute", map[string]string{"mode": "execute-only", "execute-change-set-id": "cs-1", "no-execute-changeset": "1"}, []string{"input mode: execute-only contradicts no-execute-changeset"}},
		{"fail_on_empty_contradicts_v1", map[string]string{"no-fail-on-empty-changeset": "1"}, []string{"input fail-on-empty-changeset: contradicts no-fail-on-empty-changeset"}},
		{"delete_failed_contradicts", map[string]string{"delete-failed-changeset": "true", "no-delete-failed-changeset": "true"}, []string{"input delete-failed-changeset: contradicts no-delete-failed-changeset"}},
		{"unknown_mode", map[string]string{"mode": "execute"}, []string{`input mode: "execute" is not a mode`}},
		{"execute_only_needs_id", map[string]string{"mode": "execute-only"}, []string{"input execute-change-set-id: is required with mode: execute-only"}},
		{"execute_only_bad_id", map[string]string{"mode": "execute-only", "execute-change-set-id": "arn:aws:s3:::bucket"}, []string{"is not a change set ARN"}},
		{"id_without_execute_only", map[string]string{"execute-change-set-id": "cs-1"}, []string{"input execute-change-set-id: is only used with mode: execute-only"}},
		{"deployment_mode", map[string]string{"deployment-mode": "revert"}, []string{`input deployment-mode: "revert" is not a deployment mode`}},
		{"boolean_word", map[string]string{"no-execute-changeset": "yes"}, []string{`input no-execute-changeset: "yes" is not a boolean; write true or false (or 1 or 0)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, getter(cfdInputs(tc.in)), noEnv, map[string]string{"template.yaml": cfdTemplate})
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoad_execute_only_warns_about_ignored_inputs(t *testing.T) {
	t.Parallel()
	p, err := load(t, getter(cfdInputs(map[string]string{"mode": "execute-only", "execute-change-set-id": "review-42", "fail-on-empty-changeset": "<unset>"})), noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range p.Warnings {
		got = append(got, strings.SplitN(w, " ", 2)[0])
	}
	if diff := cmp.Diff([]string{"template", "parameter-overrides"}, got); diff != "" {
		t.Errorf("warned about (-want +got):\n%s\n%v", diff, p.Warnings)
	}
	if p.Deploy.ExecuteChangeSet != "review-42" || p.Deploy.Template.Body != "" {
		t.Errorf("deploy = %+v", p.Deploy)
	}
}

func TestLoad_parameter_file_from_https(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/params.json":
			_, _ = w.Write([]byte(`[{"ParameterKey":"AdminEmail","ParameterValue":"ops@example.com","ResolvedValue":"x"}]`))
		case "/big.json":
			_, _ = w.Write([]byte(strings.Repeat(" ", MaxFileSize+1)))
		default:
			http.Error(w, "denied", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, path, want string
		extra            map[string]string
		wantHits         int32
	}{
		{name: "fetched", path: "/params.json?X-Amz-Signature=s3cr3t", wantHits: 1},
		{name: "forbidden_hides_query", path: "/private.json?X-Amz-Security-Token=s3cr3t", want: "input parameter-overrides: reading " + srv.URL + "/private.json: the server answered HTTP 403", wantHits: 1},
		{name: "size_bound", path: "/big.json", want: "over the 2097152-byte limit", wantHits: 1},
		{name: "not_fetched_when_other_inputs_are_wrong", path: "/params.json", extra: map[string]string{"aws-region": "nowhere"}, want: "not fetched, because of the other problems", wantHits: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits.Store(0)
			in := cfdInputs(map[string]string{"parameter-overrides": srv.URL + tc.path})
			for k, v := range tc.extra {
				in[k] = v
			}
			ws := t.TempDir()
			if err := os.WriteFile(filepath.Join(ws, "template.yaml"), []byte(cfdTemplate), 0o644); err != nil {
				t.Fatal(err)
			}
			r := gha.ReadRunner(noEnv)
			r.Workspace.Root = ws
			p, err := Load(context.Background(), getter(in), noEnv, func(o *Options) { o.Runner, o.HTTPClient = &r, srv.Client() })
			if n := hits.Load(); n != tc.wantHits {
				t.Errorf("%d requests, want %d", n, tc.wantHits)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := p.Deploy.Parameters; len(got) != 1 || got[0].Value != "ops@example.com" {
					t.Errorf("parameters = %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("err = %v, want %q without the query", err, tc.want)
			}
		})
	}
}

// An unquoted value with a comma makes a junk parameter in CFD; here it is
// an error that names the item by position, lists the declared names and
// shows no piece of the value.
func TestLoad_split_value_names_position_and_declared_parameters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"no_equals", "AdminEmail=no-reply@amazon.com,s3cr3t-tail", "input parameter-overrides: item 2 (after AdminEmail) has no '='"},
		{"piece_with_equals", "AdminEmail=a,s3cr3t=tail", "input parameter-overrides: item 2 (after AdminEmail) names a parameter the template does not declare"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, getter(cfdInputs(map[string]string{"parameter-overrides": tc.in})), noEnv, map[string]string{"template.yaml": cfdTemplate})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "declares: AdminEmail") {
				t.Fatalf("err = %v, want %q and the declared names", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "tail") {
				t.Errorf("error shows a piece of the value: %v", err)
			}
		})
	}
}

// A CFD step has no credential inputs: a previous step (configure-aws-
// credentials) put the credentials and the region in the environment. The
// SDK's default chain is the source, and a deploy step takes the job's region.
func TestLoad_cfd_step_uses_the_environment(t *testing.T) {
	t.Parallel()
	cfdStep := map[string]string{"name": "MockStack", "template": "template.yaml", "parameter-overrides": "AdminEmail=no-reply@amazon.com", "no-fail-on-empty-changeset": "1"}
	envOf := func(m map[string]string) Env { return func(k string) string { return m[k] } }
	prev := map[string]string{"AWS_ACCESS_KEY_ID": "ASIAPREVIOUSSTEP0001", "AWS_SECRET_ACCESS_KEY": "previousStepSecret0123456789", "AWS_SESSION_TOKEN": "tok", "AWS_REGION": "eu-west-1"}
	p, err := load(t, getter(cfdStep), envOf(prev), map[string]string{"template.yaml": cfdTemplate})
	if err != nil {
		t.Fatal(err)
	}
	if p.Auth.Source != awsauth.SourceDefaultChain || p.Auth.RoleName != "" || p.Region != "eu-west-1" {
		t.Errorf("auth = %+v, region %q", p.Auth, p.Region)
	}
	if diff := cmp.Diff([]string{"aws-region is not set: using eu-west-1 from AWS_REGION, as aws-cloudformation-github-deploy does"}, p.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		env    map[string]string
		want   string
	}{
		{"not_for_credentials_only_steps", map[string]string{"role-to-assume": "arn:aws:iam::123456789012:role/d"}, prev, "input aws-region: is required"},
		{"no_region_anywhere", cfdStep, map[string]string{"AWS_ACCESS_KEY_ID": "ASIAPREVIOUSSTEP0001", "AWS_SECRET_ACCESS_KEY": "previousStepSecret0123456789"}, "input aws-region: is required"},
		{"bad_region_in_env", cfdStep, map[string]string{"AWS_DEFAULT_REGION": "eu-west-1a"}, `input aws-region: is not set, and "eu-west-1a" (from AWS_DEFAULT_REGION) is not an AWS region`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, getter(tc.inputs), envOf(tc.env), map[string]string{"template.yaml": cfdTemplate})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "previousStepSecret") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func mergeInputs(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
