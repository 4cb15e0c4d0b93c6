package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakegithub"
)

// The review flow: a preview role that pull requests may assume, a fake
// GitHub API, and a stack deployed from main first.
const (
	previewRole = "preview-role-for-ci"
	prSub       = "repo:octo-org/octo-repo:pull_request"
	prToken     = "ghs_e2ePullRequestToken0123456789abcdef"
	readOnly    = "ghs_e2eReadOnlyForkToken0123456789abcde"
	prNumber    = 7
	headA       = "aaaaaaa1111111111111111111111111111111111"
	headB       = "bbbbbbb2222222222222222222222222222222222"
	marker      = "<!-- aws-assume-deploy preview stack=app region=ap-northeast-1 -->"
)

// queueTemplate is appTemplate with one more resource: the change under
// review.
var queueTemplate = strings.Replace(appTemplate, "Outputs:", "  Queue:\n    Type: AWS::SQS::Queue\nOutputs:", 1)

// reviewEnv is a fake AWS with the preview role, CloudFormation, and a fake
// GitHub API served on 127.0.0.1.
type reviewEnv struct {
	srv *fakeaws.Server
	cfn *fakecfn.CloudFormation
	gh  *fakegithub.GitHub
	api string // GITHUB_API_URL, with GitHub Enterprise Server's /api/v3
}

