package fakecore

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault changes how the next matching calls are answered. Faults for the same
// action queue in order; each is used for Times calls.
type Fault struct {
	// Times is how many of the next calls get the fault (0 means 1).
	Times int
	// Status and Code answer with an error in the fake's protocol; either may
	// be left out and is then taken from AWS's usual pairing (Throttling is
	// 400, InternalFailure 500 and so on). Message defaults to AWS's text for
	// Code.
	Status  int
	Code    string
	Message string
	// Body, if set, is written verbatim with Status (default 200), for
	// example `{"value":""}` for the OIDC endpoint.
	Body string
	// Header is added to the faulted response (for example Retry-After).
	Header http.Header
	// Delay waits (in real time) before answering. A fault with only a Delay
	// slows the call down and then serves it normally.
	Delay time.Duration
	// Hang blocks until the client goes away or the server closes.
	Hang bool
	// Reset drops the TCP connection without any response.
	Reset bool
}

// Faults is a queue of faults per action. The zero value is ready to use.
type Faults struct {
	mu sync.Mutex
	q  map[string][]*Fault
}

// Inject queues f for the next calls of action (or [AnyAction]).
func (fs *Faults) Inject(action string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	f.Header = f.Header.Clone()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.q == nil {
		fs.q = map[string][]*Fault{}
	}
	fs.q[action] = append(fs.q[action], &f)
}

// Next pops one use of the next fault for action, falling back to [AnyAction].
func (fs *Faults) Next(action string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, key := range []string{action, AnyAction} {
		q := fs.q[key]
		if len(q) == 0 {
			continue
		}
		f := *q[0]
		q[0].Times--
		if q[0].Times <= 0 {
			fs.q[key] = q[1:]
		}
		return f, true
	}
	return Fault{}, false
}

// Clear drops every queued fault.
func (fs *Faults) Clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.q = nil
}

// ErrorWriter answers an error in one protocol's format (awsquery XML,
// REST-XML, JSON).
type ErrorWriter func(w http.ResponseWriter, e *APIError)

// ErrClosed reports that the server shut down while a fault waited.
var ErrClosed = errors.New("server closed")

// Serve answers r as f says and reports whether it did; false means the
// fault only delayed the call, which should now be served normally. closing
// (may be nil) releases Delay and Hang when the server shuts down.
func (f Fault) Serve(w http.ResponseWriter, r *http.Request, closing <-chan struct{}, writeErr ErrorWriter) bool {
	if f.Delay > 0 && Wait(r.Context(), closing, f.Delay) != nil {
		// Returning would make net/http send an empty 200.
		ResetConn(w)
		return true
	}
	switch {
	case f.Hang:
		Wait(r.Context(), closing, -1) //nolint:errcheck // it always ends with the client or the server
		ResetConn(w)
		return true
	case f.Reset:
		ResetConn(w)
		return true
	}
	for k, vs := range f.Header {
		w.Header()[k] = append([]string(nil), vs...)
	}
	switch {
	case f.Body != "":
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		ct := "application/json"
		if strings.HasPrefix(strings.TrimSpace(f.Body), "<") {
			ct = "text/xml"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		w.Write([]byte(f.Body)) //nolint:errcheck // client gone
		return true
	case f.Code != "" || f.Status != 0:
		writeErr(w, NewAPIError(f.Status, f.Code, f.Message))
		return true
	}
	return false
}

// Wait sleeps d, returning early with an error when ctx ends or closing is
// closed. d < 0 waits for one of those only.
func Wait(ctx context.Context, closing <-chan struct{}, d time.Duration) error {
	var timer <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closing:
		return ErrClosed
	}
}

// ResetConn hijacks the connection and closes it with SO_LINGER 0, so the
// client sees a TCP reset rather than a clean EOF.
func ResetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // best effort; Close still drops it
	}
	conn.Close()
}

// StatusRecorder remembers the status and error code written and still lets
// faults hijack the connection.
type StatusRecorder struct {
	http.ResponseWriter
	Status    int
	ErrorCode string // set by the error writers through NoteError
}

// NoteError tells every [StatusRecorder] wrapping w which error code the
// response carries, for the call log.
func NoteError(w http.ResponseWriter, code string) {
	for w != nil {
		if sr, ok := w.(*StatusRecorder); ok && sr.ErrorCode == "" {
			sr.ErrorCode = code
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// WriteHeader implements http.ResponseWriter.
func (w *StatusRecorder) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *StatusRecorder) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Hijack and Flush.
func (w *StatusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
