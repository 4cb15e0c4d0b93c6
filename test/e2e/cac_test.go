package e2e

// configure-aws-credentials v6.2.3 compatibility through the binary: the
// protected and default session tags, the unset rule, token-file links, the
// SDK's default chain (an instance profile behind a fake IMDSv2), proxies,
// and named profiles used by the real AWS CLI in later steps.

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakeimds"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakeproxy"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerfile"
)

// CAC index.test.ts "rejects custom tags that conflict with protected session
// tags" (and the Branch, droppable and lower-case variants): refused before
// any request, so no policy trusting aws:PrincipalTag/Repository can be fooled.
func TestCAC_protected_custom_tags_refused_with_no_request(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	for _, tags := range []string{`{"Repository":"evil-repo"}`, `{"Branch":"evil-branch"}`, `{"EventName":"workflow_dispatch"}`, `{"repository":"evil-repo"}`} {
		r := newJob(t, srv).Run(keysInput(map[string]string{"custom-tags": tags}))
		r.MustFail(t, "input custom-tags", "cannot be overridden")
		if len(r.Env) != 0 || len(r.Outputs) != 0 {
			t.Errorf("%s: wrote env %v, outputs %v", tags, r.Env, r.Outputs)
		}
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d requests reached STS: %v", n, srv.Calls())
	}
}

