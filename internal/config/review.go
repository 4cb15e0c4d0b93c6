package config

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/cfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/github"
)

// Review is where a pull request's change set is reported: the sticky
// comment of pr-comment.
type Review struct {
	PullRequest github.PullRequest
	// Token is github-token, a secret; APIURL is GITHUB_API_URL.
	Token  string
	APIURL string
}

// pullRequestEvents are the events whose runs belong to a pull request.
var pullRequestEvents = map[string]bool{"pull_request": true, "pull_request_target": true}

var (
	repositoryRe = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
	shaRe        = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)
)

// prEvent is the part of a pull_request webhook payload the action reads.
type prEvent struct {
	Number      int `json:"number"`
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			SHA string `json:"sha"`
		} `json:"head"`
	} `json:"pull_request"`
}

// loadReview reads pr-comment and github-token and, on a pull request
// whose change set is not executed, makes the change set the pull
// request's preview. It runs after loadDeploy.
func (l *loader) loadReview() {
	l.plan.Commit = l.o.Runner.Job.SHA
	comment := l.boolean("pr-comment", false)
	token := l.in("github-token") // not trimmed: white space is a mistake we report
	event := l.o.Runner.Job.EventName
	onPR := pullRequestEvents[event]
	d := l.plan.Deploy
	explicitName := l.get("change-set-name") != ""
	if d != nil && explicitName && d.Execute && cfn.IsPreviewChangeSetName(d.ChangeSetName) {
		l.p.add("change-set-name", "%s starts with %q, which is reserved for pull-request previews: they are never executed (iam/bootstrap.yaml denies the deploy role ExecuteChangeSet on them); choose another name", show(d.ChangeSetName), cfn.PreviewPrefix)
	}
	if d != nil && d.ExecuteChangeSet != "" && cfn.IsPreviewChangeSetName(d.ExecuteChangeSet) {
		l.p.add("execute-change-set-id", "%s is a pull-request preview (its name starts with %q): previews are never executed (iam/bootstrap.yaml denies the deploy role ExecuteChangeSet on them); merge the pull request and deploy from the merged commit", show(d.ExecuteChangeSet), cfn.PreviewPrefix)
	}
	preview := onPR && d != nil && !d.Execute && d.ExecuteChangeSet == "" && !explicitName
	if !comment && !preview {
		return
	}
	if comment {
		ok := true
		if !onPR {
			what := "no event (GITHUB_EVENT_NAME is empty)"
			if event != "" {
				what = "a " + event + " event"
			}
			l.p.add("pr-comment", "is true but this run was triggered by %s: only pull_request and pull_request_target runs have a pull request to comment on; run the step only there (if: github.event_name == 'pull_request') or set pr-comment: false", what)
			ok = false
		}
		if d == nil {
			l.p.add("pr-comment", "is true but stack-name is empty: the comment reports a change set; set stack-name and template")
			ok = false
		}
		switch {
		case token == "":
			l.p.add("github-token", "is empty while pr-comment is true; leave github-token out to use the job's token, and give the job `permissions: pull-requests: write`")
			ok = false
		case strings.TrimSpace(token) != token || strings.ContainsAny(token, " \t\r\n"):
			l.p.add("github-token", "contains white space or a line break (the value is not shown); store the secret again without it")
			ok = false
		}
		api := l.apiURL()
		pr, repoOK := l.repository()
		if !ok || api == "" || !repoOK {
			return
		}
		l.plan.Review = &Review{PullRequest: pr, Token: token, APIURL: api}
	}
	number, head, err := l.readEvent()
	if err != "" {
		if comment {
			l.p.add("pr-comment", "%s; pr-comment needs the event payload that the runner provides", err)
			l.plan.Review = nil
			return
		}
		l.plan.Warnings = append(l.plan.Warnings, "This pull-request run's change set keeps the default name, not a preview name: "+err+".")
		return
	}
	l.plan.Commit = head
	if r := l.plan.Review; r != nil {
		r.PullRequest.Number = number
	}
	if preview {
		d.Preview = &cfn.Preview{PullRequest: number}
		d.ChangeSetName = cfn.PreviewChangeSetName(number, head)
		// Re-runs at one commit reuse the name: the idempotency token
		// must still be new, or CloudFormation could answer with the
		// deleted change set.
		j := l.o.Runner.Job
		d.ClientToken = cfn.DefaultChangeSetName(j.RunID, j.RunAttempt, j.Job, l.o.Now())
	}
}

// apiURL checks GITHUB_API_URL: https, or http only to this machine (a
// test fake), since the token goes with every request.
func (l *loader) apiURL() string {
	v := l.o.Runner.APIURL
	if v == "" {
		return github.DefaultBaseURL
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		l.p.add("pr-comment", "GITHUB_API_URL %s is not an http(s) URL; it is set by the runner (https://api.github.com, or https://HOST/api/v3 on GitHub Enterprise Server)", show(redactURL(v)))
		return ""
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		l.p.add("pr-comment", "GITHUB_API_URL %s uses plain http:// to a remote host: the token would travel in clear; use https://", show(redactURL(v)))
		return ""
	case u.User != nil:
		l.p.add("pr-comment", "GITHUB_API_URL %s holds credentials; give the token in github-token", show(redactURL(v)))
		return ""
	}
	return v
}

// repository splits GITHUB_REPOSITORY into owner and name.
func (l *loader) repository() (github.PullRequest, bool) {
	v := l.o.Runner.Job.Repository
	if !repositoryRe.MatchString(v) {
		l.p.add("pr-comment", "GITHUB_REPOSITORY %s is not OWNER/REPO; it is set by the runner", show(v))
		return github.PullRequest{}, false
	}
	owner, repo, _ := strings.Cut(v, "/")
	return github.PullRequest{Owner: owner, Repo: repo}, true
}

// readEvent reads the pull request's number and head commit from the
// runner's event payload; the error is a phrase for a problem message.
func (l *loader) readEvent() (int, string, string) {
	p := l.o.Runner.EventPath
	if p == "" {
		return 0, "", "GITHUB_EVENT_PATH is empty, so the pull request is unknown"
	}
	data, err := l.o.ReadFile(p)
	if err != nil {
		return 0, "", "the event payload GITHUB_EVENT_PATH cannot be read (" + err.Error() + ")"
	}
	var ev prEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return 0, "", "the event payload GITHUB_EVENT_PATH is not JSON (" + err.Error() + ")"
	}
	if ev.PullRequest == nil {
		return 0, "", "the event payload GITHUB_EVENT_PATH has no pull_request"
	}
	n := ev.PullRequest.Number
	if n == 0 {
		n = ev.Number
	}
	if n <= 0 || n > 1<<31-1 {
		return 0, "", "the event payload GITHUB_EVENT_PATH has no pull request number"
	}
	head := ev.PullRequest.Head.SHA
	if !shaRe.MatchString(head) {
		return 0, "", "the event payload GITHUB_EVENT_PATH has no pull_request.head.sha"
	}
	return n, strings.ToLower(head), ""
}
