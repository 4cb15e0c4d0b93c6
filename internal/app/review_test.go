package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakegithub"
)

// A pull request's preview in-process, so the race detector sees the
// comment path: the change set, the sticky comment and the summary.
func TestRun_pull_request_preview_comment_in_process(t *testing.T) {
	t.Parallel()
	srv := fakeaws.New()
	defer srv.Close()
	srv.AddUser("ci", "AKIAAPPTESTUSER00001", "appTestSecret/0123456789abcdefghijklmno")
	srv.AddRole(fakeaws.Role{Name: "deploy", AllowTagSession: true})
	cfn := fakecfn.NewCloudFormation(func(o *fakecfn.Options) {
		o.Script = fakecfn.Script{ChangeSetCreateDelay: 100 * time.Millisecond}
	})
	srv.Mount("cloudformation", cfn)
	gh := fakegithub.New()
	const token = "ghs_appTestToken0123456789abcdefghijkl"
	gh.AddToken(token, fakegithub.Token{})
	api, err := fakecore.Serve(gh, "")
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()

	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"number":3,"pull_request":{"number":3,"head":{"sha":"abcdef0123456789abcdef0123456789abcdef01"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"INPUT_AWS-REGION": "eu-west-1", "INPUT_AWS-ACCESS-KEY-ID": "AKIAAPPTESTUSER00001",
		"INPUT_AWS-SECRET-ACCESS-KEY": "appTestSecret/0123456789abcdefghijklmno", "INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/deploy",
		"INPUT_STACK-NAME": "app", "INPUT_TEMPLATE": "app.yaml", "INPUT_EXECUTE-CHANGESET": "false",
		"INPUT_PR-COMMENT": "true", "INPUT_GITHUB-TOKEN": token,
		"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": event, "GITHUB_API_URL": api.URL, "GITHUB_REPOSITORY": "o/r",
	}
	var out bytes.Buffer
	d := deps(t, srv, env, &out)
	summary := filepath.Join(env["GITHUB_WORKSPACE"], "summary.md")
	if err := os.WriteFile(summary, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env["GITHUB_STEP_SUMMARY"] = summary
	if err := os.WriteFile(filepath.Join(env["GITHUB_WORKSPACE"], "app.yaml"), []byte("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), d); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	cs := gh.Comments("o", "r", 3)
	if len(cs) != 1 || !strings.HasPrefix(cs[0].Body, "<!-- aws-assume-deploy preview stack=app region=eu-west-1 -->\n### 📝 app · eu-west-1 · 1 change to review, not executed") {
		t.Fatalf("comments = %+v", cs)
	}
	got, _ := os.ReadFile(summary)
	if body := strings.SplitN(cs[0].Body, "\n", 2)[1]; string(got) != body {
		t.Errorf("summary and comment differ:\n%s\n---\n%s", got, body)
	}
	// Masked before anything else is printed.
	for _, line := range strings.Split(out.String(), "\n") {
		if line == "::add-mask::"+token {
			break
		}
		if !strings.HasPrefix(line, "::add-mask::") {
			t.Fatalf("%q printed before the token was masked:\n%s", line, out.String())
		}
	}
	if cfn.Count("cloudformation", "ExecuteChangeSet") != 0 {
		t.Errorf("the preview was executed")
	}
}
