package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/cfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/github"
)

const (
	headSHA     = "0123456789abcdef0123456789abcdef01234567"
	prToken     = "ghs_reviewTokenNeverShown000000000000"
	runSHA      = "fedcba9876543210fedcba9876543210fedcba98"
	prEventJSON = `{"action":"synchronize","number":42,"pull_request":{"number":42,"head":{"sha":"` + headSHA + `","ref":"feature"},"base":{"ref":"main"}}}`
)

// loadPR loads inputs in a run triggered by event, whose payload (if not
// empty) is at GITHUB_EVENT_PATH; runner overrides the runner's variables.
func loadPR(t *testing.T, inputs map[string]string, event, payload string, runner map[string]string) (*Plan, error) {
	t.Helper()
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "infra"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "infra/app.yaml"), []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"GITHUB_EVENT_NAME": event, "GITHUB_REPOSITORY": "octo-org/octo-repo", "GITHUB_SHA": runSHA,
		"GITHUB_API_URL": "https://api.github.com", "GITHUB_RUN_ID": "100", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "preview",
	}
	if payload != "" {
		p := filepath.Join(t.TempDir(), "event.json")
		if err := os.WriteFile(p, []byte(payload), 0o644); err != nil {
			t.Fatal(err)
		}
		vars["GITHUB_EVENT_PATH"] = p
	}
	for k, v := range runner {
		vars[k] = v
	}
	env := func(k string) string { return vars[k] }
	r := gha.ReadRunner(env)
	r.Workspace.Root = ws
	return Load(context.Background(), getter(inputs), env, func(o *Options) {
		o.Runner = &r
		o.Now = func() time.Time { return time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC) }
	})
}

