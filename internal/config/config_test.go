package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
)

// load runs Load with a workspace of its own, so no test reads the
// developer's files.
func load(t *testing.T, in Getter, env Env, files map[string]string) (*Plan, error) {
	t.Helper()
	ws := t.TempDir()
	for name, body := range files {
		p := filepath.Join(ws, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := gha.ReadRunner(env)
	r.Workspace.Root = ws
	return Load(context.Background(), in, env, func(o *Options) { o.Runner = &r })
}

func getter(m map[string]string) Getter { return func(k string) string { return m[k] } }

func keys(extra map[string]string) map[string]string {
	m := map[string]string{
		"aws-region": "us-east-1", "aws-access-key-id": "AKIAIOSFODNN7EXAMPLE",
		"aws-secret-access-key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"role-to-assume":        "arn:aws:iam::123456789012:role/deploy",
	}
	for k, v := range extra {
		if v == "<unset>" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

var oidcEnv = func(k string) string {
	return map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": "https://x/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}[k]
}

func noEnv(string) string { return "" }

func TestLoad_sources(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		env    Env
		want   awsauth.Source
	}{
		{"keys", keys(nil), noEnv, awsauth.SourceKeys},
		{"keys_win_over_oidc", keys(nil), oidcEnv, awsauth.SourceKeys},
		{"oidc", map[string]string{"aws-region": "us-east-1", "role-to-assume": "arn:aws:iam::123456789012:role/d"}, oidcEnv, awsauth.SourceOIDC},
		{"token_file", map[string]string{"aws-region": "us-east-1", "role-to-assume": "arn:aws:iam::123456789012:role/d", "web-identity-token-file": "t"}, oidcEnv, awsauth.SourceTokenFile},
		{"chaining", map[string]string{"aws-region": "us-east-1", "role-to-assume": "arn:aws:iam::123456789012:role/d", "role-chaining": "true"},
			func(k string) string {
				return map[string]string{"AWS_ACCESS_KEY_ID": "ASIA", "AWS_SECRET_ACCESS_KEY": "s"}[k]
			}, awsauth.SourceChaining},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, getter(tc.inputs), tc.env, map[string]string{"t": "token"})
			if err != nil {
				t.Fatal(err)
			}
			if c.Auth.Source != tc.want {
				t.Errorf("source = %v, want %v", c.Auth.Source, tc.want)
			}
		})
	}
}

func TestLoad_defaults(t *testing.T) {
	t.Parallel()
	c, err := load(t, getter(keys(nil)), noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		Duration         time.Duration
		Audience         string
		Attempts         int
		OutputEnv, Skip  bool
		RoleName, Deploy string
	}{c.Auth.Duration, c.Auth.Audience, c.Auth.MaxAttempts, c.Export.Env, c.Auth.SkipSessionTagging, c.Auth.RoleName, ""}
	want := struct {
		Duration         time.Duration
		Audience         string
		Attempts         int
		OutputEnv, Skip  bool
		RoleName, Deploy string
	}{time.Hour, "sts.amazonaws.com", awsauth.DefaultAttempts, true, false, "deploy", ""}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	if c.Deploy != nil {
		t.Errorf("deploy configured without stack-name")
	}
}

