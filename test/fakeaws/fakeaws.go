// Package fakeaws is a wire-level fake of AWS STS and of GitHub's OIDC token
// endpoint, for tests, the sandbox and benchmarks.
//
// The fake speaks the real protocols, so the unmodified aws-sdk-go-v2 and the
// real AWS CLI work against it once their endpoint points at [Server.URL]. It
// verifies SigV4 signatures, issues and checks temporary credentials, verifies
// RS256 web identity tokens and records every request, so tests can assert the
// exact parameters that reached "AWS" (or that none did). Other fakes (for
// example CloudFormation) are served on the same URL through [Server.Mount].
//
// Faults, the call log and the other parts every fake shares live in
// [fakecore].
package fakeaws

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// Default values used when [Options] leaves a field empty.
const (
	DefaultAccountID = fakecore.DefaultAccountID
	DefaultRegion    = fakecore.DefaultRegion
	DefaultIssuer    = "https://token.actions.githubusercontent.com"
)

var _ http.Handler = (*Server)(nil)

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
	// MaxCalls bounds the call log so long benchmark runs keep a steady
	// memory footprint; the oldest entries go first. [fakecore.CallLog.Count]
	// stays exact. Default [fakecore.DefaultMaxCalls].
	MaxCalls int
	// Quirks are deliberate misbehaviours of STS's answers (see [Quirks]);
	// [Server.SetQuirks] changes them later and [Server.Reset] restores these.
	Quirks Quirks
}

// Server is a running fake. Create it with [New] or [Start]. Its embedded
// [fakecore.CallLog] records every request: Calls, CallsTo and Count take a
// service ("sts", "oidc" or a mounted service) and an action (the Action
// parameter, or the HTTP method for REST calls).
type Server struct {
	*fakecore.CallLog

	opts     Options
	url      string
	srv      *http.Server
	ln       net.Listener
	closing  chan struct{}
	closeOne sync.Once
	inflight sync.WaitGroup // Add only under mu while !closed
	faults   fakecore.Faults

	mu       sync.Mutex
	closed   bool
	rng      *rand.Rand
	mounts   map[string]http.Handler
	users    map[string]*user      // by access key id
	roles    map[string]*roleEntry // by name
	sessions map[string]*session   // by access key id
	throttle *fakecore.TokenBucket
	failRate float64
	jtis     []string
	oidc     *oidcIssuer
	quirks   Quirks
}

// New starts a server and panics if it cannot listen, like httptest.NewServer.
// Use [Start] where an error is preferable.
func New(optFns ...func(*Options)) *Server {
	s, err := Start(optFns...)
	if err != nil {
		panic(fmt.Sprintf("fakeaws: %v", err))
	}
	return s
}

// Start starts a server on Options.Addr (127.0.0.1 only).
func Start(optFns ...func(*Options)) (*Server, error) {
	var opts Options
	for _, fn := range optFns {
		fn(&opts)
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

	s := &Server{
		CallLog:  fakecore.NewCallLog(opts.MaxCalls),
		opts:     opts,
		closing:  make(chan struct{}),
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		mounts:   map[string]http.Handler{},
		users:    map[string]*user{},
		roles:    map[string]*roleEntry{},
		sessions: map[string]*session{},
		quirks:   opts.Quirks.clone(),
	}
	var err error
	if s.oidc, err = newOIDCIssuer(s, opts); err != nil {
		return nil, err
	}

	ln, err := fakecore.Listen(opts.Addr)
	if err != nil {
		return nil, err
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
// [fakecore.HeaderCallerARN] and [fakecore.HeaderAccount] and a readable r.Body.
func (s *Server) Mount(service string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts[service] = h
}

// Reset forgets recorded calls, web identity jtis, queued faults, the
// throttle, the failure rate and the response quirks. Users, roles and
// sessions stay.
func (s *Server) Reset() {
	s.ResetCalls()
	s.faults.Clear()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jtis = nil
	s.throttle = nil
	s.failRate = 0
	s.quirks = s.opts.Quirks.clone()
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
	rw := &fakecore.StatusRecorder{ResponseWriter: w}
	rec := s.Record(fakecore.Call{
		Service:     service,
		Action:      action,
		Method:      r.Method,
		Params:      form,
		Time:        s.opts.Now(),
		AccessKeyID: auth.accessKeyID,
	})
	defer func() { rec.Finish(rw.Status, rw.ErrorCode) }()
	if service == "sts" && action == AssumeRoleWithWebIdentity {
		// Recorded before faults so retries after injected errors show up.
		s.mu.Lock()
		s.jtis = append(s.jtis, unverifiedJTI(form.Get("WebIdentityToken")))
		s.mu.Unlock()
	}

	if s.applyFaults(s.withQuirkHeaders(rw), r, service, action) {
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
		rec.SetCaller(p.arn, s.opts.AccountID)
	}

	if service == "sts" {
		s.serveSTS(s.withQuirkHeaders(rw), r, form, caller)
		return
	}
	s.mu.Lock()
	h := s.mounts[service]
	s.mu.Unlock()
	if h == nil {
		s.writeError(rw, service, &fakecore.APIError{Status: http.StatusBadRequest, Code: "UnknownService",
			Message: fmt.Sprintf("no fake is mounted for service %q", service)})
		return
	}
	if caller == nil {
		s.writeError(rw, service, errMissingAuth())
		return
	}
	r.Header.Del(fakecore.HeaderCallerARN)
	r.Header.Del(fakecore.HeaderAccount)
	r.Header.Set(fakecore.HeaderCallerARN, caller.arn)
	r.Header.Set(fakecore.HeaderAccount, s.opts.AccountID)
	h.ServeHTTP(s.withQuirkHeaders(rw), r)
}

// requestForm merges the query string and a form-encoded body.
func requestForm(r *http.Request, body []byte) url.Values {
	form := r.URL.Query() // a fresh map
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