// CAC index.test.ts "emits exactly the expected default tag set with no
// custom-tags", on the wire: every key and value as CAC sends them, Branch is
// GITHUB_REF, Actor sanitised.
func TestCAC_default_tag_set_on_the_wire(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	j := newJob(t, srv)
	for k, v := range map[string]string{
		"GITHUB_REF": "refs/pull/42/merge", "GITHUB_REF_NAME": "42/merge", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_BASE_REF": "main",
		"GITHUB_HEAD_REF": "feature-branch", "GITHUB_ACTOR": "dependabot[bot]", "GITHUB_TRIGGERING_ACTOR": "dependabot[bot]",
	} {
		j.Env[k] = v
	}
	j.Run(keysInput(map[string]string{"custom-tags": `{"Team":"payments","CostCenter":42}`})).MustSucceed(t)
	calls := srv.CallsTo("sts", "AssumeRole")
	if len(calls) != 1 {
		t.Fatalf("AssumeRole calls = %d", len(calls))
	}
	got := map[string]string{}
	for i := 1; ; i++ {
		k := calls[0].Params.Get("Tags.member." + itoa(i) + ".Key")
		if k == "" {
			break
		}
		got[k] = calls[0].Params.Get("Tags.member." + itoa(i) + ".Value")
	}
	want := map[string]string{
		"GitHub": "Actions", "Repository": "octo-org/octo-repo", "Workflow": "ci", "Action": "__self", "Actor": "dependabot_bot_",
		"Commit": "0123456789abcdef0123456789abcdef01234567", "Branch": "refs/pull/42/merge", "EventName": "pull_request",
		"BaseRef": "main", "HeadRef": "feature-branch", "RunId": "4242", "Job": "deploy", "TriggeringActor": "dependabot_bot_",
		"Team": "payments", "CostCenter": "42",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("session tags (-want +got):\n%s", d)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// CAC helpers.test.ts "won't output credentials to env if told not to" with
// unset-current-credentials: CAC's unsetCredentials(false) writes nothing.
func TestCAC_unset_current_with_output_env_false_writes_nothing(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	r := newJob(t, srv).Run(keysInput(map[string]string{"output-env-credentials": "false", "unset-current-credentials": "true"})).MustSucceed(t)
	if r.EnvRaw != "" {
		t.Errorf("GITHUB_ENV written: %q", r.EnvRaw)
	}
}

// CAC assumeRole.test.ts "refuses when the token file is a symlink and never
// calls STS".
func TestCAC_symlinked_token_file_refused_with_no_request(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	tok, err := srv.IDToken("sts.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	j := newJob(t, srv)
	j.Write("real-token", tok)
	if err := os.Symlink("real-token", filepath.Join(j.Workspace, "token")); err != nil {
		t.Fatal(err)
	}
	r := j.Run(oidcInput(map[string]string{"web-identity-token-file": "token"}))
	r.MustFail(t, "input web-identity-token-file", "symbolic link")
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d requests reached STS", n)
	}
}

// startIMDS serves an IMDSv2 fake whose instance credentials srv accepts.
func startIMDS(t *testing.T, srv *fakeaws.Server, optFns ...func(*fakeimds.Options)) (*fakeimds.IMDS, string) {
	t.Helper()
	m := fakeimds.New(append([]func(*fakeimds.Options){func(o *fakeimds.Options) { o.STS = srv }}, optFns...)...)
	s, err := fakecore.Serve(m, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return m, s.URL
}

// With no keys, no OIDC and no token file, the source is the SDK's default
// chain, here an EC2 instance profile: AssumeRole is signed with the
// instance's credentials, which are masked and not exported.
func TestCAC_instance_profile_signs_assume_role(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	imds, url := startIMDS(t, srv)
	j := newJob(t, srv)
	delete(j.Env, "AWS_EC2_METADATA_DISABLED")
	j.Env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url
	r := j.Run(oidcInput(nil)).MustSucceed(t).Says(t, "EC2 instance profile")
	instance := imds.Credentials()
	calls := srv.CallsTo("sts", "AssumeRole")
	if len(calls) != 1 || calls[0].AccessKeyID != instance.AccessKeyID {
		t.Fatalf("AssumeRole calls %+v, want one signed by the instance key", calls)
	}
	if !strings.Contains(r.Outputs["authenticated-arn"], ":assumed-role/"+deployRole+"/") {
		t.Errorf("outputs = %v", r.Outputs)
	}
	assertMaskedFirst(t, r.Stdout, instance.SecretAccessKey, instance.SessionToken)
	if r.Env["AWS_ACCESS_KEY_ID"] == instance.AccessKeyID {
		t.Error("the instance credentials were exported")
	}
	if imds.Count("imds", "") == 0 {
		t.Error("IMDS was not asked")
	}

	// A container on EC2 with the default hop limit of 1: the token PUT
	// never answers. The error says what was tried and how to fix it.
	imds2, url2 := startIMDS(t, srv, func(o *fakeimds.Options) { o.HopLimitExceeded = true })
	_ = imds2
	j2 := newJob(t, srv)
	delete(j2.Env, "AWS_EC2_METADATA_DISABLED")
	j2.Env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url2
	r2 := j2.Run(oidcInput(map[string]string{"action-timeout-s": "20"}))
	r2.MustFail(t, "Tried, in order: environment variables", "IMDSv2 at "+url2, "--http-put-response-hop-limit 2", "id-token: write")
	if n := len(srv.CallsTo("sts", "AssumeRole")); n != 1 {
		t.Errorf("AssumeRole calls = %d, want still 1", n)
	}
}

// CAC index.test.ts "configures no-proxy setting" and ProxyResolver.test.ts
// "respects noProxy setting", through the binary: with HTTPS_PROXY set every
// call (STS and the OIDC token request) goes through the recording proxy;
// no-proxy (input or NO_PROXY) sends them direct. The fakes are addressed as
// 0.0.0.0, which Linux connects to the loopback listener: Go never proxies
// 127.0.0.1 or localhost, so those could not show a bypass.
func TestCAC_no_proxy_bypasses_the_proxy(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL(), "http://"))
	host := "0.0.0.0:" + port
	proxy := fakeproxy.New(func(o *fakeproxy.Options) { o.Redirect = map[string]string{host: "127.0.0.1:" + port} })
	ps, err := fakecore.Serve(proxy, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.Close)
	run := func(env, inputs map[string]string) actionrun.Result {
		j := newJob(t, srv)
		j.Env["AWS_ENDPOINT_URL"] = "http://" + host
		j.Env["ACTIONS_ID_TOKEN_REQUEST_URL"] = strings.Replace(srv.OIDCRequestURL(), "127.0.0.1", "0.0.0.0", 1)
		j.Env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = srv.OIDCRequestToken()
		j.Env["HTTPS_PROXY"] = ps.URL
		for k, v := range env {
			j.Env[k] = v
		}
		return j.Run(oidcInput(inputs)).MustSucceed(t)
	}
	proxied := func() int { return len(proxy.Targets()) }

	run(nil, nil)
	if got := proxy.Targets(); len(got) < 2 || got[0] != host {
		t.Fatalf("proxy saw %v, want the OIDC request and STS through it", got)
	}
	before := proxied()
	run(nil, map[string]string{"no-proxy": "example.com, 0.0.0.0"})
	run(map[string]string{"NO_PROXY": "0.0.0.0"}, nil)
	run(map[string]string{"HTTPS_PROXY": "", "HTTP_PROXY": ps.URL, "NO_PROXY": "*"}, nil)
	if proxied() != before {
		t.Errorf("no-proxy did not bypass the proxy: %v", proxy.Targets()[before:])
	}
	// Only HTTP_PROXY set: https and http calls both use it, as CAC.
	run(map[string]string{"HTTPS_PROXY": "", "HTTP_PROXY": ps.URL}, nil)
	if proxied() == before {
		t.Error("HTTP_PROXY alone was not used")
	}
}

// dockerHome lays out a step as a Docker action sees it: HOME is
// /github/home, the mount of the host's $RUNNER_TEMP/_github_home, which the
// container cannot see. hostView makes the host's path appear (a link to the
// same directory), as later host steps see it.
type dockerHome struct {
	container, runnerTemp string
}

func newDockerHome(t *testing.T) dockerHome {
	t.Helper()
	dir := t.TempDir()
	h := dockerHome{container: filepath.Join(dir, "github", "home"), runnerTemp: filepath.Join(dir, "host", "_temp")}
	if err := os.MkdirAll(h.container, 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h dockerHome) step(t *testing.T, srv *fakeaws.Server, env map[string]string) *actionrun.Job {
	t.Helper()
	j := newJob(t, srv)
	delete(j.Env, "AWS_CONFIG_FILE")
	delete(j.Env, "AWS_SHARED_CREDENTIALS_FILE")
	j.Env["HOME"], j.Env["RUNNER_TEMP"] = h.container, h.runnerTemp
	state := filepath.Join(t.TempDir(), "save_state")
	if err := os.WriteFile(state, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	j.Env["GITHUB_STATE"] = state
	for k, v := range env {
		j.Env[k] = v
	}
	return j
}

// hostView shows the host's path of the container's home; undo hides it again.
func (h dockerHome) hostView(t *testing.T) (undo func()) {
	t.Helper()
	if err := os.MkdirAll(h.runnerTemp, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(h.runnerTemp, "_github_home")
	if err := os.Symlink(h.container, link); err != nil {
		t.Fatal(err)
	}
	return func() { os.Remove(link) }
}

// hostCLI runs the AWS CLI as a later `run:` step on the host: its own HOME,
// and only what the action exported.
func hostCLI(t *testing.T, exported map[string]string, endpoint string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("aws", append(args, "--endpoint-url", endpoint, "--output", "json")...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_EC2_METADATA_DISABLED=true"}
	for k, v := range exported {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func needCLI(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("short mode")
	}
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed (.ci/run installs it)")
	}
}

// stateOf reads what the step saved for its post step.
func stateOf(t *testing.T, j *actionrun.Job) string {
	t.Helper()
	b, err := os.ReadFile(j.Env["GITHUB_STATE"])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runPost runs the post step (the binary under its post-entrypoint name)
// with the state the main step saved.
func runPost(t *testing.T, j *actionrun.Job, state map[string]string) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), "aws-assume-deploy-post")
	if err := os.Symlink(binary, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link)
	for k, v := range j.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range state {
		cmd.Env = append(cmd.Env, "STATE_"+k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("post step: %v\n%s", err, out)
	}
	return string(out)
}

// parseState reads GITHUB_STATE as the runner does.
func parseState(t *testing.T, raw string) map[string]string {
	t.Helper()
	m, err := runnerfile.Map(raw)
	if err != nil {
		t.Fatalf("GITHUB_STATE: %v", err)
	}
	return m
}

// aws-profile in a Docker action: the profile lands in the container's home,
// the step exports its host paths and no credentials, and a later host step
// runs `aws --profile NAME sts get-caller-identity` with only that. A second
// profile in the same job keeps the first; the post step removes both.
func TestCAC_profiles_used_by_the_aws_cli_in_later_steps(t *testing.T) {
	t.Parallel()
	needCLI(t)
	srv := newFake(t, fakeaws.Options{})
	srv.AddRole(fakeaws.Role{Name: "second", AllowTagSession: true})
	h := newDockerHome(t)

	j1 := h.step(t, srv, nil)
	r1 := j1.Run(keysInput(map[string]string{"aws-profile": "deploy"})).MustSucceed(t).Says(t, "Writing profile deploy")
	wantFiles := map[string]string{
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(h.runnerTemp, "_github_home", ".aws", "credentials"),
		"AWS_CONFIG_FILE":             filepath.Join(h.runnerTemp, "_github_home", ".aws", "config"),
	}
	if d := cmp.Diff(wantFiles, r1.Env); d != "" {
		t.Errorf("exported (-want +got), no credentials expected:\n%s", d)
	}
	for _, f := range []string{"credentials", "config"} {
		st, err := os.Stat(filepath.Join(h.container, ".aws", f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", f, err, st.Mode().Perm())
		}
	}

	// A later step of this action in the same job: it sees the host paths
	// in its environment, which do not exist in its container.
	j2 := h.step(t, srv, r1.Env)
	r2 := j2.Run(keysInput(map[string]string{"aws-profile": "second", "role-to-assume": "arn:aws:iam::123456789012:role/second", "aws-region": "eu-west-1"})).MustSucceed(t)
	// The same profile again is refused before any request, unless overwritten.
	before := len(srv.Calls())
	h.step(t, srv, r1.Env).Run(keysInput(map[string]string{"aws-profile": "deploy"})).MustFail(t, `profile "deploy" already exists`, "overwrite-aws-profile")
	if len(srv.Calls()) != before {
		t.Error("the refused profile made requests")
	}

	undo := h.hostView(t)
	for name, role := range map[string]string{"deploy": deployRole, "second": "second"} {
		out, err := hostCLI(t, r2.Env, srv.URL(), "--profile", name, "sts", "get-caller-identity")
		if err != nil || !strings.Contains(out, ":assumed-role/"+role+"/") {
			t.Errorf("aws --profile %s: %v\n%s", name, err, out)
		}
	}
	undo()

	// The post steps remove what their main steps wrote, nothing else.
	creds := filepath.Join(h.container, ".aws", "credentials")
	runPost(t, j2, parseState(t, stateOf(t, j2)))
	b, _ := os.ReadFile(creds)
	if !strings.Contains(string(b), "[deploy]") || strings.Contains(string(b), "[second]") {
		t.Errorf("after the second post step:\n%s", b)
	}
	runPost(t, j1, parseState(t, stateOf(t, j1)))
	if b, _ := os.ReadFile(creds); strings.Contains(string(b), "aws_") {
		t.Errorf("after both post steps:\n%s", b)
	}
}

// Chaining from a profile an earlier step wrote: AWS_PROFILE in the step's
// env with role-chaining; the SDK's chain reads the profile from the
// container's view of the exported path.
func TestCAC_role_chaining_from_a_profile(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	srv.AddRole(fakeaws.Role{Name: "second", AllowTagSession: true})
	h := newDockerHome(t)
	r1 := h.step(t, srv, nil).Run(keysInput(map[string]string{"aws-profile": "base"})).MustSucceed(t)
	b, err := os.ReadFile(filepath.Join(h.container, ".aws", "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	env := actionrun.Merge(r1.Env, map[string]string{"AWS_PROFILE": "base"})
	r := h.step(t, srv, env).Run(map[string]string{"aws-region": "ap-northeast-1", "role-chaining": "true", "role-to-assume": "arn:aws:iam::123456789012:role/second"}).
		MustSucceed(t).Says(t, "shared credentials file")
	calls := srv.CallsTo("sts", "AssumeRole")
	last := calls[len(calls)-1]
	if !strings.Contains(string(b), "aws_access_key_id = "+last.AccessKeyID+"\n") {
		t.Errorf("the chained AssumeRole was signed by %s, not the profile's key", last.AccessKeyID)
	}
	if !strings.Contains(r.Outputs["authenticated-arn"], "assumed-role/second/") || r.Env["AWS_ACCESS_KEY_ID"] == "" {
		t.Errorf("outputs %v env %v", r.Outputs, r.Env)
	}
}

// moto as the second STS: a profile written against moto and used by the
// AWS CLI, and the default chain (AWS_PROFILE) as the source.
func TestCAC_moto_profile_and_default_chain(t *testing.T) {
	t.Parallel()
	needCLI(t)
	moto := startMoto(t)
	h := newDockerHome(t)
	j := h.step(t, nil, map[string]string{"AWS_ENDPOINT_URL": moto})
	r1 := j.Run(keysInput(map[string]string{"aws-profile": "moto"})).MustSucceed(t)
	undo := h.hostView(t)
	out, err := hostCLI(t, r1.Env, moto, "--profile", "moto", "sts", "get-caller-identity")
	undo()
	if err != nil || !strings.Contains(out, ":assumed-role/"+deployRole+"/") {
		t.Errorf("aws --profile moto: %v\n%s", err, out)
	}
	env := actionrun.Merge(r1.Env, map[string]string{"AWS_ENDPOINT_URL": moto, "AWS_PROFILE": "moto"})
	r := h.step(t, nil, env).Run(map[string]string{"aws-region": "ap-northeast-1", "role-to-assume": "arn:aws:iam::123456789012:role/" + deployRole, "force-skip-oidc": "true"}).
		MustSucceed(t).Says(t, "shared credentials file")
	if !strings.Contains(r.Outputs["authenticated-arn"], ":assumed-role/"+deployRole+"/") {
		t.Errorf("outputs = %v", r.Outputs)
	}
}

// use-existing-credentials: valid credentials in the environment stop the
// step after one GetCallerIdentity; invalid ones let it run as normal.
func TestCAC_use_existing_credentials(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	r1 := newJob(t, srv).Run(keysInput(nil)).MustSucceed(t)
	j := newJob(t, srv).OIDC(srv)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		j.Env[k] = r1.Env[k]
	}
	before := len(srv.CallsTo("sts", "AssumeRoleWithWebIdentity"))
	r := j.Run(oidcInput(map[string]string{"use-existing-credentials": "true"})).MustSucceed(t).Says(t, "Pre-existing credentials are valid")
	if n := len(srv.CallsTo("sts", "AssumeRoleWithWebIdentity")); n != before {
		t.Errorf("assumed a role anyway")
	}
	if r.Env["AWS_ACCESS_KEY_ID"] != "" || r.Env["AWS_REGION"] != "ap-northeast-1" {
		t.Errorf("env = %v", r.Env)
	}
	j2 := newJob(t, srv).OIDC(srv)
	j2.Env["AWS_ACCESS_KEY_ID"], j2.Env["AWS_SECRET_ACCESS_KEY"] = "AKIAUNKNOWNKEY000001", "unknownSecretKey0123456789"
	j2.Run(oidcInput(map[string]string{"use-existing-credentials": "true"})).MustSucceed(t).Says(t, "No valid credentials exist. Running as normal.")
}

// special-characters-workaround: STS is asked again until the secret has
// none of CAC's special characters.
func TestCAC_special_characters_workaround(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeaws.Options{})
	r := newJob(t, srv).Run(keysInput(map[string]string{"special-characters-workaround": "true"})).MustSucceed(t)
	if s := r.Env["AWS_SECRET_ACCESS_KEY"]; strings.ContainsAny(s, `!@#$%^&*()_+-=[]{};':"\|,.<>/?`) {
		t.Errorf("the secret has special characters")
	}
}
