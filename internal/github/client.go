// Package github is the action's small typed client for the GitHub REST API:
// the issue comments of a pull request (list, create, update), and one sticky
// comment kept up to date through a hidden marker. It goes through the API
// root the runner names (GITHUB_API_URL, so GitHub Enterprise Server works),
// retries server errors and rate limits with bounded backoff, and never puts
// the token in an error.
//
// It is written for the three calls the action makes rather than taken from
// a general client: none is in the registry lists this project draws from,
// and the retries, the rate-limit rules and the sticky-comment search would
// have to be written around one anyway.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// DefaultBaseURL is github.com's REST API root.
const DefaultBaseURL = "https://api.github.com"

// Options are the Client's replaceable parts; New fills every zero field.
type Options struct {
	// BaseURL is the REST API root (GITHUB_API_URL): DefaultBaseURL, or
	// https://HOST/api/v3 on GitHub Enterprise Server.
	BaseURL string
	// Token authenticates every request. It is a secret: the caller masks
	// it before anything prints.
	Token string
	// UserAgent names the action; GitHub refuses requests without one.
	UserAgent string
	// HTTP sends the requests; default: 30 s per request, proxy from the
	// environment.
	HTTP *http.Client
	// Sleep waits for d or until ctx ends; Rand returns a number in [0, 1)
	// for backoff jitter.
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func() float64
	// Now reads the clock for rate-limit reset times.
	Now func() time.Time
	// MaxAttempts bounds the attempts of one call (default 5).
	MaxAttempts int
	// MaxWait bounds the time one call (an Upsert counts as one) spends
	// waiting between attempts (default 2 minutes): a rate limit that asks
	// for longer fails the call instead of holding the job.
	MaxWait time.Duration
	// MaxPages bounds the comment pages read, 100 comments a page
	// (default 30).
	MaxPages int
}

// Client calls the GitHub REST API. Build it with New.
type Client struct{ o Options }

