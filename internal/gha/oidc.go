package gha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ErrNoIDTokenPermission says the runner gave the job no OIDC request variables.
var ErrNoIDTokenPermission error = noPermissionError{}

type noPermissionError struct{}

func (noPermissionError) Error() string {
	return "the job has no GitHub OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; " +
		"add `permissions: id-token: write` to the workflow or job (pull requests from forks never get a token: use pull_request_target with care, or stored keys)"
}

// RetryableError tells retryers (the SDK's convention) that another attempt
// cannot help.
func (noPermissionError) RetryableError() bool { return false }

// IDTokenClient fetches GitHub OIDC tokens (JWTs) from the runner.
type IDTokenClient struct {
	RequestURL   string // ACTIONS_ID_TOKEN_REQUEST_URL
	RequestToken string // ACTIONS_ID_TOKEN_REQUEST_TOKEN, a secret
	HTTP         *http.Client
	// Mask registers the JWT before anything else can see it.
	Mask func(string)
}

// HTTPStatusError is a non-200 answer of the token endpoint.
type HTTPStatusError struct {
	StatusCode int
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("GitHub's OIDC token endpoint answered HTTP %d", e.StatusCode)
}

// RetryableError reports whether a later attempt can succeed, in the SDK
// retryers' convention.
func (e *HTTPStatusError) RetryableError() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusRequestTimeout || e.StatusCode >= 500
}

// Fetch returns a fresh token for audience. Each call asks the runner again:
// tokens live five minutes, so retries must not reuse an old one.
func (c *IDTokenClient) Fetch(ctx context.Context, audience string) (string, error) {
	if c.RequestURL == "" || c.RequestToken == "" {
		return "", ErrNoIDTokenPermission
	}
	u, err := url.Parse(c.RequestURL)
	if err != nil {
		return "", fmt.Errorf("parsing ACTIONS_ID_TOKEN_REQUEST_URL: %w", err)
	}
	// The URL already carries a query (api-version); add to it, never concatenate.
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("building the OIDC token request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.RequestToken)
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting a GitHub OIDC token from %s: %w", u.Host, scrubURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("reading the GitHub OIDC token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", &HTTPStatusError{StatusCode: resp.StatusCode}
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", errors.New("GitHub's OIDC token endpoint answered something that is not JSON")
	}
	v.Value = strings.TrimSpace(v.Value)
	if c.Mask != nil && v.Value != "" {
		c.Mask(v.Value)
	}
	if v.Value == "" {
		return "", errors.New("GitHub's OIDC token endpoint answered an empty token")
	}
	return v.Value, nil
}

// scrubURLError drops the request URL from a transport error: it is not secret
// itself, but keeping error text to the cause makes messages shorter.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