func previewInputs(extra map[string]string) map[string]string {
	m := withDeploy(map[string]string{"execute-changeset": "false", "pr-comment": "true", "github-token": prToken})
	for k, v := range extra {
		if v == "<unset>" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func TestLoad_review_plan(t *testing.T) {
	t.Parallel()
	type summary struct {
		Review        *Review
		Preview       *cfn.Preview
		ChangeSetName string
		Commit        string
		Warnings      []string
	}
	review := &Review{PullRequest: github.PullRequest{Owner: "octo-org", Repo: "octo-repo", Number: 42}, Token: prToken, APIURL: "https://api.github.com"}
	ghes := *review
	ghes.APIURL = "https://ghe.example.com/api/v3"
	cases := []struct {
		name    string
		inputs  map[string]string
		event   string
		payload string
		runner  map[string]string
		want    summary
	}{
		{"preview_with_comment", previewInputs(nil), "pull_request", prEventJSON, nil,
			summary{review, &cfn.Preview{PullRequest: 42}, "preview-pr42-0123456", headSHA, nil}},
		{"pull_request_target", previewInputs(nil), "pull_request_target", prEventJSON, nil,
			summary{review, &cfn.Preview{PullRequest: 42}, "preview-pr42-0123456", headSHA, nil}},
		{"enterprise_server", previewInputs(nil), "pull_request", prEventJSON, map[string]string{"GITHUB_API_URL": "https://ghe.example.com/api/v3"},
			summary{&ghes, &cfn.Preview{PullRequest: 42}, "preview-pr42-0123456", headSHA, nil}},
		{"create_only_mode_is_a_preview", previewInputs(map[string]string{"execute-changeset": "<unset>", "mode": "create-only"}), "pull_request", prEventJSON, nil,
			summary{review, &cfn.Preview{PullRequest: 42}, "preview-pr42-0123456", headSHA, nil}},
		{"preview_without_comment", previewInputs(map[string]string{"pr-comment": "<unset>", "github-token": "<unset>"}), "pull_request", prEventJSON, nil,
			summary{nil, &cfn.Preview{PullRequest: 42}, "preview-pr42-0123456", headSHA, nil}},
		{"named_change_set_is_not_a_preview", previewInputs(map[string]string{"change-set-name": "review-42"}), "pull_request", prEventJSON, nil,
			summary{review, nil, "review-42", headSHA, nil}},
		{"executed_deploy_comments_but_is_not_a_preview", previewInputs(map[string]string{"execute-changeset": "true"}), "pull_request", prEventJSON, nil,
			summary{review, nil, "deploy-preview-100-1-20260501t100000000", headSHA, nil}},
		{"push_without_comment_is_a_plain_change_set", previewInputs(map[string]string{"pr-comment": "false"}), "push", "", nil,
			summary{nil, nil, "deploy-preview-100-1-20260501t100000000", runSHA, nil}},
		{"unreadable_event_without_comment_warns", previewInputs(map[string]string{"pr-comment": "false"}), "pull_request", "", nil,
			summary{nil, nil, "deploy-preview-100-1-20260501t100000000", runSHA, []string{"This pull-request run's change set keeps the default name, not a preview name: GITHUB_EVENT_PATH is empty, so the pull request is unknown."}}},
		{"http_api_on_loopback", previewInputs(nil), "pull_request", prEventJSON, map[string]string{"GITHUB_API_URL": "http://127.0.0.1:8080"},
			summary{func() *Review { r := *review; r.APIURL = "http://127.0.0.1:8080"; return &r }(), &cfn.Preview{PullRequest: 42}, "preview-pr42-0123456", headSHA, nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plan, err := loadPR(t, tc.inputs, tc.event, tc.payload, tc.runner)
			if err != nil {
				t.Fatal(err)
			}
			var warnings []string
			for _, w := range plan.Warnings {
				if !strings.HasPrefix(w, "cloudformation-role-arn") {
					warnings = append(warnings, w)
				}
			}
			got := summary{plan.Review, plan.Deploy.Preview, plan.Deploy.ChangeSetName, plan.Commit, warnings}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if plan.Deploy.Preview != nil && plan.Deploy.ClientToken == plan.Deploy.ChangeSetName {
				t.Errorf("a preview's ClientToken repeats its name %q: re-runs at one commit would reuse it", plan.Deploy.ClientToken)
			}
		})
	}
}

func TestLoad_review_rejects_with_input_name_and_fix(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		inputs  map[string]string
		event   string
		payload string
		runner  map[string]string
		want    string
	}{
		{"push_event", previewInputs(nil), "push", "", nil,
			"input pr-comment: is true but this run was triggered by a push event: only pull_request and pull_request_target runs have a pull request to comment on"},
		{"no_event", previewInputs(nil), "", "", nil, "triggered by no event (GITHUB_EVENT_NAME is empty)"},
		{"no_stack", map[string]string{"aws-region": "us-east-1", "role-to-assume": "arn:aws:iam::123456789012:role/d", "aws-access-key-id": "AKIAIOSFODNN7EXAMPLE",
			"aws-secret-access-key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "pr-comment": "true", "github-token": prToken}, "pull_request", prEventJSON, nil,
			"input pr-comment: is true but stack-name is empty"},
		{"empty_token", previewInputs(map[string]string{"github-token": "<unset>"}), "pull_request", prEventJSON, nil,
			"input github-token: is empty while pr-comment is true; leave github-token out to use the job's token, and give the job `permissions: pull-requests: write`"},
		{"token_with_newline", previewInputs(map[string]string{"github-token": prToken + "\n"}), "pull_request", prEventJSON, nil,
			"input github-token: contains white space or a line break (the value is not shown)"},
		{"api_in_clear", previewInputs(nil), "pull_request", prEventJSON, map[string]string{"GITHUB_API_URL": "http://ghe.example.com/api/v3"},
			"input pr-comment: GITHUB_API_URL \"http://ghe.example.com/api/v3\" uses plain http:// to a remote host"},
		{"api_not_a_url", previewInputs(nil), "pull_request", prEventJSON, map[string]string{"GITHUB_API_URL": "api.github.com"},
			"GITHUB_API_URL \"api.github.com\" is not an http(s) URL"},
		{"bad_repository", previewInputs(nil), "pull_request", prEventJSON, map[string]string{"GITHUB_REPOSITORY": "nope"},
			"input pr-comment: GITHUB_REPOSITORY \"nope\" is not OWNER/REPO"},
		{"no_event_file", previewInputs(nil), "pull_request", "", nil,
			"input pr-comment: GITHUB_EVENT_PATH is empty, so the pull request is unknown; pr-comment needs the event payload that the runner provides"},
		{"event_not_json", previewInputs(nil), "pull_request", "{", nil, "the event payload GITHUB_EVENT_PATH is not JSON"},
		{"event_without_pull_request", previewInputs(nil), "pull_request", `{"number":1}`, nil, "has no pull_request"},
		{"event_without_head", previewInputs(nil), "pull_request", `{"pull_request":{"number":3}}`, nil, "has no pull_request.head.sha"},
		{"event_with_bad_number", previewInputs(nil), "pull_request", `{"pull_request":{"number":-3,"head":{"sha":"` + headSHA + `"}}}`, nil, "has no pull request number"},
		{"execute_only_a_preview", withDeploy(map[string]string{"mode": "execute-only", "execute-change-set-id": "arn:aws:cloudformation:us-east-1:123456789012:changeSet/preview-pr1-abc/1"}), "push", "", nil,
			"input execute-change-set-id: \"arn:aws:cloudformation:us-east-1:123456789012:changeSet/preview-pr1-abc/1\" is a pull-request preview"},
		{"reserved_name_executed", withDeploy(map[string]string{"change-set-name": "preview-pr1-abc"}), "push", "", nil,
			"input change-set-name: \"preview-pr1-abc\" starts with \"preview-\", which is reserved for pull-request previews"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadPR(t, tc.inputs, tc.event, tc.payload, tc.runner)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
			if strings.Contains(err.Error(), prToken) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}
