package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

func wantEnvKeys(t *testing.T, env map[string]string) {
	t.Helper()
	var keys []string
	for k := range env {
		keys = append(keys, k)
	}
	want := []string{"AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
	if d := cmp.Diff(want, sortStrings(keys)); d != "" {
		t.Errorf("GITHUB_ENV keys (-want +got):\n%s", d)
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// assertMaskedFirst checks that each secret's first appearance on stdout is
// its own ::add-mask:: line.
func assertMaskedFirst(t *testing.T, stdout string, secrets ...string) {
	t.Helper()
	lines := actionrun.LogLines(stdout)
	for _, s := range secrets {
		if s == "" {
			t.Errorf("empty secret")
			continue
		}
		if line := actionrun.FirstLine(lines, s); line >= 0 && !actionrun.IsMaskCommand(lines[line]) {
			t.Errorf("secret %q…: first appears unmasked on line %d", s[:4], line)
		} else if line < 0 {
			t.Errorf("secret %q… was never masked", s[:4])
		}
	}
}

func TestStoredKeys_assume_role_exports_verified_credentials(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	j := newJob(t, srv)
	r := j.Run(keysInput(nil)).MustSucceed(t)

	wantEnvKeys(t, r.Env)
	if !strings.HasPrefix(r.Env["AWS_ACCESS_KEY_ID"], "ASIA") || r.Env["AWS_SESSION_TOKEN"] == "" {
		t.Errorf("exported credentials are not temporary: %q", r.Env["AWS_ACCESS_KEY_ID"])
	}
	if r.Env["AWS_REGION"] != "ap-northeast-1" || r.Env["AWS_DEFAULT_REGION"] != "ap-northeast-1" {
		t.Errorf("region = %q / %q", r.Env["AWS_REGION"], r.Env["AWS_DEFAULT_REGION"])
	}
	if r.Outputs["aws-account-id"] != "123456789012" || !strings.Contains(r.Outputs["authenticated-arn"], ":assumed-role/"+deployRole+"/GitHubActions-4242-1-deploy-") {
		t.Errorf("outputs = %v", r.Outputs)
	}
	if _, err := time.Parse(time.RFC3339, r.Outputs["aws-expiration"]); err != nil {
		t.Errorf("aws-expiration = %q", r.Outputs["aws-expiration"])
	}
	if _, ok := r.Outputs["aws-secret-access-key"]; ok {
		t.Errorf("credentials output without output-credentials")
	}
	assertMaskedFirst(t, r.Stdout, userSecret, userKeyID, r.Env["AWS_SECRET_ACCESS_KEY"], r.Env["AWS_SESSION_TOKEN"], r.Env["AWS_ACCESS_KEY_ID"])
	if strings.Contains(r.Stderr, r.Env["AWS_SECRET_ACCESS_KEY"]) {
		t.Errorf("secret on stderr")
	}
	// AssumeRole carried session tags and the 1 h default; its answer
	// confirmed the account and role, so there is no second STS call.
	var assume *fakecore.Call
	for _, q := range srv.Calls() {
		if q.Action == "AssumeRole" {
			q := q
			assume = &q
		}
	}
	if assume == nil {
		t.Fatal("no AssumeRole call")
	}
	if assume.Param("DurationSeconds") != "3600" || assume.Param("Tags.member.1.Key") != "GitHub" {
		t.Errorf("AssumeRole form = %v", assume.Params)
	}
	if n := len(srv.Calls()); n != 1 || srv.Count("sts", "GetCallerIdentity") != 0 {
		t.Errorf("%d STS calls (%d GetCallerIdentity), want AssumeRole alone", n, srv.Count("sts", "GetCallerIdentity"))
	}
}

func TestOIDC_assume_role_with_web_identity(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	j := newJob(t, srv).OIDC(srv)
	r := j.Run(oidcInput(map[string]string{"custom-tags": `{"Team":"x"}`})).MustSucceed(t)
	wantEnvKeys(t, r.Env)
	if got := srv.Count("sts", "AssumeRoleWithWebIdentity"); got != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d", got)
	}
	for _, q := range srv.Calls() {
		for k := range q.Params {
			if strings.HasPrefix(k, "Tags.") {
				t.Errorf("web identity request carries tags: %s", k)
			}
		}
	}
	if !strings.Contains(r.Stdout, "custom-tags are ignored with web identity") {
		t.Errorf("no warning about ignored custom tags")
	}
	assertMaskedFirst(t, r.Stdout, r.Env["AWS_SECRET_ACCESS_KEY"], r.Env["AWS_SESSION_TOKEN"], j.Env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
}

func TestOIDC_missing_permission_fails_before_any_call(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	r := newJob(t, srv).Run(oidcInput(nil))
	r.MustFail(t, "id-token: write", "forks")
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d requests reached AWS", n)
	}
}

func TestOIDC_sub_mismatch_fails_fast_with_claims_and_condition(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{Claims: map[string]any{"sub": "repo:octo-org/octo-repo:environment:prod", "environment": "prod"}})
	r := newJob(t, srv).OIDC(srv).Run(oidcInput(nil))
	r.MustFail(t, `sub="repo:octo-org/octo-repo:environment:prod"`, `token.actions.githubusercontent.com:sub`, "environment:NAME")
	if got := srv.Count("sts", "AssumeRoleWithWebIdentity"); got != 1 {
		t.Errorf("AccessDenied was retried: %d calls", got)
	}
	if r.Elapsed > 5*time.Second {
		t.Errorf("took %s to fail on AccessDenied", r.Elapsed)
	}
}

func TestOIDC_transient_errors_retry_with_a_fresh_token(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	srv.InjectFault("AssumeRoleWithWebIdentity", fakecore.Fault{Code: "InvalidIdentityToken", Message: "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements"})
	srv.InjectFault("AssumeRoleWithWebIdentity", fakecore.Fault{Code: "Throttling"})
	r := newJob(t, srv).OIDC(srv).Run(oidcInput(nil)).MustSucceed(t)
	wantEnvKeys(t, r.Env)
	jtis := srv.WebIdentityJTIs()
	if len(jtis) != 3 {
		t.Fatalf("web identity attempts = %d, want 3", len(jtis))
	}
	seen := map[string]bool{}
	for _, j := range jtis {
		if seen[j] {
			t.Errorf("token %s reused across attempts", j)
		}
		seen[j] = true
	}
}

func TestStoredKeys_without_role_exports_keys_as_they_are(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	in := keysInput(nil)
	delete(in, "role-to-assume")
	r := newJob(t, srv).Run(in).MustSucceed(t)
	if r.Env["AWS_ACCESS_KEY_ID"] != userKeyID || r.Env["AWS_SECRET_ACCESS_KEY"] != userSecret || r.Env["AWS_SESSION_TOKEN"] != "" {
		t.Errorf("env = %v", r.Env)
	}
	if srv.Count("sts", "AssumeRole") != 0 || srv.Count("sts", "GetCallerIdentity") != 1 {
		t.Errorf("calls: %v", srv.Calls())
	}
}

func TestBareRoleName_resolves_in_the_source_account(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	r := newJob(t, srv).Run(keysInput(map[string]string{"role-to-assume": deployRole})).MustSucceed(t)
	if !strings.Contains(r.Outputs["authenticated-arn"], "assumed-role/"+deployRole) {
		t.Errorf("outputs = %v", r.Outputs)
	}
}

func TestAllowedAccountIDs_mismatch_writes_nothing(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	newJob(t, srv).Run(keysInput(map[string]string{"allowed-account-ids": "111111111111, 222222222222"})).
		MustFail(t, "not in allowed-account-ids")
}

func TestTagSession_missing_in_trust_policy_says_how_to_fix(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	srv.AddRole(fakeaws.Role{Name: "no-tags", TrustedUsers: []string{"ci"}})
	newJob(t, srv).Run(keysInput(map[string]string{"role-to-assume": "arn:aws:iam::123456789012:role/no-tags"})).
		MustFail(t, "sts:TagSession", "role-skip-session-tagging")
	r := newJob(t, srv).Run(keysInput(map[string]string{"role-to-assume": "arn:aws:iam::123456789012:role/no-tags", "role-skip-session-tagging": "true"})).MustSucceed(t)
	wantEnvKeys(t, r.Env)
}

func TestPackedPolicyTooLarge_retries_once_without_optional_tags(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	srv.AddRole(fakeaws.Role{Name: "small", TrustedUsers: []string{"ci"}, AllowTagSession: true, MaxTags: 8})
	r := newJob(t, srv).Run(keysInput(map[string]string{"role-to-assume": "arn:aws:iam::123456789012:role/small"})).MustSucceed(t)
	if got := srv.Count("sts", "AssumeRole"); got != 2 {
		t.Errorf("AssumeRole calls = %d, want 2", got)
	}
	if !strings.Contains(r.Stdout, "without the optional tags") {
		t.Errorf("no log line about dropping tags:\n%s", r.Stdout)
	}
}

func TestThrottling_is_retried_then_succeeds(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	srv.InjectFault("AssumeRole", fakecore.Fault{Code: "Throttling", Times: 2})
	r := newJob(t, srv).Run(keysInput(nil)).MustSucceed(t)
	if got := srv.Count("sts", "AssumeRole"); got != 3 {
		t.Errorf("AssumeRole calls = %d, want 3", got)
	}
	if !strings.Contains(r.Stdout, "attempt 1 failed (Throttling)") {
		t.Errorf("retry not logged:\n%s", r.Stdout)
	}
}

func TestWrongSecret_fails_fast_with_fix(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	r := newJob(t, srv).Run(keysInput(map[string]string{"aws-secret-access-key": "wrongSecretKey/0123456789abcdefghijklmnop"}))
	r.MustFail(t, "SignatureDoesNotMatch", "store the secret again")
	if got := srv.Count("sts", "AssumeRole"); got != 1 {
		t.Errorf("AssumeRole calls = %d, want 1 (no retry)", got)
	}
}

func TestUnreachableSTS_gives_up_within_the_budget(t *testing.T) {
	t.Parallel()
	j := newJob(t, nil)
	j.Env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9" // discard port: connection refused
	r := j.Run(keysInput(map[string]string{"action-timeout-s": "6"}))
	r.MustFail(t, "could not be reached", "gave up after")
	if r.Elapsed > 10*time.Second {
		t.Errorf("took %s, budget 6 s", r.Elapsed)
	}
}

func TestRoleChaining_uses_environment_credentials(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	first := newJob(t, srv)
	r1 := first.Run(keysInput(nil)).MustSucceed(t)
	srv.AddRole(fakeaws.Role{Name: "second", AllowTagSession: true})
	j := newJob(t, srv)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		j.Env[k] = r1.Env[k]
	}
	r := j.Run(map[string]string{"aws-region": "ap-northeast-1", "role-chaining": "true", "role-to-assume": "arn:aws:iam::123456789012:role/second"}).MustSucceed(t)
	if !strings.Contains(r.Outputs["authenticated-arn"], "assumed-role/second/") {
		t.Errorf("outputs = %v", r.Outputs)
	}
	assertMaskedFirst(t, r.Stdout, r1.Env["AWS_SECRET_ACCESS_KEY"], r1.Env["AWS_SESSION_TOKEN"])
}

