// Package e2e runs the compiled action exactly as GitHub's runner runs a
// Docker action: INPUT_<NAME> variables with hyphens kept, file commands in
// GITHUB_ENV / GITHUB_OUTPUT, a workspace, and AWS behind AWS_ENDPOINT_URL.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aad-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "aws-assume-deploy")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-trimpath", "-o", binary, ".")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the action: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Seeded identities of the fake account.
const (
	userKeyID  = "AKIAE2ETESTUSER0001"
	userSecret = "e2eUserSecretKey/0123456789abcdefghijklm"
	deployRole = "deploy-role-for-ci"
	cfnRole    = "deploy-role-for-cloudformation"
	repoSub    = "repo:octo-org/octo-repo:ref:refs/heads/main"
)

// newFake starts a fake AWS with the seed design's identities.
func newFake(t *testing.T, opts fakeaws.Options) *fakeaws.Server {
	t.Helper()
	srv := fakeaws.New(opts)
	t.Cleanup(srv.Close)
	srv.AddUser("ci", userKeyID, userSecret)
	srv.AddRole(fakeaws.Role{
		Name: deployRole, TrustedUsers: []string{"ci"}, AllowTagSession: true, MaxSessionDuration: 12 * time.Hour,
		Audience: "sts.amazonaws.com", SubPatterns: []string{repoSub},
	})
	return srv
}

// job is one simulated job step.
type job struct {
	t         *testing.T
	dir       string
	workspace string
	envFile   string
	outFile   string
	summary   string
	env       map[string]string
}

func newJob(t *testing.T, srv *fakeaws.Server) *job {
	t.Helper()
	dir := t.TempDir()
	j := &job{t: t, dir: dir, workspace: filepath.Join(dir, "workspace"),
		envFile: filepath.Join(dir, "set_env_0001"), outFile: filepath.Join(dir, "set_output_0001"), summary: filepath.Join(dir, "step_summary_0001")}
	for _, p := range []string{j.workspace, filepath.Join(dir, "home")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{j.envFile, j.outFile, j.summary} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j.env = map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": filepath.Join(dir, "home"),
		"GITHUB_ACTIONS": "true", "CI": "true",
		"GITHUB_WORKSPACE": j.workspace, "GITHUB_ENV": j.envFile, "GITHUB_OUTPUT": j.outFile, "GITHUB_STEP_SUMMARY": j.summary,
		"GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "deploy", "GITHUB_REPOSITORY": "octo-org/octo-repo",
		"GITHUB_WORKFLOW": "ci", "GITHUB_ACTION": "__self", "GITHUB_ACTOR": "octocat", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_EVENT_NAME": "push",
		// Keep the developer's AWS setup out of the test.
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
	}
	if srv != nil {
		j.env["AWS_ENDPOINT_URL"] = srv.URL()
	}
	return j
}

// oidc gives the job an id-token permission against srv's token endpoint.
func (j *job) oidc(srv *fakeaws.Server) *job {
	j.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = srv.OIDCRequestURL()
	j.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = srv.OIDCRequestToken()
	return j
}

// result is what one run of the binary left behind.
type result struct {
	code           int
	stdout, stderr string
	env, outputs   map[string]string
	envRaw, outRaw string
	elapsed        time.Duration
}

// run executes the binary with inputs as INPUT_<NAME> (hyphens kept).
func (j *job) run(inputs map[string]string) result {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary)
	cmd.Dir = j.workspace
	for k, v := range j.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range inputs {
		cmd.Env = append(cmd.Env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		j.t.Fatalf("running the action: %v", err)
	}
	r.env, r.envRaw = j.parse(j.envFile)
	r.outputs, r.outRaw = j.parse(j.outFile)
	return r
}

func (j *job) parse(path string) (map[string]string, string) {
	j.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		j.t.Fatal(err)
	}
	kvs, err := gha.ParseEnvFile(string(b))
	if err != nil {
		j.t.Fatalf("the runner would fail the step parsing %s: %v\n%s", filepath.Base(path), err, b)
	}
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m, string(b)
}

// keysInput are the stored-keys inputs for the seeded user.
func keysInput(extra map[string]string) map[string]string {
	in := map[string]string{
		"aws-region": "ap-northeast-1", "aws-access-key-id": userKeyID, "aws-secret-access-key": userSecret,
		"role-to-assume": "arn:aws:iam::123456789012:role/" + deployRole,
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

func oidcInput(extra map[string]string) map[string]string {
	in := map[string]string{"aws-region": "ap-northeast-1", "role-to-assume": "arn:aws:iam::123456789012:role/" + deployRole}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// mustSucceed fails the test with the log when the action failed.
func (r result) mustSucceed(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r
}

// mustFail asserts exit code 1, nothing written, and each substring in the log.
func (r result) mustFail(t *testing.T, want ...string) result {
	t.Helper()
	if r.code != 1 {
		t.Fatalf("exit code %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r.envRaw != "" || r.outRaw != "" {
		t.Errorf("files written on failure:\nGITHUB_ENV=%q\nGITHUB_OUTPUT=%q", r.envRaw, r.outRaw)
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("log lacks %q:\n%s", w, r.stdout)
		}
	}
	return r
}

// firstAppearance returns the line of the first occurrence of s in log (-1
// if none) and whether that line is an ::add-mask:: command.
func firstAppearance(log, s string) (line int, isMask bool) {
	for i, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			return i, strings.HasPrefix(l, "::add-mask::")
		}
	}
	return -1, false
}
