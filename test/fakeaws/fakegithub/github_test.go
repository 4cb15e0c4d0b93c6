package fakegithub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

const (
	writeToken = "ghs_write000000000000000000000000000000"
	readToken  = "ghs_read0000000000000000000000000000000"
)

func newServer(t *testing.T) (*GitHub, string, *fakecore.Clock) {
	t.Helper()
	clock := fakecore.NewClock(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	g := New(func(o *Options) {
		o.Now = clock.Now
		o.Tokens = map[string]Token{writeToken: {}, readToken: {Login: "reader", ReadOnly: true}}
	})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv.URL, clock
}

// call sends one REST request the way a plain net/http client does.
func call(t *testing.T, method, url, auth string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

var reNext = regexp.MustCompile(`<([^>]+)>; rel="next"`)

func TestCommentLifecycleAndPagination(t *testing.T) {
	t.Parallel()
	g, base, clock := newServer(t)
	for i := range 5 {
		g.AddComment("octo-org", "octo-repo", 7, "someone", fmt.Sprintf("seed %d", i))
	}
	list := base + "/repos/octo-org/octo-repo/issues/7/comments"

	resp, body := call(t, http.MethodPost, list, "Bearer "+writeToken, map[string]string{"body": "## Deploy plan\nno changes"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created map[string]any
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	id := int64(created["id"].(float64))
	wantHTML := fmt.Sprintf("https://github.com/octo-org/octo-repo/pull/7#issuecomment-%d", id)
	user := created["user"].(map[string]any)
	if created["html_url"] != wantHTML || user["login"] != "github-actions[bot]" || user["type"] != "Bot" ||
		created["created_at"] != "2025-03-04T05:06:07Z" || created["updated_at"] != "2025-03-04T05:06:07Z" || resp.Header.Get("Location") != created["url"] {
		t.Errorf("created comment = %s (Location %s)", body, resp.Header.Get("Location"))
	}

	clock.Advance(time.Minute)
	resp, body = call(t, http.MethodPatch, fmt.Sprintf("%s/repos/octo-org/octo-repo/issues/comments/%d", base, id), "token "+writeToken, map[string]string{"body": "updated"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"body":"updated"`) || !strings.Contains(string(body), `"updated_at":"2025-03-04T05:07:07Z"`) {
		t.Errorf("update: %d %s", resp.StatusCode, body)
	}

	// Follow the Link headers two at a time.
	var bodies []string
	next := list + "?per_page=2"
	for pages := 0; next != "" && pages < 10; pages++ {
		resp, body = call(t, http.MethodGet, next, "Bearer "+readToken, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list: %d %s", resp.StatusCode, body)
		}
		var page []Comment
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			bodies = append(bodies, c.Body)
		}
		next = ""
		if m := reNext.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
			next = m[1]
		}
	}
	if diff := cmp.Diff([]string{"seed 0", "seed 1", "seed 2", "seed 3", "seed 4", "updated"}, bodies); diff != "" {
		t.Errorf("paged bodies (-want +got):\n%s", diff)
	}
	resp, _ = call(t, http.MethodGet, list+"?per_page=2&page=2", "Bearer "+readToken, nil)
	wantLink := `<` + list + `?page=1&per_page=2>; rel="prev", <` + list + `?page=3&per_page=2>; rel="next", <` + list + `?page=3&per_page=2>; rel="last", <` + list + `?page=1&per_page=2>; rel="first"`
	if got := resp.Header.Get("Link"); got != wantLink {
		t.Errorf("Link = %s\nwant  %s", got, wantLink)
	}
	if got := g.Count("github", ActionListComments); got != 4 {
		t.Errorf("Count(ListComments) = %d, want 4", got)
	}
	if c := g.CallsTo("github", ActionUpdateComment); len(c) != 1 || c[0].CallerARN != "github-actions[bot]" || c[0].Param("comment_id") != fmt.Sprint(id) {
		t.Errorf("update calls = %+v", c)
	}
}

func TestAuthAndPermissions(t *testing.T) {
	t.Parallel()
	g, base, _ := newServer(t)
	c := g.AddComment("o", "r", 1, "someone", "x")
	list := base + "/repos/o/r/issues/1/comments"
	edit := fmt.Sprintf("%s/repos/o/r/issues/comments/%d", base, c.ID)
	tests := []struct {
		name, method, url, auth string
		wantStatus              int
		wantMessage             string
	}{
		{"no_token", http.MethodGet, list, "", 401, MsgRequiresAuth},
		{"unknown_token", http.MethodGet, list, "Bearer ghs_nope", 401, MsgBadCredentials},
		{"basic_scheme", http.MethodGet, list, "Basic " + writeToken, 401, MsgBadCredentials},
		{"bearer_reads", http.MethodGet, list, "Bearer " + readToken, 200, ""},
		{"token_scheme_reads", http.MethodGet, list, "token " + readToken, 200, ""},
		{"read_only_create", http.MethodPost, list, "Bearer " + readToken, 403, MsgNotAccessible},
		{"read_only_update", http.MethodPatch, edit, "Bearer " + readToken, 403, MsgNotAccessible},
		{"write_update", http.MethodPatch, edit, "Bearer " + writeToken, 200, ""},
		{"missing_comment", http.MethodPatch, base + "/repos/o/r/issues/comments/1", "Bearer " + writeToken, 404, "Not Found"},
		{"unknown_path", http.MethodGet, base + "/repos/o/r/pulls", "Bearer " + writeToken, 404, "Not Found"},
	}
	for _, tc := range tests {
		resp, body := call(t, tc.method, tc.url, tc.auth, map[string]string{"body": "y"})
		var doc struct{ Message string }
		_ = json.Unmarshal(body, &doc)
		if resp.StatusCode != tc.wantStatus || (tc.wantMessage != "" && doc.Message != tc.wantMessage) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, resp.StatusCode, body, tc.wantStatus, tc.wantMessage)
		}
	}
	if got := g.Comments("o", "r", 1)[0].Body; got != "y" {
		t.Errorf("body after the one permitted update = %q", got)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	g, base, _ := newServer(t)
	list := base + "/repos/o/r/issues/2/comments"
	atLimit := strings.Repeat("é", MaxBodyChars) // characters, not bytes
	if resp, body := call(t, http.MethodPost, list, "Bearer "+writeToken, map[string]string{"body": atLimit}); resp.StatusCode != 201 {
		t.Errorf("at the limit: %d %.200s", resp.StatusCode, body)
	}
	resp, body := call(t, http.MethodPost, list, "Bearer "+writeToken, map[string]string{"body": atLimit + "x"})
	want := `{"documentation_url":"https://docs.github.com/rest/issues/comments#create-an-issue-comment","errors":[{"code":"custom","field":"body","message":"body is too long (maximum is 65536 characters)","resource":"IssueComment"}],"message":"Validation Failed","status":"422"}`
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.TrimSpace(string(body)) != want {
		t.Errorf("over the limit: %d %s", resp.StatusCode, body)
	}
	if n := len(g.Comments("o", "r", 2)); n != 1 {
		t.Errorf("%d comments stored, want 1", n)
	}
}

func TestInjectedFaults(t *testing.T) {
	t.Parallel()
	g, base, _ := newServer(t)
	list := base + "/repos/o/r/issues/3/comments"
	g.InjectSecondaryRateLimit(ActionCreateComment, 1, 60*time.Second)
	g.InjectFault(ActionListComments, fakecore.Fault{Status: http.StatusBadGateway, Message: "Server Error"})

	resp, body := call(t, http.MethodPost, list, "Bearer "+writeToken, map[string]string{"body": "x"})
	var doc struct{ Message, DocumentationURL string }
	_ = json.Unmarshal(body, &doc)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Retry-After") != "60" ||
		!strings.HasPrefix(doc.Message, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.") {
		t.Errorf("secondary rate limit: %d retry-after %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := call(t, http.MethodPost, list, "Bearer "+writeToken, map[string]string{"body": "x"}); resp.StatusCode != 201 {
		t.Errorf("after the limit: %d", resp.StatusCode)
	}
	resp, body = call(t, http.MethodGet, list, "Bearer "+writeToken, nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), `"message":"Server Error"`) {
		t.Errorf("5xx fault: %d %s", resp.StatusCode, body)
	}
	var statuses []int
	for _, c := range g.Calls() {
		statuses = append(statuses, c.Status)
	}
	if diff := cmp.Diff([]int{403, 201, 502}, statuses); diff != "" {
		t.Errorf("recorded statuses (-want +got):\n%s", diff)
	}
}
