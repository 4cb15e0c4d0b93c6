package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerlog"
)

// troubleshooting scenarios reproduce each error of docs/troubleshooting.md,
// so the messages quoted there are the ones the action really prints.
var troubleshooting = map[string]func(t *testing.T) actionrun.Result{
	"no-oidc": func(t *testing.T) actionrun.Result {
		return newJob(t, newFake(t, fakeaws.Options{})).Run(oidcInput(nil))
	},
	"sub-mismatch": func(t *testing.T) actionrun.Result {
		srv := newFake(t, fakeaws.Options{Claims: map[string]any{"sub": "repo:octo-org/octo-repo:environment:production", "environment": "production"}})
		return newJob(t, srv).OIDC(srv).Run(oidcInput(nil))
	},
	"tag-session": func(t *testing.T) actionrun.Result {
		srv := newFake(t, fakeaws.Options{})
		srv.AddRole(fakeaws.Role{Name: "no-tags", TrustedUsers: []string{"ci"}})
		return newJob(t, srv).Run(keysInput(map[string]string{"role-to-assume": "arn:aws:iam::123456789012:role/no-tags"}))
	},
	"chaining-hour": func(t *testing.T) actionrun.Result {
		srv := newFake(t, fakeaws.Options{})
		first := newJob(t, srv).Run(keysInput(nil)).MustSucceed(t)
		srv.AddRole(fakeaws.Role{Name: "x", AllowTagSession: true, MaxSessionDuration: 12 * time.Hour})
		j := newJob(t, srv)
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
			j.Env[k] = first.Env[k]
		}
		return j.Run(map[string]string{"aws-region": "ap-northeast-1", "role-chaining": "true", "role-to-assume": "arn:aws:iam::123456789012:role/x", "role-duration-seconds": "7200"})
	},
	"empty-change-set": func(t *testing.T) actionrun.Result {
		srv, _, _ := deployFake(t, fast())
		j := newJob(t, srv)
		j.Write("infra/app.yaml", appTemplate)
		j.Run(deployInput(nil)).MustSucceed(t)
		return newJobIn(t, srv, j).Run(deployInput(map[string]string{"fail-on-empty-changeset": "true"}))
	},
	"rollback-complete": func(t *testing.T) actionrun.Result {
		s := fast()
		s.FailResources = map[string]string{"Bucket": "app-data already exists"}
		srv, _, _ := deployFake(t, s)
		j := newJob(t, srv)
		j.Write("infra/app.yaml", appTemplate)
		return j.Run(deployInput(nil))
	},
	"create-change-set-denied": func(t *testing.T) actionrun.Result {
		srv, cfn, _ := deployFake(t, fast())
		cfn.InjectFault("CreateChangeSet", fakecore.Fault{Status: 403, Code: "AccessDenied", Message: "User: arn:aws:sts::123456789012:assumed-role/deploy-role-for-ci/GitHubActions-4242-1-deploy-app-ap-northeast-1 is not authorized to perform: cloudformation:CreateChangeSet on resource: arn:aws:cloudformation:ap-northeast-1:123456789012:stack/app/* because no identity-based policy allows the cloudformation:CreateChangeSet action"})
		j := newJob(t, srv)
		j.Write("infra/app.yaml", appTemplate)
		return j.Run(deployInput(nil))
	},
	"pass-role": func(t *testing.T) actionrun.Result {
		srv, cfn, _ := deployFake(t, fast())
		cfn.InjectFault("CreateChangeSet", fakecore.Fault{Status: 403, Code: "AccessDenied", Message: "User: arn:aws:sts::123456789012:assumed-role/deploy-role-for-ci/GitHubActions-4242-1-deploy-app-ap-northeast-1 is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/deploy-role-for-cloudformation"})
		j := newJob(t, srv)
		j.Write("infra/app.yaml", appTemplate)
		return j.Run(deployInput(nil))
	},
	"large-template": func(t *testing.T) actionrun.Result {
		srv, _, _ := deployFake(t, fast())
		j := newJob(t, srv)
		j.Write("infra/app.yaml", appTemplate+"\n# "+strings.Repeat("padding ", 8000)+"\n")
		return j.Run(deployInput(nil))
	},
	"no-oidc-provider": func(t *testing.T) actionrun.Result {
		srv := newFake(t, fakeaws.Options{})
		srv.InjectFault("AssumeRoleWithWebIdentity", fakecore.Fault{Code: "InvalidIdentityToken", Message: "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com"})
		return newJob(t, srv).OIDC(srv).Run(oidcInput(nil))
	},
	"capabilities": func(t *testing.T) actionrun.Result {
		srv, _, _ := deployFake(t, fast())
		j := newJob(t, srv)
		j.Write("infra/app.yaml", strings.Replace(appTemplate, "Resources:\n", "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: app-role\n      AssumeRolePolicyDocument: {}\n", 1))
		return j.Run(deployInput(nil))
	},
	"allowed-accounts": func(t *testing.T) actionrun.Result {
		return newJob(t, newFake(t, fakeaws.Options{})).Run(keysInput(map[string]string{"allowed-account-ids": "111111111111"}))
	},
}

// quoted returns, per message id, the text quoted under <!-- message: id -->.
func quoted(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	marker := regexp.MustCompile(`^<!-- message: ([a-z0-9-]+) -->$`)
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		m := marker.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		for _, q := range lines[i+1:] {
			if !strings.HasPrefix(q, "> ") {
				break
			}
			// "…" separates fragments that vary (ids, names, timings).
			for _, frag := range strings.Split(strings.Trim(strings.TrimPrefix(q, "> "), "`"), "…") {
				if frag = strings.TrimSpace(frag); frag != "" {
					out[m[1]] = append(out[m[1]], frag)
				}
			}
		}
	}
	return out
}

func TestTroubleshooting_doc_quotes_what_the_action_prints(t *testing.T) {
	t.Parallel()
	docs := quoted(t)
	for id, scenario := range troubleshooting {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			r := scenario(t)
			if r.Code != 1 {
				t.Fatalf("scenario did not fail (exit %d):\n%s", r.Code, r.Stdout)
			}
			shown := runnerlog.New(false).Render(r.Stdout)
			frags, ok := docs[id]
			if !ok || len(frags) == 0 {
				t.Fatalf("docs/troubleshooting.md has no quoted message for %q; the action prints:\n%s", id, shown)
			}
			for _, f := range frags {
				if !strings.Contains(shown, f) {
					t.Errorf("docs quote %q, which the action does not print:\n%s", f, shown)
				}
			}
		})
	}
}
