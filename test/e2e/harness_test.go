// Package e2e runs the compiled action exactly as GitHub's runner runs a
// Docker action: INPUT_<NAME> variables with hyphens kept, file commands in
// GITHUB_ENV / GITHUB_OUTPUT, a workspace, and AWS behind AWS_ENDPOINT_URL.
package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
)

var binary string

func TestMain(m *testing.M) { os.Exit(actionrun.RunTests(m, &binary)) }

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
	srv := fakeaws.New(func(o *fakeaws.Options) { *o = opts })
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
	t *testing.T
	*actionrun.Step
}

func newJob(t *testing.T, srv *fakeaws.Server) *job {
	t.Helper()
	s, err := actionrun.NewStep(binary, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if srv != nil {
		s.Env["AWS_ENDPOINT_URL"] = srv.URL()
	}
	return &job{t: t, Step: s}
}

// oidc gives the job an id-token permission against srv's token endpoint.
func (j *job) oidc(srv *fakeaws.Server) *job {
	j.Env["ACTIONS_ID_TOKEN_REQUEST_URL"] = srv.OIDCRequestURL()
	j.Env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = srv.OIDCRequestToken()
	return j
}

func (j *job) write(name, body string) {
	j.t.Helper()
	if err := j.WriteFile(name, body); err != nil {
		j.t.Fatal(err)
	}
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
	r, err := j.Run(ctx, inputs)
	if err != nil {
		j.t.Fatal(err)
	}
	res := result{code: r.Code, stdout: r.Stdout, stderr: r.Stderr, envRaw: r.EnvRaw, outRaw: r.OutputRaw, elapsed: r.Elapsed}
	if res.env, err = actionrun.Parse(r.EnvRaw); err != nil {
		j.t.Fatalf("the runner would fail the step parsing GITHUB_ENV: %v\n%s", err, r.EnvRaw)
	}
	if res.outputs, err = actionrun.Parse(r.OutputRaw); err != nil {
		j.t.Fatalf("the runner would fail the step parsing GITHUB_OUTPUT: %v\n%s", err, r.OutputRaw)
	}
	return res
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
