package fakeaws

import (
	"net/http"
	"strings"
)

// Quirks are deliberate misbehaviours of the fake's AWS answers, for tests of
// how a client copes with a broken or hostile STS. The zero value answers
// like AWS.
type Quirks struct {
	// OmitCredentials answers AssumeRole and AssumeRoleWithWebIdentity with
	// 200 and a well-formed result that has no Credentials element. The
	// session is still issued (and usable, had the client its keys).
	OmitCredentials bool
	// AssumedRoleAccount, if set, is the account in the assumed-role ARN of
	// new sessions (AssumedRoleUser.Arn, and GetCallerIdentity's Arn and
	// Account for them) instead of the role's own account: an account
	// mismatch.
	AssumedRoleAccount string
	// ResponseHeaders are added to every AWS answer (STS and mounted
	// services, not the OIDC endpoint), after the fake's own headers, so they
	// may also replace x-amzn-RequestId. Use hostile values such as
	// "##[stop-commands]x" or "::set-output name=x::y" for log-injection tests.
	ResponseHeaders http.Header
}

func (q Quirks) clone() Quirks {
	q.ResponseHeaders = q.ResponseHeaders.Clone()
	return q
}

// SetQuirks replaces the quirks (see [Options.Quirks]).
func (s *Server) SetQuirks(q Quirks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quirks = q.clone()
}

func (s *Server) currentQuirks() Quirks {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quirks.clone()
}

// withQuirkHeaders wraps w so the quirk headers are set just before the
// status line goes out.
func (s *Server) withQuirkHeaders(w http.ResponseWriter) http.ResponseWriter {
	h := s.currentQuirks().ResponseHeaders
	if len(h) == 0 {
		return w
	}
	if qw, ok := w.(*quirkWriter); ok {
		return qw
	}
	return &quirkWriter{ResponseWriter: w, extra: h}
}

type quirkWriter struct {
	http.ResponseWriter
	extra http.Header
	done  bool
}

func (w *quirkWriter) apply() {
	if w.done {
		return
	}
	w.done = true
	for k, vs := range w.extra {
		w.Header()[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
}

func (w *quirkWriter) WriteHeader(code int) {
	w.apply()
	w.ResponseWriter.WriteHeader(code)
}

func (w *quirkWriter) Write(b []byte) (int, error) {
	w.apply()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Hijack and Flush.
func (w *quirkWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accountOf returns the account field of an ARN, or "".
func accountOf(arn string) string {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 {
		return ""
	}
	return f[4]
}