func newReviewEnv(t *testing.T) *reviewEnv {
	t.Helper()
	srv, cfn, _ := deployFake(t, fast())
	srv.AddRole(fakeaws.Role{Name: previewRole, NoUserTrust: true, Audience: "sts.amazonaws.com", SubPatterns: []string{prSub}})
	gh := fakegithub.New()
	gh.AddToken(prToken, fakegithub.Token{})
	gh.AddToken(readOnly, fakegithub.Token{ReadOnly: true})
	api, err := fakecore.Serve(gh, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	return &reviewEnv{srv: srv, cfn: cfn, gh: gh, api: api.URL + "/api/v3"}
}

// deployMain deploys the stack as a push to main would, with the deploy role.
func (e *reviewEnv) deployMain(t *testing.T) *actionrun.Job {
	t.Helper()
	j := newJob(t, e.srv)
	j.Write("infra/app.yaml", appTemplate)
	j.Run(deployInput(nil)).MustSucceed(t)
	e.cfn.ResetCalls()
	return j
}

// prJob is a pull_request step at head in prev's workspace, with the
// id-token permission (sub ...:pull_request) and GitHub's event payload.
func (e *reviewEnv) prJob(t *testing.T, prev *actionrun.Job, head string) *actionrun.Job {
	t.Helper()
	e.srv.SetClaims(map[string]any{"event_name": "pull_request", "ref": "refs/pull/7/merge"})
	j := newJobIn(t, e.srv, prev).OIDC(e.srv)
	event := filepath.Join(t.TempDir(), "event.json")
	payload := `{"action":"synchronize","number":7,"pull_request":{"number":7,"head":{"sha":"` + head + `","ref":"feature"},"base":{"ref":"main"}}}`
	if err := os.WriteFile(event, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": event, "GITHUB_API_URL": e.api,
		"GITHUB_REF": "refs/pull/7/merge", "GITHUB_REF_NAME": "7/merge", "GITHUB_HEAD_REF": "feature", "GITHUB_BASE_REF": "main",
		"GITHUB_SHA": "fedcba9876543210fedcba9876543210fedcba98",
	} {
		j.Env[k] = v
	}
	return j
}

func previewInput(token string, extra map[string]string) map[string]string {
	return actionrun.Merge(map[string]string{
		"aws-region": "ap-northeast-1", "role-to-assume": "arn:aws:iam::123456789012:role/" + previewRole,
		"stack-name": "app", "template": "infra/app.yaml", "cloudformation-role-arn": cfnRoleARN,
		"parameter-overrides": "Env=prod,ImageTag=v1", "execute-changeset": "false",
		"pr-comment": "true", "github-token": token,
	}, extra)
}

func (e *reviewEnv) comments() []fakegithub.Comment {
	return e.gh.Comments("octo-org", "octo-repo", prNumber)
}

// changeSet returns the fake's change set of that name, if any.
func (e *reviewEnv) changeSet(name string) (fakecfn.ChangeSetInfo, bool) {
	for _, cs := range e.cfn.ChangeSets() {
		if cs.Name == name {
			return cs, true
		}
	}
	return fakecfn.ChangeSetInfo{}, false
}

func TestReview_preview_comment_is_created_then_updated(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	main := e.deployMain(t)
	// Someone pastes the marker into a comment of their own: it is left alone.
	e.gh.AddComment("octo-org", "octo-repo", prNumber, "mallory", marker+"\n### ✅ app · no changes")

	// First push: one comment.
	j := e.prJob(t, main, headA)
	j.Write("infra/app.yaml", queueTemplate)
	r := j.Run(previewInput(prToken, nil)).MustSucceed(t)
	assertMaskedFirst(t, r.Stdout, prToken)
	cs := e.comments()
	if len(cs) != 2 || cs[1].User.Login != "github-actions[bot]" {
		t.Fatalf("comments = %+v, want mallory's and one by the action", cs)
	}
	first := cs[1]
	for _, want := range []string{marker + "\n### 📝 app · ap-northeast-1 · 1 change to review, not executed", "preview-pr7-aaaaaaa", "Commit: aaaaaaa", "| Add | Queue | AWS::SQS::Queue |"} {
		if !strings.Contains(first.Body, want) {
			t.Errorf("comment lacks %q:\n%s", want, first.Body)
		}
	}
	if r.Outputs["change-set-name"] != "preview-pr7-aaaaaaa" || r.Outputs["has-changes"] != "true" {
		t.Errorf("outputs = %v", r.Outputs)
	}
	// The step summary is the same report, without the marker.
	summary, _ := os.ReadFile(j.SummaryFile)
	if string(summary) != strings.TrimPrefix(first.Body, marker+"\n") {
		t.Errorf("step summary and comment differ:\n--- summary\n%s\n--- comment\n%s", summary, first.Body)
	}
	t.Logf("rendered comment:\n%s", first.Body)

	// Second push, the template changed again: the same comment, updated;
	// the first preview deleted, never executed.
	j = e.prJob(t, main, headB)
	j.Write("infra/app.yaml", strings.Replace(queueTemplate, "AWS::SNS::Topic", "AWS::SNS::Topic\n    Properties:\n      DisplayName: alerts", 1))
	r = j.Run(previewInput(prToken, nil)).MustSucceed(t)
	cs = e.comments()
	if len(cs) != 2 || cs[1].ID != first.ID {
		t.Fatalf("comments after the second push = %+v, want the first one updated", cs)
	}
	if body := cs[1].Body; !strings.Contains(body, "preview-pr7-bbbbbbb") || strings.Contains(body, "preview-pr7-aaaaaaa") || !strings.Contains(body, "| Modify | Topic | AWS::SNS::Topic |") {
		t.Errorf("updated comment:\n%s", body)
	}
	t.Logf("rendered comment after the second push:\n%s", cs[1].Body)
	if cs[0].Body != marker+"\n### ✅ app · no changes" {
		t.Errorf("mallory's comment was changed: %q", cs[0].Body)
	}
	if old, ok := e.changeSet("preview-pr7-aaaaaaa"); !ok || !old.Deleted {
		t.Errorf("the first preview = %+v (found %v), want deleted", old, ok)
	}
	if cur, ok := e.changeSet("preview-pr7-bbbbbbb"); !ok || cur.Deleted || cur.Status != "CREATE_COMPLETE" {
		t.Errorf("the second preview = %+v (found %v), want ready", cur, ok)
	}
	if n := e.cfn.Count("cloudformation", "ExecuteChangeSet"); n != 0 {
		t.Errorf("ExecuteChangeSet reached CloudFormation %d times during previews", n)
	}
	for _, c := range e.cfn.CallsTo("cloudformation", "CreateChangeSet") {
		if !strings.Contains(c.CallerARN, "assumed-role/"+previewRole+"/") || c.Param("RoleARN") != cfnRoleARN {
			t.Errorf("change set by %s with role %q, want the preview role and the service role", c.CallerARN, c.Param("RoleARN"))
		}
	}
	if !strings.Contains(r.Stdout, "Updated the pull-request comment") {
		t.Errorf("log does not say the comment was updated:\n%s", r.Stdout)
	}
}

func TestReview_read_only_token_warns_and_succeeds(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	main := e.deployMain(t)
	j := e.prJob(t, main, headA)
	j.Write("infra/app.yaml", queueTemplate)
	r := j.Run(previewInput(readOnly, nil)).MustSucceed(t)
	assertMaskedFirst(t, r.Stdout, readOnly)
	if !strings.Contains(r.Stdout, "::warning::") || !strings.Contains(r.Stdout, "pull-requests: write") {
		t.Errorf("no warning naming pull-requests: write:\n%s", r.Stdout)
	}
	if len(e.comments()) != 0 || r.Outputs["change-set-name"] != "preview-pr7-aaaaaaa" {
		t.Errorf("comments = %v, outputs = %v", e.comments(), r.Outputs)
	}
	if summary, _ := os.ReadFile(j.SummaryFile); !strings.Contains(string(summary), "| Add | Queue |") {
		t.Errorf("the preview is not in the step summary:\n%s", summary)
	}
}

func TestReview_rate_limit_and_server_error_are_retried(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	main := e.deployMain(t)
	e.gh.InjectSecondaryRateLimit(fakegithub.ActionListComments, 1, time.Second)
	e.gh.InjectFault(fakegithub.ActionCreateComment, fakecore.Fault{Times: 1, Status: 502, Message: "Server Error"})
	j := e.prJob(t, main, headA)
	j.Write("infra/app.yaml", queueTemplate)
	j.Run(previewInput(prToken, nil)).MustSucceed(t)
	if cs := e.comments(); len(cs) != 1 {
		t.Errorf("%d comments, want 1", len(cs))
	}
}

func TestReview_failed_change_set_is_reported_in_the_comment(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	main := e.deployMain(t)
	e.cfn.SetScript(fakecfn.Script{ChangeSetCreateDelay: 300 * time.Millisecond, ChangeSetFailReason: "Template error: instance of Fn::GetAtt references undefined resource @octocat"})
	j := e.prJob(t, main, headA)
	j.Write("infra/app.yaml", queueTemplate)
	j.Run(previewInput(prToken, nil)).MustFail(t, "Template error")
	cs := e.comments()
	if len(cs) != 1 {
		t.Fatalf("%d comments, want 1", len(cs))
	}
	for _, want := range []string{"### ❌ app · ap-northeast-1 · change set FAILED", "**The change set failed:** Template error: instance of Fn::GetAtt references undefined resource @&#8203;octocat"} {
		if !strings.Contains(cs[0].Body, want) {
			t.Errorf("comment lacks %q:\n%s", want, cs[0].Body)
		}
	}
}

func TestReview_pr_comment_outside_a_pull_request_is_an_input_error(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	j := newJob(t, e.srv)
	j.Env["GITHUB_API_URL"] = e.api
	j.Write("infra/app.yaml", appTemplate)
	j.Run(previewInput(prToken, map[string]string{
		"role-to-assume": "arn:aws:iam::123456789012:role/" + deployRole, "aws-access-key-id": userKeyID, "aws-secret-access-key": userSecret,
	})).MustFail(t, "input pr-comment: is true but this run was triggered by a push event", "nothing was called or written")
	if len(e.srv.Calls()) != 0 || len(e.gh.Calls()) != 0 {
		t.Errorf("calls made: AWS %d, GitHub %d", len(e.srv.Calls()), len(e.gh.Calls()))
	}
}

// The same flow with moto doing the CloudFormation (and STS) side: an
// independent implementation of change sets, listing and deletion.
func TestMoto_review_preview_comment_and_cleanup(t *testing.T) {
	t.Parallel()
	moto := startMoto(t)
	e := newReviewEnv(t) // its GitHub API and OIDC issuer; moto does AWS
	main := newJob(t, nil)
	main.Env["AWS_ENDPOINT_URL"] = moto
	main.Write("infra/app.yaml", appTemplate)
	main.Run(deployInput(nil)).MustSucceed(t)

	preview := func(head, template string) actionrun.Result {
		t.Helper()
		j := e.prJob(t, main, head)
		j.Env["AWS_ENDPOINT_URL"] = moto
		j.Write("infra/app.yaml", template)
		return j.Run(previewInput(prToken, nil)).MustSucceed(t)
	}
	r := preview(headA, queueTemplate)
	assertMaskedFirst(t, r.Stdout, prToken)
	if cs := e.comments(); len(cs) != 1 || !strings.Contains(cs[0].Body, "preview-pr7-aaaaaaa") || !strings.Contains(cs[0].Body, "Queue") {
		t.Fatalf("comments after the first push = %+v", cs)
	}
	first := e.comments()[0].ID
	preview(headB, strings.Replace(queueTemplate, "AWS::SQS::Queue", "AWS::SQS::Queue\n    Properties:\n      DelaySeconds: 5", 1))
	cs := e.comments()
	if len(cs) != 1 || cs[0].ID != first || !strings.Contains(cs[0].Body, "preview-pr7-bbbbbbb") {
		t.Fatalf("comments after the second push = %+v", cs)
	}

	// What moto holds: the second preview only, and the stack as main left it.
	c := motoCFN(t, moto)
	list, err := c.ListChangeSets(context.Background(), &cloudformation.ListChangeSetsInput{StackName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Summaries {
		if name := aws.ToString(s.ChangeSetName); strings.HasPrefix(name, "preview-") {
			names = append(names, name)
		}
	}
	if len(names) != 1 || names[0] != "preview-pr7-bbbbbbb" {
		t.Errorf("preview change sets in moto = %v, want only preview-pr7-bbbbbbb", names)
	}
	res, err := c.DescribeStackResources(context.Background(), &cloudformation.DescribeStackResourcesInput{StackName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.StackResources {
		if aws.ToString(r.LogicalResourceId) == "Queue" {
			t.Errorf("the preview was executed: the stack has the Queue")
		}
	}
}

// motoCFN is a CloudFormation client for moto, with moto's fixed test
// credentials and no shared configuration.
func motoCFN(t *testing.T, url string) *cloudformation.Client {
	t.Helper()
	return cloudformation.New(cloudformation.Options{
		Region: "ap-northeast-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIAMOTOTESTKEY00001", "motoTestSecret", ""),
	})
}

// A NoEcho parameter's value never reaches the comment or the summary, not
// even through a property that uses it.
func TestReview_noecho_value_never_in_the_comment(t *testing.T) {
	t.Parallel()
	const secret = "NoEchoCanary-0123456789-s3cr3t"
	tmpl := `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
  ApiKey:
    Type: String
    NoEcho: true
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: !Ref ApiKey
`
	e := newReviewEnv(t)
	main := newJob(t, e.srv)
	main.Write("infra/app.yaml", tmpl)
	main.Run(deployInput(map[string]string{"parameter-overrides": "Env=prod,ApiKey=first-" + secret})).MustSucceed(t)
	j := e.prJob(t, main, headA)
	r := j.Run(previewInput(prToken, map[string]string{"parameter-overrides": "Env=prod,ApiKey=" + secret})).MustSucceed(t)
	summary, _ := os.ReadFile(j.SummaryFile)
	cs := e.comments()
	// The property that uses it is shown, its values masked.
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "| Modify | Topic |") || !strings.Contains(cs[0].Body, "| Topic | /Properties/DisplayName | \\*\\*\\*\\* | \\*\\*\\*\\* |") {
		t.Fatalf("comments = %+v", cs)
	}
	for where, text := range map[string]string{"comment": cs[0].Body, "step summary": string(summary), "outputs": strings.Join(mapValues(r.Outputs), "\n")} {
		if strings.Contains(text, secret) {
			t.Errorf("the NoEcho value is in the %s:\n%s", where, text)
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
