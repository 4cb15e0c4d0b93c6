package fakeaws

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// Paths of the fake GitHub OIDC endpoint and its discovery documents.
const (
	OIDCTokenPath     = "/_oidc/token"
	OIDCDiscoveryPath = "/.well-known/openid-configuration"
	OIDCJWKSPath      = "/.well-known/jwks"
)

// GitHub's token lifetime: exp = iat + 300, nbf = iat - 600.
const (
	tokenLifetime  = 300 * time.Second
	tokenNotBefore = 600 * time.Second
)

// sharedKey is generated once per process; 2048-bit generation is slow
// enough to matter when every test starts a server.
var sharedKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// oidcIssuer mints and verifies GitHub-shaped ID tokens.
type oidcIssuer struct {
	s      *Server
	key    *rsa.PrivateKey
	kid    string
	x5t    string
	cert   []byte
	bearer string
	claims map[string]any // overrides, guarded by s.mu
}

func newOIDCIssuer(s *Server, opts Options) (*oidcIssuer, error) {
	key := opts.SigningKey
	if key == nil {
		var err error
		if key, err = sharedKey(); err != nil {
			return nil, fmt.Errorf("generating the OIDC signing key: %w", err)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fakeaws OIDC"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating the OIDC certificate: %w", err)
	}
	thumb := sha1.Sum(cert) //nolint:gosec // x5t is SHA-1 by definition
	sum := sha256.Sum256(cert)
	bearer := opts.OIDCRequestToken
	if bearer == "" {
		bearer = s.randString(base64Set[:62], 40)
	}
	claims := map[string]any{}
	for k, v := range opts.Claims {
		claims[k] = v
	}
	return &oidcIssuer{
		s:      s,
		key:    key,
		kid:    strings.ToUpper(hex.EncodeToString(sum[:20])),
		x5t:    b64(thumb[:]),
		cert:   cert,
		bearer: bearer,
		claims: claims,
	}, nil
}

// OIDCRequestURL is the value for ACTIONS_ID_TOKEN_REQUEST_URL; it already
// carries a query string, as GitHub's does.
func (s *Server) OIDCRequestURL() string { return s.url + OIDCTokenPath + "?api-version=2.0" }

// OIDCRequestToken is the value for ACTIONS_ID_TOKEN_REQUEST_TOKEN.
func (s *Server) OIDCRequestToken() string { return s.oidc.bearer }

// Issuer is the iss of minted tokens and the provider STS trusts.
func (s *Server) Issuer() string { return s.opts.Issuer }

// SetClaims merges overrides into the claims of tokens minted from now on; a
// nil value deletes a claim. Setting "environment" without "sub" switches
// sub to GitHub's environment form.
func (s *Server) SetClaims(overrides map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range overrides {
		s.oidc.claims[k] = v
	}
}

// IDToken mints a token for audience as the OIDC endpoint would, without a
// request (and without counting one).
func (s *Server) IDToken(audience string) (string, error) {
	return s.MintToken(map[string]any{"aud": audience})
}

// MintToken mints a signed token from the default claims, the server's
// overrides and then extra (a nil value deletes a claim).
func (s *Server) MintToken(extra map[string]any) (string, error) {
	return s.oidc.mint(extra)
}

func (o *oidcIssuer) serves(path string) bool {
	return path == OIDCTokenPath || path == OIDCDiscoveryPath || path == OIDCJWKSPath
}

func (o *oidcIssuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case OIDCDiscoveryPath:
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                o.s.opts.Issuer,
			"jwks_uri":                              o.s.url + OIDCJWKSPath,
			"subject_types_supported":               []string{"public", "pairwise"},
			"response_types_supported":              []string{"id_token"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"scopes_supported":                      []string{"openid"},
		})
		return
	case OIDCJWKSPath:
		pub := o.key.PublicKey
		writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
			"kty": "RSA", "alg": "RS256", "use": "sig", "kid": o.kid, "x5t": o.x5t,
			"n":   b64(pub.N.Bytes()),
			"e":   b64(big.NewInt(int64(pub.E)).Bytes()),
			"x5c": []string{base64.StdEncoding.EncodeToString(o.cert)},
		}}})
		return
	}

	rw := &fakecore.StatusRecorder{ResponseWriter: w}
	rec := o.s.Record(fakecore.Call{Service: "oidc", Action: ActionOIDCToken, Method: r.Method, Params: r.URL.Query(), Time: o.s.opts.Now()})
	defer func() { rec.Finish(rw.Status, rw.ErrorCode) }()
	if o.s.applyFaults(rw, r, "oidc", ActionOIDCToken) {
		return
	}
	if r.Method != http.MethodGet {
		o.s.writeError(rw, "oidc", &fakecore.APIError{Status: http.StatusMethodNotAllowed, Message: "method not allowed"})
		return
	}
	// GitHub answers 401 for a missing or wrong request token.
	if r.Header.Get("Authorization") != "Bearer "+o.bearer {
		o.s.writeError(rw, "oidc", &fakecore.APIError{Status: http.StatusUnauthorized, Message: "Unauthorized"})
		return
	}
	extra := map[string]any{}
	if aud := r.URL.Query().Get("audience"); aud != "" {
		extra["aud"] = aud
	}
	tok, err := o.mint(extra)
	if err != nil {
		o.s.writeError(rw, "oidc", &fakecore.APIError{Status: http.StatusInternalServerError, Message: err.Error()})
		return
	}
	writeJSON(rw, http.StatusOK, map[string]string{"value": tok})
}

