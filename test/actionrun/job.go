package actionrun

import (
	"context"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerfile"
)

// Job is a Step inside a test: its helpers fail the test instead of
// returning errors, and its runs come back with the file commands parsed.
type Job struct {
	*Step
	t testing.TB
	// Timeout bounds one run, so a hung action fails its test instead of
	// the whole package at go test's -timeout.
	Timeout time.Duration
}

// NewJob lays out a step in a fresh temporary directory of t; the
// file-command files start with prefill.
func NewJob(t testing.TB, binary, prefill string) *Job {
	t.Helper()
	s, err := NewStep(binary, t.TempDir(), prefill)
	if err != nil {
		t.Fatal(err)
	}
	return &Job{Step: s, t: t, Timeout: 2 * time.Minute}
}

// Endpoint points every AWS service of the SDK and the CLI at url.
func (j *Job) Endpoint(url string) *Job {
	j.Env["AWS_ENDPOINT_URL"] = url
	return j
}

// OIDCIssuer is GitHub's ID-token endpoint as a job with the id-token
// permission sees it (test/fakeaws.Server is one).
type OIDCIssuer interface {
	OIDCRequestURL() string
	OIDCRequestToken() string
}

// OIDC gives the job the id-token permission against iss: the two variables
// the runner sets only when the workflow grants it.
func (j *Job) OIDC(iss OIDCIssuer) *Job {
	j.Env["ACTIONS_ID_TOKEN_REQUEST_URL"] = iss.OIDCRequestURL()
	j.Env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = iss.OIDCRequestToken()
	return j
}

// Write writes a file into the workspace, creating directories.
func (j *Job) Write(name, body string) {
	j.t.Helper()
	if err := j.WriteFile(name, body); err != nil {
		j.t.Fatal(err)
	}
}

// Run executes the step with inputs, as Step.Run does, within Timeout. It
// fails the test if the action could not be run or if the runner would fail
// the step reading GITHUB_ENV or GITHUB_OUTPUT back; otherwise Result.Env and
// Result.Outputs hold what a later step would see.
func (j *Job) Run(inputs map[string]string) Result {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), j.Timeout)
	defer cancel()
	r, err := j.Step.Run(ctx, inputs)
	if err != nil {
		j.t.Fatal(err)
	}
	if r.Env, err = runnerfile.Map(r.EnvRaw); err != nil {
		j.t.Fatalf("the runner would fail the step parsing GITHUB_ENV: %v\n%q", err, r.EnvRaw)
	}
	if r.Outputs, err = runnerfile.Map(r.OutputRaw); err != nil {
		j.t.Fatalf("the runner would fail the step parsing GITHUB_OUTPUT: %v\n%q", err, r.OutputRaw)
	}
	return r
}

// Delete, as a value given to Merge, removes the input from the set.
const Delete = "\x00delete"

// Merge returns a new input set: base with extra on top, where a Delete
// value removes the input. Neither argument is changed.
func Merge(base, extra map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		if v == Delete {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}
