// Package fakeaws is a wire-level fake of AWS STS and of GitHub's OIDC token
// endpoint, for tests, the sandbox and benchmarks.
//
// The fake speaks the real protocols, so the unmodified aws-sdk-go-v2 and the
// real AWS CLI work against it once their endpoint points at [Server.URL]. It
// verifies SigV4 signatures, issues and checks temporary credentials, verifies
// RS256 web identity tokens and records every request, so tests can assert the
// exact parameters that reached "AWS" (or that none did). Other fakes (for
// example CloudFormation) are served on the same URL through [Server.Mount].
package fakeaws

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Default values used when [Options] leaves a field empty.
const (
	DefaultAccountID = "123456789012"
	DefaultRegion    = "us-east-1"
	DefaultIssuer    = "https://token.actions.githubusercontent.com"
)

// Header names the router sets on requests it hands to mounted handlers.
// Client-supplied values are removed first, so a mounted handler can trust them.
const (
	HeaderCallerARN = "X-Fakeaws-Caller-Arn"
	HeaderAccount   = "X-Fakeaws-Account"
)

// maxBody bounds how much of a request body the router buffers.
const maxBody = 64 << 20

// Options configure a [Server]. The zero value is usable.
type Options struct {
	// Addr is the listen address. Only 127.0.0.1 is allowed; the default
	// "127.0.0.1:0" picks a free port.
	Addr string
	// AccountID owns every user and role. Default [DefaultAccountID].
	AccountID string
	// Region is reported in ARNs and discovery documents. Default [DefaultRegion].
	Region string
	// Issuer is the OIDC issuer URL: the iss claim of tokens the fake GitHub
	// endpoint mints and the one provider STS trusts. Default [DefaultIssuer].
	Issuer string
	// OIDCRequestToken is the bearer token the OIDC endpoint expects
	// (ACTIONS_ID_TOKEN_REQUEST_TOKEN). Default: a random value.
	OIDCRequestToken string
	// Claims override or add claims in minted tokens; a nil value deletes one.
	Claims map[string]any
	// SigningKey signs minted tokens. Default: a 2048-bit key generated once
	// per process, so tests stay fast.
	SigningKey *rsa.PrivateKey
	// Seed makes issued identifiers, secrets and the failure rate repeatable.
	Seed uint64
	// Now is the clock for credential and token expiry and for the throttle.
	// Default time.Now.
	Now func() time.Time
	// CredentialPrefix is embedded in every issued secret key and session
	// token, so canary tests can search logs for it. Only ASCII letters and
	// digits are kept (at most 20), so the formats stay valid.
	CredentialPrefix string
	// MaxRequests bounds the request log so long benchmark runs keep a
	// steady memory footprint; the oldest entries go first. [Server.Count]
	// stays exact. Default 100000.
	MaxRequests int
}

// Request is one recorded request.
type Request struct {
	Service string // "sts", "oidc" or a mounted service name
	Action  string // the Action parameter, or the HTTP method for REST calls
	// Form holds the query and form parameters; secret-bearing values
	// (WebIdentityToken and the like) are replaced by "REDACTED".
	Form        url.Values
	Time        time.Time
	AccessKeyID string // from the Authorization header, if any
	CallerARN   string // the verified caller, if the signature checked out
	Status      int    // the HTTP status written; 0 for Hang or Reset faults
}

// Server is a running fake. Create it with [New] or [Start].
type Server struct {
	opts     Options
	url      string
	srv      *http.Server
	ln       net.Listener
	closing  chan struct{}
	closeOne sync.Once
	inflight sync.WaitGroup // Add only under mu while !closed

	mu       sync.Mutex
	closed   bool
	rng      *rand.Rand
	requests []*Request
	counts   map[[2]string]int // by service and action
	mounts   map[string]http.Handler
	users    map[string]*user      // by access key id
	roles    map[string]*roleEntry // by name
	sessions map[string]*session   // by access key id
	faults   map[string][]*Fault
	throttle *bucket
	failRate float64
	jtis     []string
	oidc     *oidcIssuer
}

// New starts a server and panics if it cannot listen, like httptest.NewServer.
// Use [Start] where an error is preferable.
func New(opts Options) *Server {
	s, err := Start(opts)
	if err != nil {
		panic(fmt.Sprintf("fakeaws: %v", err))
	}
	return s
}

// Start starts a server on opts.Addr (127.0.0.1 only).
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("parsing listen address %q: %w", opts.Addr, err)
	}
	// A fake that hands out credentials must never be reachable off-host.
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("listen address %q: only 127.0.0.1 is allowed", opts.Addr)
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Issuer == "" {
		opts.Issuer = DefaultIssuer
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.CredentialPrefix = cleanPrefix(opts.CredentialPrefix)
	if opts.MaxRequests <= 0 {
		opts.MaxRequests = 100000
	}

	s := &Server{
		opts:     opts,
		closing:  make(chan struct{}),
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		counts:   map[[2]string]int{},
		mounts:   map[string]http.Handler{},
		users:    map[string]*user{},
		roles:    map[string]*roleEntry{},
		sessions: map[string]*session{},
		faults:   map[string][]*Fault{},
	}
	if s.oidc, err = newOIDCIssuer(s, opts); err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", opts.Addr, err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return s, nil
}

// URL is the base URL, for AWS_ENDPOINT_URL or the SDK's BaseEndpoint.
func (s *Server) URL() string { return s.url }

// AccountID is the account that owns every user and role.
func (s *Server) AccountID() string { return s.opts.AccountID }

// Close stops the server, releases hanging requests and waits for handlers.
func (s *Server) Close() {
	s.closeOne.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.closing)
		s.srv.Close()
		s.inflight.Wait()
	})
}

