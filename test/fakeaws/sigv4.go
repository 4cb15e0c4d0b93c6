package fakeaws

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

const sigV4Algorithm = "AWS4-HMAC-SHA256"

// authHeader is a parsed SigV4 Authorization header.
type authHeader struct {
	accessKeyID   string
	date          string // yyyymmdd from the credential scope
	region        string
	service       string
	signedHeaders []string
	signature     string
}

// parseAuthorization parses
// "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (authHeader, error) {
	var a authHeader
	if h == "" {
		return a, errors.New("missing authorization header")
	}
	alg, rest, ok := strings.Cut(h, " ")
	if !ok || alg != sigV4Algorithm {
		return a, fmt.Errorf("unsupported authorization algorithm %q", alg)
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return a, fmt.Errorf("malformed credential %q", v)
			}
			a.accessKeyID, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKeyID == "" || len(a.signedHeaders) == 0 || a.signature == "" {
		return a, errors.New("authorization header lacks Credential, SignedHeaders or Signature")
	}
	return a, nil
}

// principal is a verified caller.
type principal struct {
	arn         string
	userID      string
	accessKeyID string
	user        *user    // set for IAM users
	session     *session // set for assumed-role sessions
}

// Verify checks the SigV4 signature of r (whose body is body) and returns the
// caller's ARN and account. The error is an *[APIError] carrying the code AWS
// would answer with.
func (s *Server) Verify(r *http.Request, body []byte) (callerARN, account string, err error) {
	p, apiErr := s.verify(r, body)
	if apiErr != nil {
		return "", "", apiErr
	}
	return p.arn, s.opts.AccountID, nil
}

func (s *Server) verify(r *http.Request, body []byte) (*principal, *fakecore.APIError) {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil, &fakecore.APIError{Status: http.StatusBadRequest, Code: "IncompleteSignature", Message: err.Error()}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" || !strings.HasPrefix(amzDate, a.date) {
		return nil, &fakecore.APIError{Status: http.StatusBadRequest, Code: "IncompleteSignature",
			Message: "X-Amz-Date is missing or does not match the credential scope date"}
	}

	secret, wantToken, p, apiErr := s.lookupKey(a.accessKeyID)
	if apiErr != nil {
		return nil, apiErr
	}
	// The token is checked before the signature, as STS does: a session key
	// without its token is "invalid", not "mismatched".
	if got := r.Header.Get("X-Amz-Security-Token"); got != wantToken {
		return nil, errInvalidClientToken()
	}

	canonical := canonicalRequest(r, a, body)
	scope := strings.Join([]string{a.date, a.region, a.service, "aws4_request"}, "/")
	stringToSign := strings.Join([]string{sigV4Algorithm, amzDate, scope, hashHex([]byte(canonical))}, "\n")
	key := hmacSHA256([]byte("AWS4"+secret), a.date)
	key = hmacSHA256(key, a.region)
	key = hmacSHA256(key, a.service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return nil, &fakecore.APIError{Status: http.StatusForbidden, Code: "SignatureDoesNotMatch",
			Message: "The request signature we calculated does not match the signature you provided. " +
				"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}

	if p.session != nil && !s.opts.Now().Before(p.session.expiration) {
		return nil, &fakecore.APIError{Status: http.StatusForbidden, Code: "ExpiredToken",
			Message: "The security token included in the request is expired"}
	}
	return p, nil
}

// lookupKey finds the secret, the expected session token and the principal
// for an access key id.
func (s *Server) lookupKey(akid string) (secret, token string, p *principal, apiErr *fakecore.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[akid]; ok {
		return u.secret, "", &principal{arn: s.userARN(u.name), userID: u.id, accessKeyID: akid, user: u}, nil
	}
	if ss, ok := s.sessions[akid]; ok {
		return ss.secret, ss.token, &principal{arn: ss.arn, userID: ss.roleID + ":" + ss.sessionName,
			accessKeyID: akid, session: ss}, nil
	}
	return "", "", nil, errInvalidClientToken()
}

// Credentials returns the secret and session token for an access key id the
// server knows (a seeded user or an issued session).
func (s *Server) Credentials(accessKeyID string) (secret, token string, ok bool) {
	secret, token, _, apiErr := s.lookupKey(accessKeyID)
	return secret, token, apiErr == nil
}

// canonicalRequest rebuilds the SigV4 canonical request from the headers the
// client said it signed.
func canonicalRequest(r *http.Request, a authHeader, body []byte) string {
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	// Every service but S3 signs the already-escaped path escaped once more.
	if a.service != "s3" {
		path = escapePath(path)
	}

	var hdrs strings.Builder
	for _, name := range a.signedHeaders {
		hdrs.WriteString(name)
		hdrs.WriteByte(':')
		hdrs.WriteString(canonicalHeaderValue(r, name))
		hdrs.WriteByte('\n')
	}

	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = hashHex(body)
	}
	return strings.Join([]string{
		r.Method,
		path,
		canonicalQuery(r.URL.RawQuery),
		hdrs.String(),
		strings.Join(a.signedHeaders, ";"),
		payload,
	}, "\n")
}

func canonicalHeaderValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		// net/http moves Host out of the header map.
		values = []string{r.Host}
	case "content-length":
		values = r.Header.Values("Content-Length")
		if len(values) == 0 && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		values = r.TransferEncoding
	default:
		values = r.Header.Values(name)
	}
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}

func canonicalQuery(raw string) string {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return raw
	}
	var params [][2]string
	for k, vs := range q {
		for _, v := range vs {
			params = append(params, [2]string{sigV4Escape(k), sigV4Escape(v)})
		}
	}
	// SigV4 sorts by encoded name, then by encoded value.
	sort.Slice(params, func(i, j int) bool {
		if params[i][0] != params[j][0] {
			return params[i][0] < params[j][0]
		}
		return params[i][1] < params[j][1]
	})
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = p[0] + "=" + p[1]
	}
	return strings.Join(out, "&")
}

// sigV4Escape percent-encodes everything outside RFC 3986's unreserved set.
func sigV4Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// escapePath is sigV4Escape that keeps '/'.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		parts[i] = sigV4Escape(part)
	}
	return strings.Join(parts, "/")
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
