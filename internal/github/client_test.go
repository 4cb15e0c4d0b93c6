package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testToken = "ghs_testTokenNeverShown0123456789"

// api is a minimal GitHub comments API for one pull request (o/r#7),
// scripted per test. The wire-level fake in test/fakeaws serves the
// end-to-end tests; this one lets each case inject exactly one answer.
type api struct {
	mu       sync.Mutex
	comments []Comment
	nextID   int64
	// author writes the comments the token creates.
	author User
	// user answers GET /user; nil gives 403 as for an installation token.
	user *User
	// answer, when it returns a status, answers the request instead.
	answer func(r *http.Request, n int) (status int, header http.Header, body string)
	calls  []string
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	call := r.Method + " " + r.URL.Path
	a.calls = append(a.calls, call)
	if r.Header.Get("Authorization") != "Bearer "+testToken || r.Header.Get("User-Agent") == "" ||
		r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("X-GitHub-Api-Version") == "" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"Bad credentials"}`)
		return
	}
	if a.answer != nil {
		if status, h, body := a.answer(r, len(a.calls)); status != 0 {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return
		}
	}
	var in struct {
		Body string `json:"body"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	switch {
	case call == "GET /user" && a.user != nil:
		_ = json.NewEncoder(w).Encode(a.user)
	case call == "GET /user":
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"Resource not accessible by integration"}`)
	case call == "GET /repos/o/r/issues/7/comments":
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		start := min((page-1)*per, len(a.comments))
		_ = json.NewEncoder(w).Encode(a.comments[start:min(start+per, len(a.comments))])
	case call == "POST /repos/o/r/issues/7/comments":
		a.nextID++
		c := Comment{ID: a.nextID, Body: in.Body, User: a.author}
		a.comments = append(a.comments, c)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(c)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/o/r/issues/comments/"):
		id, _ := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/repos/o/r/issues/comments/"), 10, 64)
		for i := range a.comments {
			if a.comments[i].ID == id {
				a.comments[i].Body = in.Body
				_ = json.NewEncoder(w).Encode(a.comments[i])
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"Not Found"}`)
	}
}

func (a *api) add(body string, u User) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextID++
	a.comments = append(a.comments, Comment{ID: a.nextID, Body: body, User: u})
}

func (a *api) snapshot() ([]Comment, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Comment(nil), a.comments...), append([]string(nil), a.calls...)
}

var (
	bot   = User{Login: "github-actions[bot]", Type: "Bot"}
	alice = User{Login: "alice", Type: "User"}
	pr7   = PullRequest{Owner: "o", Repo: "r", Number: 7}
)

// newClient serves a on 127.0.0.1 and returns a client whose sleeps are
// recorded, not slept.
func newClient(t *testing.T, a http.Handler) (*Client, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	var slept []time.Duration
	c := New(func(o *Options) {
		o.BaseURL, o.Token, o.UserAgent = srv.URL+"/api/v3", testToken, "aws-assume-deploy/test"
		o.HTTP = srv.Client()
		o.Rand = func() float64 { return 1 }
		o.Now = func() time.Time { return time.Unix(1_700_000_000, 0) }
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			slept = append(slept, d)
			return ctx.Err()
		}
	})
	return c, &slept
}

// newServer is newClient with the API served under /api/v3, as on GHES.
func newServer(t *testing.T, a *api) (*Client, *[]time.Duration) {
	t.Helper()
	return newClient(t, &pathStrip{prefix: "/api/v3", h: a})
}

type pathStrip struct {
	prefix string
	h      http.Handler
}

func (p *pathStrip) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, p.prefix+"/") {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	r.URL.Path = strings.TrimPrefix(r.URL.Path, p.prefix)
	p.h.ServeHTTP(w, r)
}

func TestListComments_pages(t *testing.T) {
	t.Parallel()
	a := &api{author: bot}
	for i := range 250 {
		a.add(fmt.Sprintf("c%d", i), alice)
	}
	c, _ := newServer(t, a)
	got, err := c.ListComments(context.Background(), pr7)
	if err != nil || len(got) != 250 || got[249].Body != "c249" {
		t.Fatalf("ListComments = %d comments, %v", len(got), err)
	}
	_, calls := a.snapshot()
	if len(calls) != 3 {
		t.Errorf("calls = %v, want 3 pages", calls)
	}
}

