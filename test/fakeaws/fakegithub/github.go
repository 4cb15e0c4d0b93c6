// Package fakegithub is a wire-level fake of the part of GitHub's REST API
// that comments on pull requests: listing (paginated with Link headers),
// creating and editing issue comments.
//
// Plain net/http clients and go-github-style clients work against it: it
// answers GitHub's JSON shapes, status codes and messages, requires a token
// (Authorization: Bearer or token), refuses writes with a read-only token as
// a GITHUB_TOKEN without pull-requests: write is refused, enforces the 65536
// character body limit, and can inject secondary rate limits and 5xx. Every
// call is recorded in the embedded [fakecore.CallLog] under service "github".
package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// Actions, for InjectFault and the call log.
const (
	ActionListComments  = "ListComments"  // GET /repos/{owner}/{repo}/issues/{n}/comments
	ActionCreateComment = "CreateComment" // POST /repos/{owner}/{repo}/issues/{n}/comments
	ActionUpdateComment = "UpdateComment" // PATCH /repos/{owner}/{repo}/issues/comments/{id}
)

// MaxBodyChars is GitHub's limit on a comment body, in characters.
const MaxBodyChars = 65536

// Messages GitHub answers with.
const (
	MsgNotAccessible      = "Resource not accessible by integration"
	MsgBadCredentials     = "Bad credentials"
	MsgRequiresAuth       = "Requires authentication"
	MsgSecondaryRateLimit = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
		"If you reach out to GitHub Support for help, please include the request ID %s."
	docsSecondaryRateLimit = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

var _ http.Handler = (*GitHub)(nil)

// Token is what a token may do.
type Token struct {
	// Login is the user the token acts as. Default "github-actions[bot]".
	Login string
	// ReadOnly refuses writes with 403 "Resource not accessible by
	// integration", like a GITHUB_TOKEN without pull-requests: write.
	ReadOnly bool
}

// Options configure a [GitHub]. The zero value is usable.
type Options struct {
	// Now stamps comments and calls. Default time.Now.
	Now func() time.Time
	// Tokens are the accepted tokens; others get 401. See [GitHub.AddToken].
	Tokens map[string]Token
	// HTMLBaseURL prefixes html_url. Default "https://github.com".
	HTMLBaseURL string
	// MaxCalls bounds the call log (default [fakecore.DefaultMaxCalls]).
	MaxCalls int
}

// User is a comment's author.
type User struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

// Comment is an issue comment in GitHub's JSON shape.
type Comment struct {
	ID                int64     `json:"id"`
	NodeID            string    `json:"node_id"`
	URL               string    `json:"url"`
	HTMLURL           string    `json:"html_url"`
	IssueURL          string    `json:"issue_url"`
	Body              string    `json:"body"`
	User              User      `json:"user"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	AuthorAssociation string    `json:"author_association"`
}

type stored struct {
	Comment
	owner, repo string
	issue       int
}

// GitHub is the fake; it is an [http.Handler].
type GitHub struct {
	*fakecore.CallLog

	opts   Options
	faults fakecore.Faults

	mu       sync.Mutex
	tokens   map[string]Token
	comments []*stored // creation order
	nextID   int64
	reqSeq   int
}

// New returns a fake with no comments.
func New(optFns ...func(*Options)) *GitHub {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTMLBaseURL == "" {
		o.HTMLBaseURL = "https://github.com"
	}
	g := &GitHub{CallLog: fakecore.NewCallLog(o.MaxCalls), opts: o, tokens: map[string]Token{}, nextID: 1000000001}
	for k, v := range o.Tokens {
		g.AddToken(k, v)
	}
	return g
}

// AddToken accepts token with the given rights.
func (g *GitHub) AddToken(token string, t Token) {
	if t.Login == "" {
		t.Login = "github-actions[bot]"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokens[token] = t
}

// AddComment seeds a comment on owner/repo's pull request n by login.
func (g *GitHub) AddComment(owner, repo string, n int, login, body string) Comment {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addLocked("https://api.github.com", owner, repo, n, login, body)
}

// Comments returns the comments on owner/repo's pull request n, oldest first.
func (g *GitHub) Comments(owner, repo string, n int) []Comment {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Comment
	for _, c := range g.comments {
		if c.owner == owner && c.repo == repo && c.issue == n {
			out = append(out, c.Comment)
		}
	}
	return out
}

// InjectFault queues f for the next calls of action (an Action* constant or
// [fakecore.AnyAction]); a Code-less error answers GitHub's JSON error with
// Message, for example Fault{Status: 502, Message: "Server Error"}.
func (g *GitHub) InjectFault(action string, f fakecore.Fault) { g.faults.Inject(action, f) }

// InjectSecondaryRateLimit answers the next times calls of action with
// GitHub's secondary rate limit: 403, a retry-after header and its message.
func (g *GitHub) InjectSecondaryRateLimit(action string, times int, retryAfter time.Duration) {
	g.mu.Lock()
	g.reqSeq++
	id := fmt.Sprintf("FA2D:87B1:%06X:%07X:%08X", g.reqSeq, g.reqSeq*7, g.opts.Now().Unix())
	g.mu.Unlock()
	body, _ := json.Marshal(map[string]string{
		"message":           fmt.Sprintf(MsgSecondaryRateLimit, id),
		"documentation_url": docsSecondaryRateLimit,
	})
	g.InjectFault(action, fakecore.Fault{Times: times, Status: http.StatusForbidden, Body: string(body),
		Header: http.Header{"Retry-After": {strconv.Itoa(int(retryAfter.Seconds()))}, "X-Github-Request-Id": {id}}})
}

var (
	reIssueComments = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/issues/([0-9]+)/comments$`)
	reComment       = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/issues/comments/([0-9]+)$`)
)

// ServeHTTP answers one REST call.
func (g *GitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api/v3") // GitHub Enterprise Server's prefix
	action, params := route(r.Method, path)
	params.Set("per_page", r.URL.Query().Get("per_page"))
	params.Set("page", r.URL.Query().Get("page"))
	rw := &fakecore.StatusRecorder{ResponseWriter: w}
	rec := g.Record(fakecore.Call{Service: "github", Action: action, Method: r.Method, Time: g.opts.Now(), Params: params})
	defer func() { rec.Finish(rw.Status, rw.ErrorCode) }()
	g.commonHeaders(rw)

	if f, ok := g.faults.Next(action); ok && f.Serve(rw, r, nil, writeError) {
		return
	}
	tok, status, msg := g.authenticate(r)
	if status != 0 {
		writeError(rw, &fakecore.APIError{Status: status, Message: msg})
		return
	}
	rec.SetCaller(tok.Login, "")
	switch action {
	case ActionListComments:
		g.list(rw, r, params)
	case ActionCreateComment, ActionUpdateComment:
		if tok.ReadOnly {
			writeError(rw, &fakecore.APIError{Status: http.StatusForbidden, Message: MsgNotAccessible})
			return
		}
		g.write(rw, r, action, params, tok)
	default:
		writeError(rw, &fakecore.APIError{Status: http.StatusNotFound, Message: "Not Found"})
	}
}

func route(method, path string) (string, url.Values) {
	if m := reIssueComments.FindStringSubmatch(path); m != nil {
		p := url.Values{"owner": {m[1]}, "repo": {m[2]}, "issue_number": {m[3]}}
		switch method {
		case http.MethodGet:
			return ActionListComments, p
		case http.MethodPost:
			return ActionCreateComment, p
		}
		return method, p
	}
	if m := reComment.FindStringSubmatch(path); m != nil {
		p := url.Values{"owner": {m[1]}, "repo": {m[2]}, "comment_id": {m[3]}}
		if method == http.MethodPatch {
			return ActionUpdateComment, p
		}
		return method, p
	}
	return method, url.Values{"path": {path}}
}

func (g *GitHub) authenticate(r *http.Request) (Token, int, string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Token{}, http.StatusUnauthorized, MsgRequiresAuth
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token") {
		return Token{}, http.StatusUnauthorized, MsgBadCredentials
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tokens[strings.TrimSpace(tok)]
	if !ok {
		return Token{}, http.StatusUnauthorized, MsgBadCredentials
	}
	return t, 0, ""
}

func (g *GitHub) commonHeaders(w http.ResponseWriter) {
	g.mu.Lock()
	g.reqSeq++
	seq := g.reqSeq
	g.mu.Unlock()
	h := w.Header()
	h.Set("X-Github-Api-Version-Selected", "2022-11-28")
	h.Set("X-Github-Media-Type", "github.v3; format=json")
	h.Set("X-Github-Request-Id", fmt.Sprintf("C0DE:F4KE:%06X:%07X:%08X", seq, seq*3, g.opts.Now().Unix()))
	h.Set("X-Ratelimit-Limit", "5000")
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(max(0, 5000-seq)))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(g.opts.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-Ratelimit-Resource", "core")
}

func (g *GitHub) list(w http.ResponseWriter, r *http.Request, p url.Values) {
	n, _ := strconv.Atoi(p.Get("issue_number"))
	perPage, page := 30, 1
	if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	all := g.Comments(p.Get("owner"), p.Get("repo"), n)
	last := max(1, (len(all)+perPage-1)/perPage)
	start := min((page-1)*perPage, len(all))
	items := all[start:min(start+perPage, len(all))]
	if items == nil {
		items = []Comment{}
	}
	if link := linkHeader(apiBase(r), r.URL, page, last); link != "" {
		w.Header().Set("Link", link)
	}
	fakecore.WriteJSON(w, http.StatusOK, items)
}

// linkHeader builds GitHub's pagination links (RFC 8288) from the request URL.
func linkHeader(base string, u *url.URL, page, last int) string {
	if last <= 1 {
		return ""
	}
	link := func(n int, rel string) string {
		q := u.Query()
		q.Set("page", strconv.Itoa(n))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, base, u.Path, q.Encode(), rel)
	}
	var parts []string
	if page > 1 {
		parts = append(parts, link(min(page-1, last), "prev"))
	}
	if page < last {
		parts = append(parts, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		parts = append(parts, link(1, "first"))
	}
	return strings.Join(parts, ", ")
}

func apiBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (g *GitHub) write(w http.ResponseWriter, r *http.Request, action string, p url.Values, tok Token) {
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		writeError(w, &fakecore.APIError{Status: http.StatusBadRequest, Message: "Problems parsing JSON"})
		return
	}
	if in.Body == nil {
		writeValidation(w, "missing_field", "")
		return
	}
	if utf8.RuneCountInString(*in.Body) > MaxBodyChars {
		writeValidation(w, "custom", fmt.Sprintf("body is too long (maximum is %d characters)", MaxBodyChars))
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if action == ActionCreateComment {
		n, _ := strconv.Atoi(p.Get("issue_number"))
		c := g.addLocked(apiBase(r), p.Get("owner"), p.Get("repo"), n, tok.Login, *in.Body)
		w.Header().Set("Location", c.URL)
		fakecore.WriteJSON(w, http.StatusCreated, c)
		return
	}
	id, _ := strconv.ParseInt(p.Get("comment_id"), 10, 64)
	for _, c := range g.comments {
		if c.ID == id && c.owner == p.Get("owner") && c.repo == p.Get("repo") {
			c.Body, c.UpdatedAt = *in.Body, g.now()
			fakecore.WriteJSON(w, http.StatusOK, c.Comment)
			return
		}
	}
	writeError(w, &fakecore.APIError{Status: http.StatusNotFound, Message: "Not Found"})
}

func (g *GitHub) now() time.Time { return g.opts.Now().UTC().Truncate(time.Second) }

func (g *GitHub) addLocked(api, owner, repo string, n int, login, body string) Comment {
	id := g.nextID
	g.nextID++
	now := g.now()
	c := &stored{owner: owner, repo: repo, issue: n, Comment: Comment{
		ID:                id,
		NodeID:            fmt.Sprintf("IC_kwDOFAKE%08d", id%100000000),
		URL:               fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", api, owner, repo, id),
		HTMLURL:           fmt.Sprintf("%s/%s/%s/pull/%d#issuecomment-%d", g.opts.HTMLBaseURL, owner, repo, n, id),
		IssueURL:          fmt.Sprintf("%s/repos/%s/%s/issues/%d", api, owner, repo, n),
		Body:              body,
		User:              userFor(login),
		CreatedAt:         now,
		UpdatedAt:         now,
		AuthorAssociation: "NONE",
	}}
	g.comments = append(g.comments, c)
	sort.SliceStable(g.comments, func(i, j int) bool { return g.comments[i].ID < g.comments[j].ID })
	return c.Comment
}

func userFor(login string) User {
	u := User{Login: login, ID: int64(len(login))*1000 + 7, Type: "User"}
	if strings.HasSuffix(login, "[bot]") {
		u.Type, u.ID = "Bot", 41898282 // github-actions[bot]'s id
	}
	return u
}

// writeError answers GitHub's JSON error document.
func writeError(w http.ResponseWriter, e *fakecore.APIError) {
	fakecore.NoteError(w, strconv.Itoa(e.Status))
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	fakecore.WriteJSON(w, e.Status, map[string]string{
		"message": msg, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(e.Status)})
}

func writeValidation(w http.ResponseWriter, code, message string) {
	fakecore.NoteError(w, "422")
	e := map[string]string{"resource": "IssueComment", "code": code, "field": "body"}
	if message != "" {
		e["message"] = message
	}
	fakecore.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed", "errors": []map[string]string{e},
		"documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment", "status": "422"})
}
