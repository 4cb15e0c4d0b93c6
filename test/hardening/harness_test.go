// Package hardening is a test suite whose job is to break the action: hostile
// and malformed inputs, injected faults, secret canaries in every encoding the
// runner masks, untrusted text from AWS and wire logging. It runs the compiled
// binary exactly as GitHub's runner runs a Docker action, against the fakes.
package hardening

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
)

var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	// Most subtests wait on a subprocess and on fake AWS timelines, not on a
	// CPU; run more of them at once than GOMAXPROCS unless -parallel was given.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "24")
	}
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		// Fuzzing runs only FuzzConfigLoad, in-process; its workers need
		// no binary.
		os.Exit(m.Run())
	}
	os.Exit(actionrun.RunTests(m, &binary))
}

// Canary identities: every secret the action handles carries a recognisable
// value, so the log can be searched for it in every encoding.
const (
	account   = "123456789012"
	region    = "ap-northeast-1"
	userKeyID = "AKIACANARYKEYID00001"
	// Characters that URL, JSON and base64 encode differently on purpose.
	userSecret    = "CanaryUserSecret/Key+0123456789=abcdefg"
	oidcBearer    = "CanaryOIDCRequestToken/0123+4567=89abcd"
	stsMarker     = "CanaryStsIssued"
	deployRole    = "deploy-role-for-ci"
	cfnRoleARN    = "arn:aws:iam::" + account + ":role/deploy-role-for-cloudformation"
	deployRoleARN = "arn:aws:iam::" + account + ":role/" + deployRole
	repoSub       = "repo:octo-org/octo-repo:ref:refs/heads/main"
	stackName     = "hardening-app"
	templatePath  = "infra/app.yaml"
	// prefill is what the runner's file-command files hold before the step;
	// a failed step must leave them byte for byte as they were.
	prefill = "EARLIER_STEP<<ghadelimiter_0123456789abcdef0123456789abcdef\nkept\nghadelimiter_0123456789abcdef0123456789abcdef\n"
)

// appTemplate is small, with a parameter and an output, so deploys are quick.
const appTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    Default: dev
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Queue:
    Type: AWS::SQS::Queue
  Bucket:
    Type: AWS::S3::Bucket
Outputs:
  TopicArn:
    Value: !Ref Topic
`

// world is one fake AWS account: STS and GitHub's OIDC endpoint, with
// CloudFormation and S3 mounted on the same URL.
type world struct {
	sts *fakeaws.Server
	cfn *fakecfn.CloudFormation
}

type worldOpts struct {
	script   fakecfn.Script
	pageSize int
}

func newWorld(t *testing.T, o worldOpts) *world {
	t.Helper()
	srv := fakeaws.New(func(o *fakeaws.Options) {
		o.AccountID, o.Region, o.OIDCRequestToken, o.CredentialPrefix = account, region, oidcBearer, stsMarker
	})
	t.Cleanup(srv.Close)
	s3 := fakecfn.NewS3()
	cfn := fakecfn.NewCloudFormation(func(co *fakecfn.Options) {
		co.S3, co.Region, co.AccountID = s3, region, account
		co.Script = o.script
		co.EventsPageSize = o.pageSize
	})
	srv.Mount("cloudformation", cfn)
	srv.Mount("s3", s3)
	srv.AddUser("ci", userKeyID, userSecret)
	srv.AddRole(fakeaws.Role{
		Name: deployRole, TrustedUsers: []string{"ci"}, AllowTagSession: true, MaxSessionDuration: 12 * time.Hour,
		Audience: "sts.amazonaws.com", SubPatterns: []string{repoSub},
	})
	return &world{sts: srv, cfn: cfn}
}

// requests is every call that reached the fake AWS or the OIDC endpoint.
func (w *world) requests() int { return len(w.sts.Calls()) + len(w.cfn.Calls()) }

// job is one simulated step of a job.
type job struct {
	t *testing.T
	*actionrun.Step
	timeout time.Duration
}

func newJob(t *testing.T, w *world) *job {
	t.Helper()
	s, err := actionrun.NewStep(binary, t.TempDir(), prefill)
	if err != nil {
		t.Fatal(err)
	}
	j := &job{t: t, Step: s, timeout: 2 * time.Minute}
	if err := j.WriteFile(templatePath, appTemplate); err != nil {
		t.Fatal(err)
	}
	if w != nil {
		j.Env["AWS_ENDPOINT_URL"] = w.sts.URL()
		// Every job may ask for an OIDC token, so a bad input that would
		// still reach the token endpoint shows up in the fake's requests.
		j.Env["ACTIONS_ID_TOKEN_REQUEST_URL"] = w.sts.OIDCRequestURL()
		j.Env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = w.sts.OIDCRequestToken()
	}
	return j
}

// result is what one run left behind.
type result struct {
	code           int
	stdout, stderr string
	envRaw, outRaw string
	elapsed        time.Duration
}

// run executes the binary with inputs as INPUT_<NAME> (hyphens kept).
func (j *job) run(inputs map[string]string) result {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), j.timeout)
	defer cancel()
	r, err := j.Run(ctx, inputs)
	if err != nil {
		j.t.Fatal(err)
	}
	return result{code: r.Code, stdout: r.Stdout, stderr: r.Stderr, envRaw: r.EnvRaw, outRaw: r.OutputRaw, elapsed: r.Elapsed}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parse reads a file command back as the runner would, failing the test if
// the runner would fail the step.
func parse(t *testing.T, name, raw string) map[string]string {
	t.Helper()
	m, err := actionrun.Parse(raw)
	if err != nil {
		t.Fatalf("the runner would fail the step parsing %s: %v\n%q", name, err, raw)
	}
	return m
}

// unchanged asserts a failed run left both file commands as they were.
func (r result) unchanged(t *testing.T) {
	t.Helper()
	if r.envRaw != prefill || r.outRaw != prefill {
		t.Errorf("file commands changed by a failed run:\nGITHUB_ENV=%q\nGITHUB_OUTPUT=%q", r.envRaw, r.outRaw)
	}
}

func (r result) dump() string {
	return fmt.Sprintf("exit %d after %s\nstdout:\n%s\nstderr:\n%s", r.code, r.elapsed.Round(time.Millisecond), r.stdout, r.stderr)
}

// errorLines are the ::error:: annotations the run printed, unescaped.
func (r result) errorLines() []string {
	var out []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if rest, ok := strings.CutPrefix(l, "::error::"); ok {
			out = append(out, strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(rest))
		}
	}
	return out
}

// Input sets for each credential source.
func keysInputs(extra map[string]string) map[string]string {
	return merge(map[string]string{"aws-region": region, "aws-access-key-id": userKeyID, "aws-secret-access-key": userSecret, "role-to-assume": deployRoleARN}, extra)
}

func oidcInputs(extra map[string]string) map[string]string {
	return merge(map[string]string{"aws-region": region, "role-to-assume": deployRoleARN}, extra)
}

func deployInputs(extra map[string]string) map[string]string {
	return keysInputs(merge(map[string]string{"stack-name": stackName, "template": templatePath, "cloudformation-role-arn": cfnRoleARN, "parameter-overrides": "Env=prod"}, extra))
}

func merge(base, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		if v == "\x00delete" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// del removes an input from a merged set.
const del = "\x00delete"

// distinct reports whether every element of s is unique and non-empty.
func distinct(s []string) bool {
	seen := map[string]bool{}
	for _, v := range s {
		if v == "" || seen[v] {
			return false
		}
		seen[v] = true
	}
	return true
}
