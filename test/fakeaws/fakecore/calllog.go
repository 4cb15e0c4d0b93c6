package fakecore

import (
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxCalls bounds a [CallLog] whose fake was given no limit.
const DefaultMaxCalls = 100000

// Call is one recorded request.
type Call struct {
	// Service is "sts", "oidc", "cloudformation", "s3", "imds", "github",
	// "proxy" and so on.
	Service string
	// Action is the API action (AssumeRole, CreateChangeSet, PutObject, ...)
	// or, for REST calls without one, the HTTP method.
	Action string
	// Method is the HTTP method.
	Method string
	// Params holds the query and form parameters (or a REST call's path
	// parameters); secret-bearing values are replaced by "REDACTED".
	Params url.Values
	Time   time.Time
	// AccessKeyID is from the SigV4 Authorization header, if any.
	AccessKeyID string
	// CallerARN and Account are the verified caller, where the fake knows one.
	CallerARN string
	Account   string
	// Status is the HTTP status written; 0 for Hang or Reset faults.
	Status int
	// ErrorCode is the error code the call was answered with, or "".
	ErrorCode string
}

// Param returns the first value of a parameter.
func (c Call) Param(key string) string { return c.Params.Get(key) }

// CallLog records calls, oldest first. It keeps at most its limit of calls
// (the oldest go first) so long benchmark runs keep a steady footprint, but
// [CallLog.Count] stays exact. It is safe for concurrent use.
type CallLog struct {
	mu       sync.Mutex
	max      int
	calls    []*Call
	counts   map[[2]string]int // by service and action, never trimmed
	observer func(Call)
}

// NewCallLog returns a log that keeps at most max calls (default
// [DefaultMaxCalls] when max <= 0).
func NewCallLog(max int) *CallLog {
	if max <= 0 {
		max = DefaultMaxCalls
	}
	return &CallLog{max: max, counts: map[[2]string]int{}}
}

// Entry is a recorded call whose outcome is filled in later.
type Entry struct {
	log  *CallLog
	call *Call
}

// Record appends c (with secrets redacted) and returns its entry.
func (l *CallLog) Record(c Call) *Entry {
	c.Params = Redact(c.Params)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[[2]string{c.Service, c.Action}]++
	if len(l.calls) >= l.max {
		l.calls = slices.Delete(l.calls, 0, len(l.calls)-l.max+1)
	}
	l.calls = append(l.calls, &c)
	return &Entry{log: l, call: &c}
}

// Finish sets the status written and the error code (empty on success), and
// hands a copy of the call to the observer, if any.
func (e *Entry) Finish(status int, errorCode string) {
	e.log.mu.Lock()
	e.call.Status, e.call.ErrorCode = status, errorCode
	fn := e.log.observer
	cp := *e.call
	cp.Params = cloneValues(e.call.Params)
	e.log.mu.Unlock()
	if fn != nil {
		fn(cp)
	}
}

// Observe makes fn see every call once it is answered (for live logs, such
// as a stand-in's request log file); nil stops it. fn runs on the serving
// goroutine and must be safe for concurrent use.
func (l *CallLog) Observe(fn func(Call)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.observer = fn
}

// SetCaller sets the verified caller.
func (e *Entry) SetCaller(arn, account string) {
	e.log.mu.Lock()
	defer e.log.mu.Unlock()
	e.call.CallerARN, e.call.Account = arn, account
}

// Calls returns a copy of every kept call, oldest first.
func (l *CallLog) Calls() []Call { return l.CallsTo("", "") }

// CallsTo returns the kept calls of service and action, oldest first; an
// empty service or action matches any.
func (l *CallLog) CallsTo(service, action string) []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Call
	for _, c := range l.calls {
		if match(service, c.Service) && match(action, c.Action) {
			cp := *c
			cp.Params = cloneValues(c.Params)
			out = append(out, cp)
		}
	}
	return out
}

// Count is the exact number of calls of service and action ever recorded
// (since the last reset), trimmed or not; an empty service or action matches
// any.
func (l *CallLog) Count(service, action string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, c := range l.counts {
		if match(service, k[0]) && match(action, k[1]) {
			n += c
		}
	}
	return n
}

// ResetCalls forgets every recorded call and count.
func (l *CallLog) ResetCalls() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
	l.counts = map[[2]string]int{}
}

func match(want, got string) bool { return want == "" || want == AnyAction || want == got }

// secretParams are parameters whose values never land in a call log.
var secretParams = []string{"webidentitytoken", "samlassertion", "tokencode", "secretaccesskey",
	"sessiontoken", "password", "x-amz-security-token", "token", "authorization"}

// Redact returns a copy of v with secret-bearing values replaced by "REDACTED".
func Redact(v url.Values) url.Values {
	out := cloneValues(v)
	for k, vs := range out {
		if slices.Contains(secretParams, strings.ToLower(k)) {
			for i := range vs {
				vs[i] = "REDACTED"
			}
		}
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return url.Values{}
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// SetParams sets parameters learnt while serving the call, as key, value
// pairs.
func (e *Entry) SetParams(kv ...string) {
	e.log.mu.Lock()
	defer e.log.mu.Unlock()
	for i := 0; i+1 < len(kv); i += 2 {
		e.call.Params.Set(kv[i], kv[i+1])
	}
}