func TestUpsertComment(t *testing.T) {
	t.Parallel()
	const key = "preview stack=app region=eu-west-1"
	marker := Marker(key)
	cases := []struct {
		name string
		seed func(a *api)
		// wantBodies are the comments afterwards; "NEW" is the upserted body.
		wantBodies  []string
		wantCreated bool
		wantForeign int
		wantCalls   []string
	}{
		{
			name:        "creates_when_none",
			seed:        func(a *api) { a.add("LGTM", alice) },
			wantBodies:  []string{"LGTM", "NEW"},
			wantCreated: true,
			wantCalls:   []string{"GET /repos/o/r/issues/7/comments", "POST /repos/o/r/issues/7/comments"},
		},
		{
			name: "updates_its_own",
			seed: func(a *api) {
				a.add(marker+"\nold", bot)
				a.add("LGTM", alice)
			},
			wantBodies: []string{"NEW", "LGTM"},
			wantCalls:  []string{"GET /repos/o/r/issues/7/comments", "PATCH /repos/o/r/issues/comments/1"},
		},
		{
			name: "other_stack_is_another_comment",
			seed: func(a *api) {
				a.add(Marker("preview stack=web region=eu-west-1")+"\nweb", bot)
			},
			wantBodies:  []string{Marker("preview stack=web region=eu-west-1") + "\nweb", "NEW"},
			wantCreated: true,
			wantCalls:   []string{"GET /repos/o/r/issues/7/comments", "POST /repos/o/r/issues/7/comments"},
		},
		{
			name:        "marker_pasted_by_a_user_is_left_alone",
			seed:        func(a *api) { a.add(marker+"\nforged: no changes", alice) },
			wantBodies:  []string{marker + "\nforged: no changes", "NEW"},
			wantCreated: true,
			wantForeign: 1,
			wantCalls:   []string{"GET /repos/o/r/issues/7/comments", "GET /user", "POST /repos/o/r/issues/7/comments"},
		},
		{
			name:       "marker_not_on_the_first_line_does_not_count",
			seed:       func(a *api) { a.add("quoting:\n"+marker, bot) },
			wantBodies: []string{"quoting:\n" + marker, "NEW"}, wantCreated: true,
			wantCalls: []string{"GET /repos/o/r/issues/7/comments", "POST /repos/o/r/issues/7/comments"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := &api{author: bot}
			tc.seed(a)
			c, _ := newServer(t, a)
			out, err := c.UpsertComment(context.Background(), pr7, key, "body")
			if err != nil {
				t.Fatal(err)
			}
			comments, calls := a.snapshot()
			var bodies []string
			for _, cm := range comments {
				if cm.Body == marker+"\nbody" {
					bodies = append(bodies, "NEW")
				} else {
					bodies = append(bodies, cm.Body)
				}
			}
			if diff := cmp.Diff(tc.wantBodies, bodies); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCalls, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if out.Created != tc.wantCreated || out.Foreign != tc.wantForeign || out.Comment.Body != marker+"\nbody" {
				t.Errorf("Outcome = %+v", out)
			}
		})
	}
}

func TestUpsertComment_users_token_updates_the_users_comment(t *testing.T) {
	t.Parallel()
	a := &api{author: alice, user: &alice}
	a.add(Marker("k")+"\nold", alice)
	c, _ := newServer(t, a)
	out, err := c.UpsertComment(context.Background(), pr7, "k", "new")
	if err != nil || out.Created || out.Comment.ID != 1 {
		t.Errorf("UpsertComment = %+v, %v; want comment 1 updated", out, err)
	}
}

