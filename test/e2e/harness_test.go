// Package e2e runs the compiled action exactly as GitHub's runner runs a
// Docker action (test/actionrun), against the fakes, moto and the real AWS
// CLI. This file holds the suite's identities and fixtures; the harness is
// test/actionrun's.
package e2e

import (
	"os"
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

// newJob is a step with empty file commands and AWS behind srv (none if nil;
// the moto tests point it elsewhere).
func newJob(t *testing.T, srv *fakeaws.Server) *actionrun.Job {
	t.Helper()
	j := actionrun.NewJob(t, binary, "")
	if srv != nil {
		j.Endpoint(srv.URL())
	}
	return j
}

// newJobIn is a later step of prev's job, in the same workspace.
func newJobIn(t *testing.T, srv *fakeaws.Server, prev *actionrun.Job) *actionrun.Job {
	t.Helper()
	j := newJob(t, srv)
	j.ShareWorkspace(prev.Step)
	return j
}

// keysInput are the stored-keys inputs for the seeded user.
func keysInput(extra map[string]string) map[string]string {
	return actionrun.Merge(map[string]string{
		"aws-region": "ap-northeast-1", "aws-access-key-id": userKeyID, "aws-secret-access-key": userSecret,
		"role-to-assume": "arn:aws:iam::123456789012:role/" + deployRole,
	}, extra)
}

func oidcInput(extra map[string]string) map[string]string {
	return actionrun.Merge(map[string]string{"aws-region": "ap-northeast-1", "role-to-assume": "arn:aws:iam::123456789012:role/" + deployRole}, extra)
}
