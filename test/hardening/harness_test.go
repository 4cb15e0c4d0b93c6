// Package hardening is a test suite whose job is to break the action: hostile
// and malformed inputs, injected faults, secret canaries in every encoding the
// runner masks, untrusted text from AWS and wire logging. It runs the compiled
// binary exactly as GitHub's runner runs a Docker action, against the fakes.
package hardening

import (
	"flag"
	"os"
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

// newJob is a step whose file commands hold prefill and whose workspace
// holds the app template, with AWS and the OIDC endpoint behind w (none if
// nil).
func newJob(t *testing.T, w *world) *actionrun.Job {
	t.Helper()
	j := actionrun.NewJob(t, binary, prefill)
	j.Write(templatePath, appTemplate)
	if w != nil {
		// Every job may ask for an OIDC token, so a bad input that would
		// still reach the token endpoint shows up in the fake's requests.
		j.Endpoint(w.sts.URL()).OIDC(w.sts)
	}
	return j
}

// Input sets for each credential source.
func keysInputs(extra map[string]string) map[string]string {
	return actionrun.Merge(map[string]string{"aws-region": region, "aws-access-key-id": userKeyID, "aws-secret-access-key": userSecret, "role-to-assume": deployRoleARN}, extra)
}

func oidcInputs(extra map[string]string) map[string]string {
	return actionrun.Merge(map[string]string{"aws-region": region, "role-to-assume": deployRoleARN}, extra)
}

func deployInputs(extra map[string]string) map[string]string {
	return keysInputs(actionrun.Merge(map[string]string{"stack-name": stackName, "template": templatePath, "cloudformation-role-arn": cfnRoleARN, "parameter-overrides": "Env=prod"}, extra))
}

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
