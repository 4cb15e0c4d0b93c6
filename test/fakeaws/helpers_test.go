package fakeaws

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

const (
	testUserKey    = "AKIAFAKECIUSER000001"
	testUserSecret = "ciSecretKey0000000000000000000000000000A"
	oidcAudience   = "sts.amazonaws.com"
	mainSub        = "repo:octo-org/octo-repo:ref:refs/heads/main"
)

// newClock is a settable clock for expiry and throttle tests.
func newClock() *fakecore.Clock { return fakecore.NewClock(time.Now().UTC().Truncate(time.Second)) }

// defaultMessage is AWS's message for code.
func defaultMessage(code string) string {
	d, _ := fakecore.DefaultError(code)
	return d.Message
}

// newServer starts a seeded server: user "ci", role "deploy" (trusts ci,
// allows tags, 2 h), role "oidc-deploy" (OIDC only, main branch).
func newServer(t *testing.T, optFns ...func(*Options)) *Server {
	t.Helper()
	s := New(optFns...)
	t.Cleanup(s.Close)
	s.AddUser("ci", testUserKey, testUserSecret)
	s.AddRole(Role{Name: "deploy", MaxSessionDuration: 2 * time.Hour, TrustedUsers: []string{"ci"}, AllowTagSession: true})
	s.AddRole(Role{Name: "oidc-deploy", NoUserTrust: true, Audience: oidcAudience, SubPatterns: []string{mainSub}})
	return s
}

// stsClient is an unmodified SDK client pointed at s, without retries.
func stsClient(t *testing.T, s *Server, akid, secret, token string) *sts.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(s.URL()),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(akid, secret, token)),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		t.Fatalf("loading SDK config: %v", err)
	}
	return sts.NewFromConfig(cfg)
}

func userClient(t *testing.T, s *Server) *sts.Client {
	return stsClient(t, s, testUserKey, testUserSecret, "")
}

// anonClient sends unsigned requests, as the SDK does for web identity.
func anonClient(t *testing.T, s *Server) *sts.Client {
	t.Helper()
	return sts.New(sts.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL()),
		RetryMaxAttempts: 1,
	})
}

// apiError returns the status, code and message of an SDK error.
func apiError(t *testing.T, err error) (status int, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want an API error")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return status, ae.ErrorCode(), ae.ErrorMessage()
}

// fetchToken gets a JWT from the fake GitHub endpoint the way the action does.
func fetchToken(t *testing.T, s *Server, audience string) string {
	t.Helper()
	status, body := getOIDC(t, s, audience, "Bearer "+s.OIDCRequestToken())
	if status != http.StatusOK {
		t.Fatalf("token endpoint answered %d: %s", status, body)
	}
	var v struct{ Value string }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decoding token response: %v", err)
	}
	return v.Value
}

func getOIDC(t *testing.T, s *Server, audience, authorization string) (int, string) {
	t.Helper()
	u, err := url.Parse(s.OIDCRequestURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if audience != "" {
		q.Set("audience", audience)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("requesting a token: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func decodeXML(resp *http.Response, v any) error {
	return xml.NewDecoder(resp.Body).Decode(v)
}