// Mount serves service (the SigV4 credential-scope service name, such as
// "cloudformation" or "s3") with h on the same URL. The router verifies the
// signature first and answers failures itself; h sees the verified caller in
// [HeaderCallerARN] and [HeaderAccount] and a readable r.Body.
func (s *Server) Mount(service string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts[service] = h
}

// Requests returns a copy of every recorded request, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
		out[i].Form = cloneValues(r.Form)
	}
	return out
}

// Count is the number of recorded requests for service and action; an empty
// service or action matches any.
func (s *Server) Count(service, action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.counts {
		if (service == "" || k[0] == service) && (action == "" || k[1] == action) {
			n += c
		}
	}
	return n
}

// Reset forgets recorded requests, web identity jtis, queued faults, the
// throttle and the failure rate. Users, roles and sessions stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.counts = map[[2]string]int{}
	s.jtis = nil
	s.faults = map[string][]*Fault{}
	s.throttle = nil
	s.failRate = 0
}

// ServeHTTP routes a request: OIDC paths, then STS or a mounted service by
// the SigV4 credential scope.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	defer s.inflight.Done()

	if s.oidc.serves(r.URL.Path) {
		s.oidc.ServeHTTP(w, r)
		return
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form := requestForm(r, body)
	r.Body = io.NopCloser(bytes.NewReader(body))

	auth, authErr := parseAuthorization(r.Header.Get("Authorization"))
	service := "sts"
	if authErr == nil {
		service = auth.service
	}
	action := form.Get("Action")
	if action == "" && service != "sts" {
		action = r.Method
	}
	rw := &recorder{ResponseWriter: w}
	rec := s.record(Request{
		Service:     service,
		Action:      action,
		Form:        redact(form),
		Time:        s.opts.Now(),
		AccessKeyID: auth.accessKeyID,
	})
	defer func() { s.setStatus(rec, rw.status) }()
	if service == "sts" && action == AssumeRoleWithWebIdentity {
		// Recorded before faults so retries after injected errors show up.
		s.mu.Lock()
		s.jtis = append(s.jtis, unverifiedJTI(form.Get("WebIdentityToken")))
		s.mu.Unlock()
	}

	if s.applyFaults(rw, r, service, action) {
		return
	}

	var caller *principal
	if r.Header.Get("Authorization") != "" {
		p, apiErr := s.verify(r, body)
		if apiErr != nil {
			s.writeError(rw, service, apiErr)
			return
		}
		caller = p
		s.setCaller(rec, p.arn)
	}

	if service == "sts" {
		s.serveSTS(rw, r, form, caller)
		return
	}
	s.mu.Lock()
	h := s.mounts[service]
	s.mu.Unlock()
	if h == nil {
		s.writeError(rw, service, &APIError{Status: http.StatusBadRequest, Code: "UnknownService",
			Message: fmt.Sprintf("no fake is mounted for service %q", service)})
		return
	}
	if caller == nil {
		s.writeError(rw, service, errMissingAuth())
		return
	}
	r.Header.Del(HeaderCallerARN)
	r.Header.Del(HeaderAccount)
	r.Header.Set(HeaderCallerARN, caller.arn)
	r.Header.Set(HeaderAccount, s.opts.AccountID)
	h.ServeHTTP(rw, r)
}

// requestForm merges the query string and a form-encoded body.
func requestForm(r *http.Request, body []byte) url.Values {
	form := cloneValues(r.URL.Query())
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		if v, err := url.ParseQuery(string(body)); err == nil {
			for k, vs := range v {
				form[k] = append(form[k], vs...)
			}
		}
	}
	return form
}

// enter registers a handler unless the server is closing.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inflight.Add(1)
	return true
}

func (s *Server) record(req Request) *Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &req
	s.counts[[2]string{r.Service, r.Action}]++
	if len(s.requests) >= s.opts.MaxRequests {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-s.opts.MaxRequests+1)
	}
	s.requests = append(s.requests, r)
	return r
}

func (s *Server) setStatus(r *Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Status = status
}

func (s *Server) setCaller(r *Request, arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.CallerARN = arn
}

// secretParams are parameters whose values never land in the request log.
var secretParams = []string{"webidentitytoken", "samlassertion", "tokencode", "secretaccesskey", "sessiontoken", "password"}

func redact(form url.Values) url.Values {
	out := cloneValues(form)
	for k, vs := range out {
		if slices.Contains(secretParams, strings.ToLower(k)) || strings.EqualFold(k, "X-Amz-Security-Token") {
			for i := range vs {
				vs[i] = "REDACTED"
			}
		}
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// recorder remembers the status and still lets faults hijack the connection.
type recorder struct {
	http.ResponseWriter
	status int
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Hijack and Flush.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errClosed reports that the server shut down during a fault's wait.
var errClosed = errors.New("server closed")

// wait sleeps d, returning early with an error when the client goes away or
// the server closes. d < 0 waits for one of those only.
func (s *Server) wait(r *http.Request, d time.Duration) error {
	var timer <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
		return nil
	case <-r.Context().Done():
		return r.Context().Err()
	case <-s.closing:
		return errClosed
	}
}

// randString draws n characters from alphabet with the seeded generator.
func (s *Server) randString(alphabet string, n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.randStringLocked(alphabet, n)
}

func (s *Server) randStringLocked(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	base64Set  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	hexSet     = "0123456789abcdef"
)

// requestID returns a UUID-shaped id like the x-amzn-RequestId header.
func (s *Server) requestID() string {
	h := s.randString(hexSet, 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func cleanPrefix(p string) string {
	var b strings.Builder
	for _, c := range p {
		if b.Len() == 20 {
			break
		}
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}
