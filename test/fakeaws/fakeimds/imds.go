// Package fakeimds is a wire-level fake of the EC2 instance metadata service
// (IMDSv2) for the role credentials of an instance profile.
//
// The SDK's ec2rolecreds provider works against it once
// AWS_EC2_METADATA_SERVICE_ENDPOINT (or imds.Options.Endpoint) points at
// where it is served. Tokens are required (HttpTokens=required), every call is
// recorded in the embedded [fakecore.CallLog] under service "imds", and the
// credentials it hands out can be registered in a fake STS ([Options.STS]) so
// they sign AssumeRole.
package fakeimds

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// Actions, for InjectFault and the call log.
const (
	ActionGetToken       = "GetToken"       // PUT /latest/api/token
	ActionListRoles      = "ListRoles"      // GET /latest/meta-data/iam/security-credentials/
	ActionGetCredentials = "GetCredentials" // GET /latest/meta-data/iam/security-credentials/ROLE
	ActionGetMetadata    = "GetMetadata"    // any other GET
)

// Header names of the IMDSv2 session protocol.
const (
	HeaderToken    = "X-Aws-Ec2-Metadata-Token"
	HeaderTokenTTL = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
)

const (
	tokenPath = "/latest/api/token"
	credsPath = "/latest/meta-data/iam/security-credentials/"
	maxTTL    = 21600
)

var _ http.Handler = (*IMDS)(nil)

// STS is what the fake needs of a fake STS: a way to make the credentials it
// hands out valid for signing. *fakeaws.Server implements it.
type STS interface {
	AddSession(roleName, sessionName string, c fakecore.Credentials) string
}

// Options configure an [IMDS]. The zero value is usable.
type Options struct {
	// Now is the clock for token and credential expiry. Default time.Now.
	Now func() time.Time
	// RoleName is the instance profile's role. Default "fakeaws-instance-role".
	RoleName string
	// InstanceID is the instance's id and the session name of its role
	// credentials. Default "i-0123456789abcdef0".
	InstanceID string
	// Region is what placement/region answers. Default [fakecore.DefaultRegion].
	Region string
	// CredentialsLifetime is how long issued credentials last. Default 6 h,
	// as EC2's.
	CredentialsLifetime time.Duration
	// STS, if set, gets every issued set of credentials through AddSession.
	STS STS
	// HopLimitExceeded makes PUT /latest/api/token go unanswered, as when the
	// response's IP hop limit (1 by default) runs out inside a container:
	// the call hangs until the client gives up. See also
	// [IMDS.SetHopLimitExceeded].
	HopLimitExceeded bool
	// MaxCalls bounds the call log (default [fakecore.DefaultMaxCalls]).
	MaxCalls int
}

// IMDS is the fake; it is an [http.Handler].
type IMDS struct {
	*fakecore.CallLog

	opts   Options
	faults fakecore.Faults

	mu          sync.Mutex
	hopExceeded bool
	tokens      map[string]time.Time // token -> expiry
	creds       fakecore.Credentials
	updated     time.Time
}

// New returns a fake with one role and fresh credentials.
func New(optFns ...func(*Options)) *IMDS {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RoleName == "" {
		o.RoleName = "fakeaws-instance-role"
	}
	if o.InstanceID == "" {
		o.InstanceID = "i-0123456789abcdef0"
	}
	if o.Region == "" {
		o.Region = fakecore.DefaultRegion
	}
	if o.CredentialsLifetime <= 0 {
		o.CredentialsLifetime = 6 * time.Hour
	}
	m := &IMDS{CallLog: fakecore.NewCallLog(o.MaxCalls), opts: o, hopExceeded: o.HopLimitExceeded, tokens: map[string]time.Time{}}
	m.Rotate()
	return m
}

// Rotate issues new credentials (and registers them with Options.STS), as
// EC2 does ahead of expiry.
func (m *IMDS) Rotate() fakecore.Credentials {
	now := m.opts.Now()
	c := fakecore.Credentials{
		AccessKeyID:     "ASIA" + randUpper(16),
		SecretAccessKey: randBase64(40),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + randBase64(300),
		Expiration:      now.Add(m.opts.CredentialsLifetime).UTC().Truncate(time.Second),
	}
	m.mu.Lock()
	m.creds, m.updated = c, now.UTC().Truncate(time.Second)
	m.mu.Unlock()
	if m.opts.STS != nil {
		m.opts.STS.AddSession(m.opts.RoleName, m.opts.InstanceID, c)
	}
	return c
}

// Credentials returns the credentials currently handed out.
func (m *IMDS) Credentials() fakecore.Credentials {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.creds
}

// SetHopLimitExceeded turns the unanswered token PUT on or off.
func (m *IMDS) SetHopLimitExceeded(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hopExceeded = on
}