// New returns a Client; every zero option takes its default.
func New(optFns ...func(*Options)) *Client {
	o := Options{}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.UserAgent == "" {
		o.UserAgent = "aws-assume-deploy"
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Sleep == nil {
		o.Sleep = fault.Sleep
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 2 * time.Minute
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 30
	}
	return &Client{o: o}
}

// PullRequest names one pull request.
type PullRequest struct {
	// Owner and Repo are the repository (GITHUB_REPOSITORY is Owner/Repo).
	Owner, Repo string
	Number      int
}

func (pr PullRequest) String() string { return fmt.Sprintf("%s/%s#%d", pr.Owner, pr.Repo, pr.Number) }

// Comment is an issue comment; on a pull request, the conversation's.
type Comment struct {
	ID      int64  `json:"id"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	User    User   `json:"user"`
}

// User is a comment's author.
type User struct {
	Login string `json:"login"`
	// Type is "User", "Bot" (GitHub Apps, the job's GITHUB_TOKEN) or
	// "Organization".
	Type string `json:"type"`
}

// perPage is the most comments GitHub returns in one page.
const perPage = 100

// maxResponse bounds one response body: 100 comments of at most 65,536
// characters of up to 4 bytes each.
const maxResponse = perPage * MaxCommentBody * 4

// ListComments returns the pull request's conversation comments, oldest
// first, reading at most MaxPages pages.
func (c *Client) ListComments(ctx context.Context, pr PullRequest) ([]Comment, error) {
	b := c.newBudget()
	var all []Comment
	for page := 1; page <= c.o.MaxPages; page++ {
		var batch []Comment
		path := commentsPath(pr)
		q := url.Values{"per_page": {strconv.Itoa(perPage)}, "page": {strconv.Itoa(page)}}
		if err := c.call(ctx, b, http.MethodGet, path, q, nil, &batch); err != nil {
			return nil, err
		}
		all = append(all, batch...)
		if len(batch) < perPage {
			return all, nil
		}
	}
	return all, nil
}

// CreateComment adds a comment to the pull request. It makes one attempt:
// a retried POST could post twice; UpsertComment retries by looking again.
func (c *Client) CreateComment(ctx context.Context, pr PullRequest, body string) (Comment, error) {
	var out Comment
	_, err := c.once(ctx, http.MethodPost, commentsPath(pr), nil, map[string]string{"body": body}, &out)
	return out, err
}

// commentsPath is the pull request's comments collection.
func commentsPath(pr PullRequest) string {
	return fmt.Sprintf("repos/%s/%s/issues/%d/comments", url.PathEscape(pr.Owner), url.PathEscape(pr.Repo), pr.Number)
}

// UpdateComment replaces the body of comment id in the pull request's
// repository.
func (c *Client) UpdateComment(ctx context.Context, pr PullRequest, id int64, body string) (Comment, error) {
	var out Comment
	path := fmt.Sprintf("repos/%s/%s/issues/comments/%d", url.PathEscape(pr.Owner), url.PathEscape(pr.Repo), id)
	err := c.call(ctx, c.newBudget(), http.MethodPatch, path, nil, map[string]string{"body": body}, &out)
	return out, err
}

// Login returns the login of the token's user. Installation tokens (the
// job's GITHUB_TOKEN) have no user: GitHub answers 403.
func (c *Client) Login(ctx context.Context) (string, error) {
	var u User
	err := c.call(ctx, c.newBudget(), http.MethodGet, "user", nil, nil, &u)
	return u.Login, err
}

// APIError is an answer of GitHub's other than success.
type APIError struct {
	// Method and Path name the call, without the API root or query.
	Method, Path string
	Status       int
	// Message is GitHub's message: untrusted text.
	Message string
	// RetryAfter is how long GitHub asked to wait (rate limits); zero when
	// it did not say.
	RetryAfter time.Duration
	// RateLimited is true for the primary and the secondary rate limits.
	RateLimited bool
}

func (e *APIError) Error() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// Forbidden reports an answer that means the token may not do this: 403
// without a rate limit (a read-only token, as pull requests from forks get),
// or 404, which GitHub also gives tokens that may not see the repository.
func Forbidden(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && !ae.RateLimited && (ae.Status == http.StatusForbidden || ae.Status == http.StatusNotFound)
}

// budget is the waiting one call may still do.
type budget struct {
	waited  time.Duration
	retries int
}

func (c *Client) newBudget() *budget { return &budget{} }

// call makes an idempotent request, retrying what can succeed later.
func (c *Client) call(ctx context.Context, b *budget, method, path string, q url.Values, in, out any) error {
	for {
		retry, err := c.once(ctx, method, path, q, in, out)
		if err == nil {
			return nil
		}
		if werr := c.wait(ctx, b, retry, err); werr != nil {
			return werr
		}
	}
}

// wait sleeps before the next attempt after err, or returns the error to
// give up with. retry is the wait GitHub asked for, or -1 when err cannot
// succeed on another attempt.
func (c *Client) wait(ctx context.Context, b *budget, retry time.Duration, err error) error {
	if retry < 0 {
		return err
	}
	b.retries++
	if b.retries >= c.o.MaxAttempts {
		return fmt.Errorf("%w (gave up after %d attempts)", err, b.retries)
	}
	d := retry
	if d == 0 {
		// Full jitter over 1 s, 2 s, 4 s, ... capped at 30 s.
		d = time.Duration(float64(min(time.Second*time.Duration(math.Pow(2, float64(b.retries-1))), 30*time.Second)) * (0.5 + c.o.Rand()/2))
	}
	if b.waited+d > c.o.MaxWait {
		return fmt.Errorf("%w (GitHub asks to wait %s more; that is past the %s this step waits for GitHub)", err, d.Round(time.Second), c.o.MaxWait)
	}
	b.waited += d
	if serr := c.o.Sleep(ctx, d); serr != nil {
		return fmt.Errorf("%w (stopped waiting to retry: %w)", err, serr)
	}
	return nil
}

// once makes one request. On failure it also returns how long to wait
// before another attempt could succeed: 0 for the usual backoff, -1 never.
func (c *Client) once(ctx context.Context, method, path string, q url.Values, in, out any) (time.Duration, error) {
	u, err := url.JoinPath(c.o.BaseURL, path)
	if err != nil {
		return -1, fmt.Errorf("building the GitHub API URL from %s: %w", c.o.BaseURL, err)
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return -1, err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		// The URL is not shown: the error is about its form, and the API
		// root is the runner's.
		return -1, fmt.Errorf("building the request %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", c.o.UserAgent)
	req.Header.Set("Authorization", "Bearer "+c.o.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.o.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return -1, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		// *url.Error holds the URL, never the headers.
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return 0, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if len(data) > maxResponse {
		return -1, fmt.Errorf("%s %s: the answer is over %d bytes", method, path, maxResponse)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(data) == 0 {
			return 0, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return -1, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
		}
		return 0, nil
	}
	ae := &APIError{Method: method, Path: "/" + path, Status: resp.StatusCode}
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &msg) == nil {
		ae.Message = msg.Message
	}
	return classify(ae, resp.Header, c.o.Now()), ae
}

// classify fills the rate-limit fields of ae and returns how long to wait
// before retrying: GitHub's rules for the REST API are that a 403 or 429
// with retry-after, with x-ratelimit-remaining 0, or saying "secondary rate
// limit" is a rate limit (wait as told, else until x-ratelimit-reset, else
// at least a minute), and 5xx are worth another try.
func classify(ae *APIError, h http.Header, now time.Time) time.Duration {
	switch {
	case ae.Status == http.StatusForbidden || ae.Status == http.StatusTooManyRequests:
		if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 {
			ae.RateLimited, ae.RetryAfter = true, time.Duration(max(s, 1))*time.Second
		} else if h.Get("X-RateLimit-Remaining") == "0" {
			ae.RateLimited = true
			if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				ae.RetryAfter = max(time.Unix(reset, 0).Sub(now), 0) + time.Second
			} else {
				ae.RetryAfter = time.Minute
			}
		} else if strings.Contains(strings.ToLower(ae.Message), "rate limit") {
			ae.RateLimited, ae.RetryAfter = true, time.Minute
		}
		if ae.RateLimited {
			return ae.RetryAfter
		}
		return -1
	case ae.Status == http.StatusInternalServerError, ae.Status == http.StatusBadGateway,
		ae.Status == http.StatusServiceUnavailable, ae.Status == http.StatusGatewayTimeout:
		return 0
	}
	return -1
}