func TestWebIdentityTokenFile_relative_to_workspace(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	tok, err := srv.IDToken("sts.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	j := newJob(t, srv)
	if err := os.WriteFile(filepath.Join(j.Workspace, "token"), []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := j.Run(oidcInput(map[string]string{"web-identity-token-file": "token"})).MustSucceed(t)
	assertMaskedFirst(t, r.Stdout, tok)
}

// The real AWS CLI uses the exported variables and sees the assumed role.
func TestAWSCLI_uses_exported_credentials(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("short mode")
	}
	for _, cli := range []struct{ name, bin string }{{"aws_v1", "aws"}, {"aws_v2", "/usr/bin/aws"}} {
		t.Run(cli.name, func(t *testing.T) {
			t.Parallel()
			if _, err := exec.LookPath(cli.bin); err != nil {
				t.Skipf("%s not installed (.ci/run installs it)", cli.bin)
			}
			srv := newFake(t, fakeaws.Options{})
			r := newJob(t, srv).Run(keysInput(nil)).MustSucceed(t)
			cmd := exec.Command(cli.bin, "sts", "get-caller-identity", "--output", "text", "--query", "Arn", "--endpoint-url", srv.URL())
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
			for k, v := range r.Env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", cli.bin, err, out)
			}
			if got := strings.TrimSpace(string(out)); got != r.Outputs["authenticated-arn"] {
				t.Errorf("CLI sees %q, want %q", got, r.Outputs["authenticated-arn"])
			}
		})
	}
}