// InjectFault queues f for the next calls of action (an Action* constant or
// [fakecore.AnyAction]). Code-only faults answer with the status as plain
// text, as IMDS does.
func (m *IMDS) InjectFault(action string, f fakecore.Fault) { m.faults.Inject(action, f) }

// ServeHTTP answers the IMDSv2 token and credential calls.
func (m *IMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action := actionOf(r)
	rw := &fakecore.StatusRecorder{ResponseWriter: w}
	rec := m.Record(fakecore.Call{Service: "imds", Action: action, Method: r.Method, Time: m.opts.Now(),
		Params: map[string][]string{"Path": {r.URL.Path}, "TTL": {r.Header.Get(HeaderTokenTTL)}}})
	defer func() { rec.Finish(rw.Status, rw.ErrorCode) }()
	if f, ok := m.faults.Next(action); ok && f.Serve(rw, r, nil, writeError) {
		return
	}
	switch action {
	case ActionGetToken:
		m.token(rw, r)
	default:
		m.metadata(rw, r, action)
	}
}

func actionOf(r *http.Request) string {
	switch {
	case r.URL.Path == tokenPath:
		return ActionGetToken
	case r.URL.Path == credsPath:
		return ActionListRoles
	case strings.HasPrefix(r.URL.Path, credsPath):
		return ActionGetCredentials
	}
	return ActionGetMetadata
}

func (m *IMDS) token(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	hop := m.hopExceeded
	m.mu.Unlock()
	if hop {
		// The answer never arrives; the client times out.
		fakecore.Wait(r.Context(), nil, -1) //nolint:errcheck // ends with the client
		fakecore.ResetConn(w)
		return
	}
	if r.Method != http.MethodPut {
		writeError(w, &fakecore.APIError{Status: http.StatusMethodNotAllowed})
		return
	}
	// IMDS refuses tokens to requests that went through a proxy.
	if r.Header.Get("X-Forwarded-For") != "" {
		writeError(w, &fakecore.APIError{Status: http.StatusForbidden})
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get(HeaderTokenTTL))
	if err != nil || ttl < 1 || ttl > maxTTL {
		writeError(w, &fakecore.APIError{Status: http.StatusBadRequest})
		return
	}
	tok := randBase64(56)
	m.mu.Lock()
	m.tokens[tok] = m.opts.Now().Add(time.Duration(ttl) * time.Second)
	m.mu.Unlock()
	w.Header().Set(HeaderTokenTTL, strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(tok)) //nolint:errcheck // client gone
}

func (m *IMDS) metadata(w http.ResponseWriter, r *http.Request, action string) {
	if r.Method != http.MethodGet {
		writeError(w, &fakecore.APIError{Status: http.StatusMethodNotAllowed})
		return
	}
	m.mu.Lock()
	exp, ok := m.tokens[r.Header.Get(HeaderToken)]
	valid := ok && m.opts.Now().Before(exp)
	creds, updated := m.creds, m.updated
	m.mu.Unlock()
	// HttpTokens=required: no, unknown or expired token is 401.
	if !valid {
		writeError(w, &fakecore.APIError{Status: http.StatusUnauthorized})
		return
	}
	switch action {
	case ActionListRoles:
		writeText(w, m.opts.RoleName)
	case ActionGetCredentials:
		if strings.TrimPrefix(r.URL.Path, credsPath) != m.opts.RoleName {
			writeError(w, &fakecore.APIError{Status: http.StatusNotFound})
			return
		}
		fakecore.WriteJSON(w, http.StatusOK, map[string]string{
			"Code":            "Success",
			"LastUpdated":     updated.Format(time.RFC3339),
			"Type":            "AWS-HMAC",
			"AccessKeyId":     creds.AccessKeyID,
			"SecretAccessKey": creds.SecretAccessKey,
			"Token":           creds.SessionToken,
			"Expiration":      creds.Expiration.Format(time.RFC3339),
		})
	default:
		switch strings.TrimPrefix(r.URL.Path, "/latest/meta-data/") {
		case "instance-id":
			writeText(w, m.opts.InstanceID)
		case "placement/region":
			writeText(w, m.opts.Region)
		case "placement/availability-zone":
			writeText(w, m.opts.Region+"a")
		default:
			writeError(w, &fakecore.APIError{Status: http.StatusNotFound})
		}
	}
}

func writeText(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(s)) //nolint:errcheck // client gone
}

// writeError answers as IMDS does: the status and its text, in HTML-less
// plain text.
func writeError(w http.ResponseWriter, e *fakecore.APIError) {
	fakecore.NoteError(w, strconv.Itoa(e.Status))
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(e.Status)
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	fmt.Fprint(w, msg)
}

func randBase64(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // never fails
	return base64.RawStdEncoding.EncodeToString(b)[:n]
}

func randUpper(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
