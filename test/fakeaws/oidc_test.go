package fakeaws

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

func decodeJWT(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		t.Fatal(err)
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		t.Fatal(err)
	}
	return header, claims
}

func TestOIDCTokenEndpoint(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, func(o *Options) { o.Now = clk.Now })

	tok := fetchToken(t, s, oidcAudience)
	header, claims := decodeJWT(t, tok)
	if header["alg"] != "RS256" || header["kid"] == "" || header["x5t"] == "" || header["typ"] != "JWT" {
		t.Errorf("header = %v", header)
	}
	iat := float64(clk.Now().Unix())
	for k, want := range map[string]any{
		"iss": DefaultIssuer, "aud": oidcAudience, "sub": mainSub, "iat": iat, "nbf": iat - 600, "exp": iat + 300,
		"repository": "octo-org/octo-repo", "ref": "refs/heads/main", "ref_type": "branch", "event_name": "push",
		"runner_environment": "github-hosted", "run_attempt": "1",
	} {
		if diff := cmp.Diff(want, claims[k]); diff != "" {
			t.Errorf("claim %s (-want +got):\n%s", k, diff)
		}
	}
	for _, k := range []string{"jti", "sha", "workflow", "job_workflow_ref", "actor", "run_id", "repository_owner"} {
		if claims[k] == nil || claims[k] == "" {
			t.Errorf("claim %s missing", k)
		}
	}

	// The JWKS verifies the token, as AWS would fetch and use it.
	resp, err := http.Get(s.URL() + OIDCJWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, N, E, X5t string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("jwks: %v %+v", err, jwks)
	}
	k := jwks.Keys[0]
	n, _ := base64.RawURLEncoding.DecodeString(k.N)
	e, _ := base64.RawURLEncoding.DecodeString(k.E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil || k.Kid != header["kid"] || k.X5t != header["x5t"] {
		t.Errorf("token does not verify against the JWKS: %v", err)
	}

	// No audience: GitHub's default is the owner URL.
	_, claims = decodeJWT(t, fetchToken(t, s, ""))
	if claims["aud"] != "https://github.com/octo-org" {
		t.Errorf("default aud = %v", claims["aud"])
	}

	for name, authz := range map[string]string{"missing": "", "wrong": "Bearer nope", "not_bearer": s.OIDCRequestToken()} {
		if status, _ := getOIDC(t, s, oidcAudience, authz); status != http.StatusUnauthorized {
			t.Errorf("%s bearer: status %d, want 401", name, status)
		}
	}
	if n := s.Count("oidc", ActionOIDCToken); n != 5 {
		t.Errorf("Count(oidc) = %d, want 5", n)
	}
	if got := s.Calls()[0].Param("audience"); got != oidcAudience {
		t.Errorf("recorded audience = %q", got)
	}
}

func TestOIDCClaimsOverrides(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Claims = map[string]any{"environment": "prod"} })
	_, c := decodeJWT(t, fetchToken(t, s, oidcAudience))
	if c["sub"] != "repo:octo-org/octo-repo:environment:prod" {
		t.Errorf("environment sub = %v", c["sub"])
	}
	s.SetClaims(map[string]any{"environment": nil, "event_name": "pull_request"})
	_, c = decodeJWT(t, fetchToken(t, s, oidcAudience))
	if c["sub"] != "repo:octo-org/octo-repo:pull_request" || c["environment"] != nil {
		t.Errorf("pull_request sub = %v, environment = %v", c["sub"], c["environment"])
	}
	s.SetClaims(map[string]any{"sub": "custom:job_workflow_ref:x"})
	_, c = decodeJWT(t, fetchToken(t, s, oidcAudience))
	if c["sub"] != "custom:job_workflow_ref:x" {
		t.Errorf("explicit sub = %v", c["sub"])
	}
}

func TestOIDCFaults(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.InjectFault(ActionOIDCToken, fakecore.Fault{Status: 500})
	s.InjectFault(ActionOIDCToken, fakecore.Fault{Status: 401})
	s.InjectFault(ActionOIDCToken, fakecore.Fault{Body: `{"value":""}`})
	s.InjectFault(ActionOIDCToken, fakecore.Fault{Delay: 50 * time.Millisecond})
	bearer := "Bearer " + s.OIDCRequestToken()
	for i, want := range []int{500, 401} {
		if status, _ := getOIDC(t, s, oidcAudience, bearer); status != want {
			t.Errorf("call %d: status %d, want %d", i, status, want)
		}
	}
	if status, body := getOIDC(t, s, oidcAudience, bearer); status != 200 || body != `{"value":""}` {
		t.Errorf("empty value fault: %d %s", status, body)
	}
	start := time.Now()
	if tok := fetchToken(t, s, oidcAudience); tok == "" || time.Since(start) < 50*time.Millisecond {
		t.Errorf("delayed call: token %q after %v", tok, time.Since(start))
	}
}