// defaultClaims follows the example in GitHub's OIDC reference.
func (o *oidcIssuer) defaultClaims(now time.Time, jti string) map[string]any {
	return map[string]any{
		"iss":                   o.s.opts.Issuer,
		"aud":                   "https://github.com/octo-org",
		"jti":                   jti,
		"iat":                   now.Unix(),
		"nbf":                   now.Add(-tokenNotBefore).Unix(),
		"exp":                   now.Add(tokenLifetime).Unix(),
		"repository":            "octo-org/octo-repo",
		"repository_id":         "74",
		"repository_owner":      "octo-org",
		"repository_owner_id":   "65",
		"repository_visibility": "private",
		"ref":                   "refs/heads/main",
		"ref_type":              "branch",
		"sha":                   "example-sha-0123456789abcdef0123456789abcd",
		"workflow":              "deploy",
		"workflow_ref":          "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
		"job_workflow_ref":      "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
		"actor":                 "octocat",
		"actor_id":              "12",
		"run_id":                "1234567890",
		"run_number":            "42",
		"run_attempt":           "1",
		"event_name":            "push",
		"head_ref":              "",
		"base_ref":              "",
		"runner_environment":    "github-hosted",
	}
}

func (o *oidcIssuer) mint(extra map[string]any) (string, error) {
	now := o.s.opts.Now()
	o.s.mu.Lock()
	jti := o.s.randStringLocked(hexSet, 32)
	jti = jti[0:8] + "-" + jti[8:12] + "-" + jti[12:16] + "-" + jti[16:20] + "-" + jti[20:]
	claims := o.defaultClaims(now, jti)
	_, subSet := o.claims["sub"]
	for _, over := range []map[string]any{o.claims, extra} {
		for k, v := range over {
			if v == nil {
				delete(claims, k)
			} else {
				claims[k] = v
			}
		}
	}
	o.s.mu.Unlock()
	if _, ok := extra["sub"]; !ok && !subSet {
		claims["sub"] = githubSub(claims)
	}

	header := map[string]any{"typ": "JWT", "alg": "RS256", "kid": o.kid, "x5t": o.x5t}
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("encoding token header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding token claims: %w", err)
	}
	signed := b64(h) + "." + b64(p)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(nil, o.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	return signed + "." + b64(sig), nil
}

// githubSub builds sub the way GitHub does: environment, then
// pull_request, then ref; ':' inside values is encoded as %3A.
func githubSub(c map[string]any) string {
	enc := func(k string) string { return strings.ReplaceAll(claimString(c, k), ":", "%3A") }
	base := "repo:" + enc("repository")
	switch {
	case claimString(c, "environment") != "":
		return base + ":environment:" + enc("environment")
	case claimString(c, "event_name") == "pull_request":
		return base + ":pull_request"
	}
	return base + ":ref:" + enc("ref")
}

// verify checks a web identity token the way STS does, in STS's order:
// provider (iss), signature, lifetime. Audience and sub belong to the role.
func (o *oidcIssuer) verify(token string, now time.Time) (map[string]any, *fakecore.APIError) {
	invalid := func(msg string) *fakecore.APIError {
		return &fakecore.APIError{Status: http.StatusBadRequest, Code: "InvalidIdentityToken", Message: msg}
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, invalid(msgTokenNotValidated)
	}
	var header struct{ Alg, Kid string }
	var claims map[string]any
	if decodeSegment(parts[0], &header) != nil || decodeSegment(parts[1], &claims) != nil {
		return nil, invalid(msgTokenNotValidated)
	}
	if iss := claimString(claims, "iss"); iss != o.s.opts.Issuer {
		return nil, invalid("No OpenIDConnect provider found in your account for " + iss)
	}
	if header.Alg != "RS256" {
		return nil, invalid(msgTokenNotValidated)
	}
	if header.Kid != o.kid {
		return nil, invalid(fakecore.MsgNoVerificationKey)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, invalid(msgTokenNotValidated)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&o.key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return nil, invalid(msgTokenNotValidated)
	}
	exp, nbf := claimInt(claims, "exp"), claimInt(claims, "nbf")
	if now.Unix() >= exp {
		return nil, &fakecore.APIError{Status: http.StatusBadRequest, Code: "ExpiredTokenException",
			Message: fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), exp)}
	}
	if nbf != 0 && now.Unix() < nbf {
		return nil, &fakecore.APIError{Status: http.StatusBadRequest, Code: "ExpiredTokenException",
			Message: fmt.Sprintf("Token not yet valid: current date/time %d must be after the not-before date/time %d", now.Unix(), nbf)}
	}
	return claims, nil
}

// unverifiedJTI reads the jti of a token without checking it, for the log of
// attempts.
func unverifiedJTI(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	var c map[string]any
	if decodeSegment(parts[1], &c) != nil {
		return ""
	}
	return claimString(c, "jti")
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func claimString(c map[string]any, k string) string {
	s, _ := c[k].(string)
	return s
}

func claimInt(c map[string]any, k string) int64 {
	switch v := c[k].(type) {
	case float64:
		return int64(v)
	case int64:
		return v
	case int:
		return int64(v)
	}
	return 0
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // client gone
}