func TestLoad_rejects_with_input_name_and_fix(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 65)
	cases := []struct {
		name   string
		inputs map[string]string
		env    Env
		want   []string // substrings of the joined error
	}{
		{"missing_region", keys(map[string]string{"aws-region": "<unset>"}), noEnv, []string{"input aws-region: is required"}},
		{"availability_zone", keys(map[string]string{"aws-region": "us-east-1a"}), noEnv, []string{"availability zone"}},
		{"region_upper", keys(map[string]string{"aws-region": "US-EAST-1"}), noEnv, []string{"input aws-region"}},
		{"arn_short_account", keys(map[string]string{"role-to-assume": "arn:aws:iam::12345678901:role/d"}), noEnv, []string{"12 digits"}},
		{"arn_user", keys(map[string]string{"role-to-assume": "arn:aws:iam::123456789012:user/d"}), noEnv, []string{"IAM user"}},
		{"arn_wrong_service", keys(map[string]string{"role-to-assume": "arn:aws:s3::123456789012:role/d"}), noEnv, []string{"must be iam"}},
		{"arn_partition", keys(map[string]string{"role-to-assume": "arn:aws-xx:iam::123456789012:role/d"}), noEnv, []string{"partition"}},
		{"arn_partition_mismatch", keys(map[string]string{"role-to-assume": "arn:aws-cn:iam::123456789012:role/d"}), noEnv, []string{"partition aws-cn"}},
		{"arn_assumed_role", keys(map[string]string{"role-to-assume": "arn:aws:sts::123456789012:assumed-role/d/s"}), noEnv, []string{"assumed-role session"}},
		{"arn_region", keys(map[string]string{"role-to-assume": "arn:aws:iam:us-east-1:123456789012:role/d"}), noEnv, []string{"no region"}},
		{"duration_text", keys(map[string]string{"role-duration-seconds": "1h"}), noEnv, []string{"input role-duration-seconds", "3600"}},
		{"duration_low", keys(map[string]string{"role-duration-seconds": "899"}), noEnv, []string{"900 to 43200"}},
		{"duration_high", keys(map[string]string{"role-duration-seconds": "43201"}), noEnv, []string{"900 to 43200"}},
		{"keys_and_token_file", keys(map[string]string{"web-identity-token-file": "t"}), noEnv, []string{"input web-identity-token-file: cannot be combined"}},
		{"session_name_short", keys(map[string]string{"role-session-name": "a"}), noEnv, []string{"input role-session-name"}},
		{"session_name_long", keys(map[string]string{"role-session-name": long}), noEnv, []string{"2-64"}},
		{"session_name_space", keys(map[string]string{"role-session-name": "a b"}), noEnv, []string{"input role-session-name"}},
		{"external_id_short", keys(map[string]string{"role-external-id": "x"}), noEnv, []string{"input role-external-id"}},
		{"bool_yes", keys(map[string]string{"role-chaining": "yes"}), noEnv, []string{"input role-chaining: \"yes\" is not a boolean"}},
		{"custom_tags_not_json", keys(map[string]string{"custom-tags": "Team=x"}), noEnv, []string{"input custom-tags: is not valid JSON"}},
		{"custom_tags_reserved", keys(map[string]string{"custom-tags": `{"aws:x":"y"}`}), noEnv, []string{"reserved aws: prefix"}},
		{"custom_tags_too_many", keys(map[string]string{"custom-tags": manyTags(50)}), noEnv, []string{"STS allows 50"}},
		{"policy_not_json", keys(map[string]string{"inline-session-policy": "{nope"}), noEnv, []string{"input inline-session-policy"}},
		{"policy_too_long", keys(map[string]string{"inline-session-policy": `{"x":"` + strings.Repeat("a", 2100) + `"}`}), noEnv, []string{"STS allows 2048"}},
		{"managed_too_many", keys(map[string]string{"managed-session-policies": strings.Repeat("arn:aws:iam::aws:policy/ReadOnlyAccess\n", 11)}), noEnv, []string{"at most 10"}},
		{"managed_not_arn", keys(map[string]string{"managed-session-policies": "ReadOnlyAccess"}), noEnv, []string{"not an IAM policy ARN"}},
		{"account_ids", keys(map[string]string{"allowed-account-ids": "1234"}), noEnv, []string{"12-digit"}},
		{"attempts", keys(map[string]string{"retry-max-attempts": "0"}), noEnv, []string{"input retry-max-attempts"}},
		{"timeout", keys(map[string]string{"action-timeout-s": "-1"}), noEnv, []string{"input action-timeout-s"}},
		{"sts_endpoint", keys(map[string]string{"sts-endpoint": "sts.amazonaws.com"}), noEnv, []string{"input sts-endpoint"}},
		{"proxy_password_hidden", keys(map[string]string{"http-proxy": "ftp://user:hunter2@proxy"}), noEnv, []string{"input http-proxy"}},
		{"secret_with_newline", keys(map[string]string{"aws-secret-access-key": "abcdefghij\nabcdefghijkl"}), noEnv, []string{"line break"}},
		{"session_token_line_break", keys(map[string]string{"aws-session-token": "FwoGZXIvYXdzE\nPART2"}), noEnv, []string{"input aws-session-token: contains white space or a line break"}},
		{"sts_plain_http_remote", keys(map[string]string{"sts-endpoint": "http://sts.us-east-1.amazonaws.com"}), noEnv, []string{"input sts-endpoint", "plain http:// to a remote host"}},
		{"key_id_lower", keys(map[string]string{"aws-access-key-id": "akiaiosfodnn7example"}), noEnv, []string{"input aws-access-key-id"}},
		{"oidc_bare_name", map[string]string{"aws-region": "us-east-1", "role-to-assume": "deploy"}, oidcEnv, []string{"full ARN"}},
		{"stack_without_template", keys(map[string]string{"stack-name": "app"}), noEnv, []string{"input template: is required"}},
		{"template_without_stack", keys(map[string]string{"template": "t.yaml"}), noEnv, []string{"input template: is set but stack-name (name) is empty"}},
		{"stack_name_bad", keys(map[string]string{"stack-name": "my_app", "template": "t.yaml"}), noEnv, []string{"input stack-name"}},
		{"capability", keys(map[string]string{"stack-name": "app", "template": "t", "capabilities": "CAPABILITY_ADMIN"}), noEnv, []string{"input capabilities"}},
		{"cfn_role_user", keys(map[string]string{"stack-name": "app", "template": "t", "cloudformation-role-arn": "arn:aws:iam::123456789012:user/x"}), noEnv, []string{"input cloudformation-role-arn"}},
		{"timeout_minutes", keys(map[string]string{"stack-name": "app", "template": "t", "timeout-in-minutes": "0"}), noEnv, []string{"input timeout-in-minutes"}},
		{"change_set_name", keys(map[string]string{"stack-name": "app", "template": "t", "change-set-name": "1x"}), noEnv, []string{"input change-set-name"}},
		{"bucket", keys(map[string]string{"stack-name": "app", "template": "t", "s3-bucket": "My_Bucket"}), noEnv, []string{"input s3-bucket"}},
		{"sns", keys(map[string]string{"stack-name": "app", "template": "t", "notification-arns": "arn:aws:sqs:us-east-1:123456789012:q"}), noEnv, []string{"input notification-arns"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, getter(tc.inputs), tc.env, nil)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, secret := range []string{"wJalrXUtnFEMI", "hunter2", "abcdefghij\n"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error echoes a secret: %v", err)
				}
			}
		})
	}
}