// AWS_CA_BUNDLE (corporate TLS proxies) must keep working: the SDK can only
// add the bundle to an HTTP client it knows how to rebuild.
func TestAWSCABundle_is_honoured(t *testing.T) {
	t.Parallel()
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(bundle); err != nil {
		t.Skipf("no CA bundle at %s", bundle)
	}
	srv := newFake(t, fakeaws.Options{})
	j := newJob(t, srv)
	j.Env["AWS_CA_BUNDLE"] = bundle
	wantEnvKeys(t, j.Run(keysInput(nil)).MustSucceed(t).Env)
}

func TestOutputEnvCredentials_false_and_unset_current_credentials(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	r := newJob(t, srv).Run(keysInput(map[string]string{"output-env-credentials": "false", "output-credentials": "true"})).MustSucceed(t)
	if len(r.Env) != 0 {
		t.Errorf("GITHUB_ENV written with output-env-credentials false: %v", r.Env)
	}
	if !strings.HasPrefix(r.Outputs["aws-access-key-id"], "ASIA") || r.Outputs["aws-session-token"] == "" {
		t.Errorf("outputs = %v", r.Outputs)
	}
	// With unset-current-credentials too nothing is written, as in
	// configure-aws-credentials (its unsetCredentials needs output-env-credentials).
	r = newJob(t, srv).Run(keysInput(map[string]string{"output-env-credentials": "false", "unset-current-credentials": "true"})).MustSucceed(t)
	if r.EnvRaw != "" {
		t.Errorf("GITHUB_ENV written: %q", r.EnvRaw)
	}
}
