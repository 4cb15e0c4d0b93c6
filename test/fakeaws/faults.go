package fakeaws

import (
	"net/http"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// ActionOIDCToken is the action name of GitHub OIDC token requests, for
// [Server.InjectFault] and Count (service "oidc").
const ActionOIDCToken = "OIDCToken"

// InjectFault queues f for the next calls of action ("AssumeRole",
// [ActionOIDCToken], a mounted service's action or [fakecore.AnyAction]).
func (s *Server) InjectFault(action string, f fakecore.Fault) {
	s.faults.Inject(action, f)
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
	s.throttle = fakecore.NewTokenBucket(ratePerSecond, burst, s.opts.Now())
}

// SetFailureRate makes a fraction p of AWS calls (every service but OIDC)
// fail with 503 ServiceUnavailable, drawn from the seeded generator.
func (s *Server) SetFailureRate(p float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRate = p
}

// applyFaults answers r if a fault, the throttle or the failure rate says so,
// and reports whether it did.
func (s *Server) applyFaults(w http.ResponseWriter, r *http.Request, service, action string) bool {
	if f, ok := s.faults.Next(action); ok {
		if f.Serve(w, r, s.closing, func(w http.ResponseWriter, e *fakecore.APIError) { s.writeError(w, service, e) }) {
			return true
		}
	}
	if service == "oidc" {
		return false
	}

	s.mu.Lock()
	throttled := s.throttle != nil && !s.throttle.Take(s.opts.Now())
	failed := !throttled && s.failRate > 0 && s.rng.Float64() < s.failRate
	s.mu.Unlock()
	switch {
	case throttled:
		s.writeError(w, service, fakecore.ThrottlingError())
		return true
	case failed:
		s.writeError(w, service, fakecore.NewAPIError(0, "ServiceUnavailable", ""))
		return true
	}
	return false
}