// webIdentity calls AssumeRoleWithWebIdentity with the unmodified SDK.
func webIdentity(t *testing.T, s *Server, role, token string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	t.Helper()
	return anonClient(t, s).AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(s.RoleARN(role)),
		RoleSessionName:  aws.String("gha-1234567890-1"),
		WebIdentityToken: aws.String(token),
		DurationSeconds:  aws.Int32(900),
	})
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, func(o *Options) { o.Now = clk.Now })
	tok := fetchToken(t, s, oidcAudience)
	_, claims := decodeJWT(t, tok)

	out, err := webIdentity(t, s, "oidc-deploy", tok)
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	wantARN := "arn:aws:sts::123456789012:assumed-role/oidc-deploy/gha-1234567890-1"
	if *out.AssumedRoleUser.Arn != wantARN || *out.SubjectFromWebIdentityToken != mainSub || *out.Audience != oidcAudience {
		t.Errorf("result: %s %s %s", *out.AssumedRoleUser.Arn, *out.SubjectFromWebIdentityToken, *out.Audience)
	}
	if want := clk.Now().Add(900 * time.Second); !out.Credentials.Expiration.Equal(want) {
		t.Errorf("Expiration = %v, want %v", out.Credentials.Expiration, want)
	}
	c := out.Credentials
	who, err := stsClient(t, s, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != wantARN {
		t.Fatalf("GetCallerIdentity: %v %v", err, who)
	}

	if diff := cmp.Diff([]string{claims["jti"].(string)}, s.WebIdentityJTIs()); diff != "" {
		t.Errorf("jtis (-want +got):\n%s", diff)
	}
	for _, r := range s.Calls() {
		if r.Action == AssumeRoleWithWebIdentity && r.Param("WebIdentityToken") != "REDACTED" {
			t.Errorf("token not redacted in the request log")
		}
	}
}

func TestAssumeRoleWithWebIdentityErrors(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, func(o *Options) { o.Now = clk.Now })
	s.AddRole(Role{Name: "no-oidc"})
	mint := func(extra map[string]any) string {
		tok, err := s.MintToken(extra)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := mint(map[string]any{"aud": oidcAudience})
	parts := strings.Split(good, ".")
	otherKid := b64([]byte(`{"alg":"RS256","kid":"OTHER","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]
	noneAlg := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]
	// Flip the payload to another sub while keeping the old signature.
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = "repo:octo-org/octo-repo:ref:refs/heads/evil"
	forged, _ := json.Marshal(claims)
	tampered := parts[0] + "." + b64(forged) + "." + parts[2]
	now := clk.Now().Unix()

	cases := []struct {
		name, role, token string
		wantStatus        int
		wantCode, wantMsg string
	}{
		{name: "unknown_issuer", token: mint(map[string]any{"aud": oidcAudience, "iss": "https://token.actions.example.com"}), wantStatus: 400,
			wantCode: "InvalidIdentityToken", wantMsg: "No OpenIDConnect provider found in your account for https://token.actions.example.com"},
		{name: "wrong_audience", token: mint(map[string]any{"aud": "https://github.com/octo-org"}), wantStatus: 400,
			wantCode: "InvalidIdentityToken", wantMsg: "Incorrect token audience"},
		{name: "expired", token: mint(map[string]any{"aud": oidcAudience, "exp": now - 1}), wantStatus: 400, wantCode: "ExpiredTokenException",
			wantMsg: fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now, now-1)},
		{name: "not_yet_valid", token: mint(map[string]any{"aud": oidcAudience, "nbf": now + 60}), wantStatus: 400, wantCode: "ExpiredTokenException",
			wantMsg: fmt.Sprintf("Token not yet valid: current date/time %d must be after the not-before date/time %d", now, now+60)},
		{name: "sub_not_trusted", token: mint(map[string]any{"aud": oidcAudience, "ref": "refs/heads/feature"}), wantStatus: 403,
			wantCode: "AccessDenied", wantMsg: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{name: "pull_request_sub", token: mint(map[string]any{"aud": oidcAudience, "event_name": "pull_request"}), wantStatus: 403,
			wantCode: "AccessDenied", wantMsg: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{name: "role_without_oidc_trust", role: "no-oidc", token: good, wantStatus: 403,
			wantCode: "AccessDenied", wantMsg: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{name: "unknown_role", role: "nope", token: good, wantStatus: 403,
			wantCode: "AccessDenied", wantMsg: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{name: "unknown_kid", token: otherKid, wantStatus: 400, wantCode: "InvalidIdentityToken", wantMsg: fakecore.MsgNoVerificationKey},
		{name: "alg_none", token: noneAlg, wantStatus: 400, wantCode: "InvalidIdentityToken", wantMsg: msgTokenNotValidated},
		{name: "tampered_payload", token: tampered, wantStatus: 400, wantCode: "InvalidIdentityToken", wantMsg: msgTokenNotValidated},
		{name: "not_a_jwt", token: "abcd.efgh", wantStatus: 400, wantCode: "InvalidIdentityToken", wantMsg: msgTokenNotValidated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			role := tc.role
			if role == "" {
				role = "oidc-deploy"
			}
			_, err := webIdentity(t, s, role, tc.token)
			status, code, msg := apiError(t, err)
			if diff := cmp.Diff([]any{tc.wantStatus, tc.wantCode, tc.wantMsg}, []any{status, code, msg}); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWebIdentityRejectsTags sends what the SDK cannot: Tags on
// AssumeRoleWithWebIdentity.
func TestWebIdentityRejectsTags(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tok, err := s.IDToken(oidcAudience)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{
		"Action": {AssumeRoleWithWebIdentity}, "Version": {"2011-06-15"}, "RoleArn": {s.RoleARN("oidc-deploy")},
		"RoleSessionName": {"gha-1"}, "WebIdentityToken": {tok}, "Tags.member.1.Key": {"a"}, "Tags.member.1.Value": {"b"},
	}
	resp, err := http.PostForm(s.URL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Error struct{ Code, Message string }
	}
	if err := decodeXML(resp, &doc); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || doc.Error.Code != "ValidationError" || !strings.Contains(doc.Error.Message, "Tags.member.1.") {
		t.Errorf("got %d %+v", resp.StatusCode, doc.Error)
	}
	if s.Count("sts", AssumeRoleWithWebIdentity) != 1 {
		t.Errorf("call not recorded")
	}
}
