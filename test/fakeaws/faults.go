package fakeaws

import (
	"net"
	"net/http"
	"time"
)

// ActionOIDCToken is the action name of GitHub OIDC token requests, for
// [Server.InjectFault] and [Server.Count] (service "oidc").
const ActionOIDCToken = "OIDCToken"

// AnyAction makes a fault apply to whichever request comes next.
const AnyAction = "*"

// Fault changes how the next matching requests are answered. Faults for the
// same action queue in order; each is used for Times calls.
type Fault struct {
	// Times is how many of the next calls get the fault (0 means 1).
	Times int
	// Status and Code answer with an AWS error; either may be left out and
	// is then taken from AWS's usual pairing (Throttling is 400, InternalFailure
	// 500 and so on). Message defaults to AWS's text for Code.
	Status  int
	Code    string
	Message string
	// Body, if set, is written verbatim with Status (default 200), for
	// example `{"value":""}` for the OIDC endpoint.
	Body string
	// Delay waits before answering. A fault with only a Delay slows the call
	// down and then serves it normally.
	Delay time.Duration
	// Hang blocks until the client goes away or the server closes.
	Hang bool
	// Reset drops the TCP connection without any response.
	Reset bool
}

// InjectFault queues f for the next calls of action ("AssumeRole",
// [ActionOIDCToken], a mounted service's action or [AnyAction]).
func (s *Server) InjectFault(action string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = append(s.faults[action], &f)
}

// SetThrottle limits AWS calls (every service but OIDC) to a token bucket of
// ratePerSecond refilled against Options.Now; calls over it get 400
// Throttling "Rate exceeded". A rate <= 0 with burst <= 0 turns it off.
func (s *Server) SetThrottle(ratePerSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ratePerSecond <= 0 && burst <= 0 {
		s.throttle = nil
		return
	}
	burst = max(burst, 1) // a bucket that holds nothing would refuse everything
	s.throttle = &bucket{rate: ratePerSecond, burst: float64(burst), tokens: float64(burst), last: s.opts.Now()}
}

// SetFailureRate makes a fraction p of AWS calls (every service but OIDC)
// fail with 503 ServiceUnavailable, drawn from the seeded generator.
func (s *Server) SetFailureRate(p float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRate = p
}

// nextFault pops the next fault for action, falling back to AnyAction.
func (s *Server) nextFault(action string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{action, AnyAction} {
		q := s.faults[key]
		if len(q) == 0 {
			continue
		}
		f := *q[0]
		q[0].Times--
		if q[0].Times <= 0 {
			s.faults[key] = q[1:]
		}
		return &f
	}
	return nil
}

// applyFaults answers r if a fault, the throttle or the failure rate says so,
// and reports whether it did.
func (s *Server) applyFaults(w http.ResponseWriter, r *http.Request, service, action string) bool {
	if f := s.nextFault(action); f != nil {
		if f.Delay > 0 && s.wait(r, f.Delay) != nil {
			// Returning would make net/http send an empty 200.
			resetConn(w)
			return true
		}
		switch {
		case f.Hang:
			s.wait(r, -1) //nolint:errcheck // it always ends with the client or the server
			resetConn(w)
			return true
		case f.Reset:
			resetConn(w)
			return true
		case f.Body != "":
			status := f.Status
			if status == 0 {
				status = http.StatusOK
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(f.Body)) //nolint:errcheck // client gone
			return true
		case f.Code != "" || f.Status != 0:
			s.writeError(w, service, newAPIError(f.Status, f.Code, f.Message))
			return true
		}
	}
	if service == "oidc" {
		return false
	}

	s.mu.Lock()
	throttled := s.throttle != nil && !s.throttle.take(s.opts.Now())
	failed := !throttled && s.failRate > 0 && s.rng.Float64() < s.failRate
	s.mu.Unlock()
	switch {
	case throttled:
		s.writeError(w, service, newAPIError(0, "Throttling", ""))
		return true
	case failed:
		s.writeError(w, service, newAPIError(0, "ServiceUnavailable", ""))
		return true
	}
	return false
}

// resetConn hijacks the connection and closes it with SO_LINGER 0, so the
// client sees a TCP reset rather than a clean EOF.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // best effort; Close still drops it
	}
	conn.Close()
}

// bucket is a token bucket; the caller holds Server.mu.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *bucket) take(now time.Time) bool {
	if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = min(b.burst, b.tokens+d*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