func TestLoad_reports_every_problem_at_once(t *testing.T) {
	t.Parallel()
	_, err := load(t, getter(keys(map[string]string{"aws-region": "x", "role-duration-seconds": "1", "role-session-name": "!", "disable-retry": "maybe"})), noEnv, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	if n := strings.Count(err.Error(), "input "); n != 4 {
		t.Errorf("%d problems reported, want 4:\n%v", n, err)
	}
}

func TestLoad_web_identity_drops_custom_tags_with_warning(t *testing.T) {
	t.Parallel()
	c, err := load(t, getter(map[string]string{"aws-region": "us-east-1", "role-to-assume": "arn:aws:iam::123456789012:role/d", "custom-tags": `{"A":"b"}`}), oidcEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Auth.CustomTags) != 0 || len(c.Warnings) != 1 {
		t.Errorf("tags = %v, warnings = %v", c.Auth.CustomTags, c.Warnings)
	}
}

func manyTags(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"K` + strings.Repeat("x", i) + `":"v"`)
	}
	return b.String() + "}"
}

const template = "Parameters:\n  Env:\n    Type: String\n  DBPassword:\n    Type: String\n    NoEcho: true\nResources: {}\n"

func withDeploy(extra map[string]string) map[string]string {
	m := keys(map[string]string{"stack-name": "app", "template": "infra/app.yaml", "cloudformation-role-arn": "arn:aws:iam::123456789012:role/cfn"})
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestLoad_deploy_plan(t *testing.T) {
	t.Parallel()
	p, err := load(t, getter(withDeploy(map[string]string{"parameter-overrides": "file://params.json", "tags": "team=web", "capabilities": "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND"})), noEnv,
		map[string]string{"infra/app.yaml": template, "params.json": `{"Env":"prod"}`})
	if err != nil {
		t.Fatal(err)
	}
	d := p.Deploy
	got := struct {
		Declared     []string
		Params, Caps []string
		Session      string
	}{d.Template.Parameters, []string{d.Parameters[0].Key + "=" + d.Parameters[0].Value}, d.Capabilities, p.Auth.SessionDiscriminator}
	want := struct {
		Declared     []string
		Params, Caps []string
		Session      string
	}{[]string{"DBPassword", "Env"}, []string{"Env=prod"}, []string{"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}, "app-us-east-1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if d.ChangeSetName == "" || d.ClientToken != d.ChangeSetName {
		t.Errorf("change set %q, token %q", d.ChangeSetName, d.ClientToken)
	}
}

// The workspace rule holds for every file input: the template, file://
// parameter files and web-identity-token-file.
func TestLoad_files_stay_in_the_workspace(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(outside, []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		inputs map[string]string
		env    Env
		link   string // a symlink "link" in the workspace pointing here
		want   string
	}{
		{"template_dotdot", withDeploy(map[string]string{"template": "../secret.yaml"}), noEnv, "", "input template: \"../secret.yaml\" resolves to a file outside the workspace"},
		{"template_absolute", withDeploy(map[string]string{"template": outside}), noEnv, "", "outside the workspace"},
		{"template_symlink", withDeploy(map[string]string{"template": "link"}), noEnv, outside, "input template: \"link\" resolves to a file outside the workspace"},
		{"template_proc", withDeploy(map[string]string{"template": "link"}), noEnv, "/proc/self/fd/1", "outside the workspace"},
		{"param_file_outside", withDeploy(map[string]string{"parameter-overrides": "file://" + outside}), noEnv, "", "input parameter-overrides"},
		{"token_file_symlink", map[string]string{"aws-region": "us-east-1", "role-to-assume": "arn:aws:iam::123456789012:role/d", "web-identity-token-file": "link"}, noEnv, outside, "input web-identity-token-file: \"link\" is a symbolic link"},
		{"template_missing", withDeploy(map[string]string{"template": "nope.yaml"}), noEnv, "", "input template: \"nope.yaml\" not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws := t.TempDir()
			if err := os.MkdirAll(filepath.Join(ws, "infra"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ws, "infra/app.yaml"), []byte(template), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.link != "" {
				if err := os.Symlink(tc.link, filepath.Join(ws, "link")); err != nil {
					t.Fatal(err)
				}
			}
			r := gha.ReadRunner(tc.env)
			r.Workspace.Root = ws
			var read []string
			_, err := Load(context.Background(), getter(tc.inputs), tc.env, func(o *Options) {
				o.Runner = &r
				o.ReadFile = func(p string) ([]byte, error) { read = append(read, p); return os.ReadFile(p) }
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			for _, p := range read {
				if !strings.HasPrefix(p, ws) {
					t.Errorf("read %s outside the workspace", p)
				}
			}
		})
	}
}

func TestLoad_template_checks(t *testing.T) {
	t.Parallel()
	big := "Resources:\n  B:\n    Type: AWS::S3::Bucket\n" + strings.Repeat("# padding\n", 6000)
	cases := []struct {
		name   string
		inputs map[string]string
		files  map[string]string
		want   string
	}{
		{"undeclared_override_named_not_valued", withDeploy(map[string]string{"parameter-overrides": "Nope=secret-value"}), map[string]string{"infra/app.yaml": template},
			"input parameter-overrides: the template does not declare Nope (it declares: DBPassword, Env)"},
		{"large_needs_bucket", withDeploy(nil), map[string]string{"infra/app.yaml": big}, "set s3-bucket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, getter(tc.inputs), noEnv, tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret-value") {
				t.Fatalf("err = %v, want %q without the value", err, tc.want)
			}
		})
	}
}

// Template loading runs before any other deadline, so action-timeout-s
// must bound it: a reader that never returns cannot hold the step.
func TestLoad_action_timeout_bounds_template_loading(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	defer close(block)
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "t.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := gha.ReadRunner(noEnv)
	r.Workspace.Root = ws
	_, err := Load(context.Background(), getter(keys(map[string]string{"stack-name": "app", "template": "t.yaml", "action-timeout-s": "1"})), noEnv, func(o *Options) {
		o.Runner = &r
		o.ReadFile = func(string) ([]byte, error) { <-block; return nil, nil }
	})
	if err == nil || !strings.Contains(err.Error(), "input template: \"t.yaml\" was still loading when action-timeout-s (1s) ran out") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoad_sts_endpoint_http_only_on_loopback(t *testing.T) {
	t.Parallel()
	for _, ep := range []string{"http://127.0.0.1:4566", "http://localhost:5000", "http://[::1]:80", "https://sts.us-east-1.amazonaws.com"} {
		if _, err := load(t, getter(keys(map[string]string{"sts-endpoint": ep})), noEnv, nil); err != nil {
			t.Errorf("%s refused: %v", ep, err)
		}
	}
}