func TestUpsertComment_retries(t *testing.T) {
	t.Parallel()
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	type answer struct {
		call   int // 1-based request number
		status int
		header http.Header
		body   string
	}
	cases := []struct {
		name      string
		answers   []answer
		wantErr   string // "" for success
		wantSlept []time.Duration
		wantPosts int
	}{
		{
			name:      "server_errors_back_off",
			answers:   []answer{{1, 502, nil, ""}, {2, 503, nil, ""}},
			wantSlept: []time.Duration{time.Second, 2 * time.Second},
			wantPosts: 1,
		},
		{
			name:      "secondary_rate_limit_waits_as_told",
			answers:   []answer{{1, 403, h("Retry-After", "7"), `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`}},
			wantSlept: []time.Duration{7 * time.Second},
			wantPosts: 1,
		},
		{
			name:      "secondary_rate_limit_without_header_waits_a_minute",
			answers:   []answer{{1, 403, nil, `{"message":"You have exceeded a secondary rate limit."}`}},
			wantSlept: []time.Duration{time.Minute},
			wantPosts: 1,
		},
		{
			name:      "primary_rate_limit_waits_for_the_reset",
			answers:   []answer{{1, 429, h("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1700000030"), `{"message":"API rate limit exceeded"}`}},
			wantSlept: []time.Duration{31 * time.Second},
			wantPosts: 1,
		},
		{
			name:    "reset_too_far_away_fails_without_waiting",
			answers: []answer{{1, 403, h("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1700003600"), `{"message":"API rate limit exceeded"}`}},
			wantErr: "GET /repos/o/r/issues/7/comments: 403 API rate limit exceeded (GitHub asks to wait 1h0m1s more; that is past the 2m0s this step waits for GitHub)",
		},
		{
			name:    "read_only_token_is_not_retried",
			answers: []answer{{2, 403, nil, `{"message":"Resource not accessible by integration"}`}},
			wantErr: "POST /repos/o/r/issues/7/comments: 403 Resource not accessible by integration",
		},
		{
			name: "attempts_are_bounded",
			answers: []answer{{1, 500, nil, ""}, {2, 500, nil, ""}, {3, 500, nil, ""}, {4, 500, nil, ""}, {5, 500, nil, ""},
				{6, 500, nil, ""}},
			wantErr:   "GET /repos/o/r/issues/7/comments: 500 Internal Server Error (gave up after 5 attempts)",
			wantSlept: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
		},
		{
			// GitHub stored the comment and then failed: the retry finds it
			// and updates it instead of posting a second one.
			name:      "create_that_failed_late_is_not_posted_twice",
			answers:   []answer{{2, -502, nil, ""}},
			wantSlept: []time.Duration{time.Second},
			wantPosts: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := &api{author: bot}
			a.answer = func(r *http.Request, n int) (int, http.Header, string) {
				for _, an := range tc.answers {
					if an.call != n {
						continue
					}
					if an.status < 0 {
						// Store the comment, then answer with an error.
						var in struct{ Body string }
						_ = json.NewDecoder(r.Body).Decode(&in)
						a.nextID++
						a.comments = append(a.comments, Comment{ID: a.nextID, Body: in.Body, User: a.author})
						return -an.status, an.header, an.body
					}
					return an.status, an.header, an.body
				}
				return 0, nil, ""
			}
			c, slept := newServer(t, a)
			_, err := c.UpsertComment(context.Background(), pr7, "k", "body")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("UpsertComment: %v", err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("error = %v\nwant    %s", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("the error shows the token: %v", err)
			}
			if diff := cmp.Diff(tc.wantSlept, *slept); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
			comments, _ := a.snapshot()
			if len(comments) != tc.wantPosts {
				t.Errorf("%d comments, want %d", len(comments), tc.wantPosts)
			}
		})
	}
}

func TestForbidden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want bool
	}{
		{&APIError{Status: 403, Message: "Resource not accessible by integration"}, true},
		{&APIError{Status: 404}, true},
		{fmt.Errorf("wrapped: %w", &APIError{Status: 403}), true},
		{&APIError{Status: 403, RateLimited: true}, false},
		{&APIError{Status: 401}, false},
		{&APIError{Status: 500}, false},
		{context.Canceled, false},
	}
	for _, tc := range cases {
		if got := Forbidden(tc.err); got != tc.want {
			t.Errorf("Forbidden(%v) = %v", tc.err, got)
		}
	}
}

func TestUpsertComment_refuses_what_cannot_be_posted(t *testing.T) {
	t.Parallel()
	a := &api{author: bot}
	c, _ := newServer(t, a)
	for name, tc := range map[string]struct{ key, body string }{
		"body_over_the_limit":   {"k", strings.Repeat("x", BodyLimit("k")+1)},
		"key_closes_comment":    {"a --> b", "x"},
		"key_with_a_line_break": {"a\nb", "x"},
	} {
		if _, err := c.UpsertComment(context.Background(), pr7, tc.key, tc.body); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, calls := a.snapshot(); len(calls) != 0 {
		t.Errorf("calls = %v, want none", calls)
	}
	if _, err := c.UpsertComment(context.Background(), pr7, "k", strings.Repeat("x", BodyLimit("k"))); err != nil {
		t.Errorf("a body of exactly the limit: %v", err)
	}
}

func TestClient_cancelled_wait_stops(t *testing.T) {
	t.Parallel()
	a := &api{author: bot, answer: func(*http.Request, int) (int, http.Header, string) { return 503, nil, "" }}
	srv := httptest.NewServer(a)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c := New(func(o *Options) {
		o.BaseURL, o.Token, o.HTTP = srv.URL, testToken, srv.Client()
		o.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	})
	_, err := c.ListComments(ctx, pr7)
	if err == nil || !strings.Contains(err.Error(), "stopped waiting to retry") {
		t.Errorf("error = %v", err)
	}
}
