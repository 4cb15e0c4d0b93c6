package fakeaws

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

func callerIdentity(t *testing.T, s *Server) error {
	t.Helper()
	// A deadline keeps a misbehaving fault from hanging the suite.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := fastClient(s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	return err
}

// fastClient skips LoadDefaultConfig, which dominates loops of calls.
func fastClient(s *Server) *sts.Client {
	return sts.New(sts.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider(testUserKey, testUserSecret, ""),
		RetryMaxAttempts: 1,
	})
}

// waitForCount polls until the server has recorded n calls of action.
func waitForCount(t *testing.T, s *Server, action string, n int) {
	t.Helper()
	for range 500 {
		if s.Count("", action) >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("server never saw %d %s calls", n, action)
}

// TestEveryErrorCodeIsInjectable covers the codes of security-facts §4 with
// AWS's status for each.
func TestEveryErrorCodeIsInjectable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code       string
		wantStatus int
		wantMsg    string
	}{
		{"Throttling", 400, "Rate exceeded"},
		{"InternalFailure", 500, defaultMessage("InternalFailure")},
		{"ServiceUnavailable", 503, defaultMessage("ServiceUnavailable")},
		{"IDPCommunicationError", 400, defaultMessage("IDPCommunicationError")},
		{"InvalidIdentityToken", 400, "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements"},
		{"ExpiredTokenException", 400, defaultMessage("ExpiredTokenException")},
		{"AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"RegionDisabledException", 403, defaultMessage("RegionDisabledException")},
		{"PackedPolicyTooLarge", 400, "Packed policy consumes 112% of allotted space, please use smaller policy."},
		{"InvalidClientTokenId", 403, "The security token included in the request is invalid."},
		{"SignatureDoesNotMatch", 403, fakecore.MsgSignatureMismatch},
		{"ExpiredToken", 403, "The security token included in the request is expired"},
		{"IDPRejectedClaim", 403, defaultMessage("IDPRejectedClaim")},
	}
	s := newServer(t)
	tok, err := s.IDToken(oidcAudience)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		// Queued in order on one server, answered in order.
		s.InjectFault(AssumeRoleWithWebIdentity, fakecore.Fault{Code: tc.code})
	}
	for _, tc := range cases {
		_, err := webIdentity(t, s, "oidc-deploy", tok)
		status, code, msg := apiError(t, err)
		if diff := cmp.Diff([]any{tc.wantStatus, tc.code, tc.wantMsg}, []any{status, code, msg}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.code, diff)
		}
	}
	if _, err := webIdentity(t, s, "oidc-deploy", tok); err != nil {
		t.Errorf("after the queue drained: %v", err)
	}
	if n := len(s.WebIdentityJTIs()); n != len(cases)+1 {
		t.Errorf("recorded %d jtis, want %d (faulted calls count too)", n, len(cases)+1)
	}
}

func TestFaultTimesAndOverrides(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.InjectFault("GetCallerIdentity", fakecore.Fault{Times: 2, Code: "Throttling"})
	s.InjectFault("GetCallerIdentity", fakecore.Fault{Status: 502, Code: "BadGateway", Message: "custom"})
	s.InjectFault("AssumeRole", fakecore.Fault{Code: "RegionDisabledException"}) // other actions keep their own queue
	want := []struct {
		status int
		code   string
	}{{400, "Throttling"}, {400, "Throttling"}, {502, "BadGateway"}}
	for i, w := range want {
		status, code, _ := apiError(t, callerIdentity(t, s))
		if status != w.status || code != w.code {
			t.Errorf("call %d: %d %s, want %d %s", i, status, code, w.status, w.code)
		}
	}
	if err := callerIdentity(t, s); err != nil {
		t.Errorf("fourth call: %v", err)
	}
	s.InjectFault(fakecore.AnyAction, fakecore.Fault{Code: "InternalFailure"})
	if _, code, _ := apiError(t, callerIdentity(t, s)); code != "InternalFailure" {
		t.Errorf("fakecore.AnyAction fault: %s", code)
	}
	s.Reset()
	_, err := userClient(t, s).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("deploy")), RoleSessionName: aws.String("x1")})
	if err != nil {
		t.Errorf("Reset should drop queued faults: %v", err)
	}
	if len(s.Calls()) != 1 {
		t.Errorf("Reset should drop recorded requests: %d", len(s.Calls()))
	}
}

func TestFaultRetriedBySDK(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.InjectFault("GetCallerIdentity", fakecore.Fault{Times: 2, Code: "ServiceUnavailable"})
	c := sts.New(userClient(t, s).Options(), func(o *sts.Options) {
		o.RetryMaxAttempts = 0 // let Retryer decide
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.MaxBackoff = 10 * time.Millisecond
		})
	})
	if _, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("SDK should have retried past two 503s: %v", err)
	}
	if n := s.Count("sts", "GetCallerIdentity"); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
}

func TestFaultDelayHangReset(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	s.InjectFault("GetCallerIdentity", fakecore.Fault{Delay: 100 * time.Millisecond})
	start := time.Now()
	if err := callerIdentity(t, s); err != nil || time.Since(start) < 100*time.Millisecond {
		t.Errorf("delay: err %v after %v", err, time.Since(start))
	}

	s.InjectFault("GetCallerIdentity", fakecore.Fault{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := userClient(t, s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		done <- err
	}()
	// Cancel only once the server holds the request, so the fault is used.
	waitForCount(t, s, "GetCallerIdentity", 2)
	select {
	case err := <-done:
		t.Fatalf("hang: call returned early: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("hang: got %v, want a cancelled call", err)
	}

	s.InjectFault("GetCallerIdentity", fakecore.Fault{Reset: true})
	err := callerIdentity(t, s)
	var ae smithy.APIError
	if err == nil || errors.As(err, &ae) {
		t.Errorf("reset: got %v, want a transport error", err)
	}
	reqs := s.Calls()
	if last := reqs[len(reqs)-1]; last.Status != 0 {
		t.Errorf("reset request recorded with status %d", last.Status)
	}
}

func TestHangReleasedByClose(t *testing.T) {
	t.Parallel()
	s := New()
	s.AddUser("ci", testUserKey, testUserSecret)
	s.InjectFault("GetCallerIdentity", fakecore.Fault{Hang: true})
	done := make(chan error, 1)
	go func() { done <- callerIdentity(t, s) }()
	waitForCount(t, s, "GetCallerIdentity", 1)
	s.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("hung call succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the hung call")
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, func(o *Options) { o.Now = clk.Now })
	s.SetThrottle(2, 2)
	for i := range 2 {
		if err := callerIdentity(t, s); err != nil {
			t.Fatalf("call %d within burst: %v", i, err)
		}
	}
	status, code, msg := apiError(t, callerIdentity(t, s))
	if diff := cmp.Diff([]any{400, "Throttling", "Rate exceeded"}, []any{status, code, msg}); diff != "" {
		t.Errorf("over the rate (-want +got):\n%s", diff)
	}
	clk.Advance(500 * time.Millisecond) // one token at 2/s
	if err := callerIdentity(t, s); err != nil {
		t.Errorf("after refill: %v", err)
	}
	if err := callerIdentity(t, s); err == nil {
		t.Error("bucket should be empty again")
	}
	s.SetThrottle(0, 0)
	if err := callerIdentity(t, s); err != nil {
		t.Errorf("throttle off: %v", err)
	}
}

func TestFailureRate(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Seed = 7 })
	s.SetFailureRate(0.5)
	failed := 0
	for range 40 {
		if err := callerIdentity(t, s); err != nil {
			status, code, _ := apiError(t, err)
			if status != 503 || code != "ServiceUnavailable" {
				t.Fatalf("got %d %s", status, code)
			}
			failed++
		}
	}
	if failed < 5 || failed > 35 {
		t.Errorf("%d of 40 calls failed at p=0.5", failed)
	}
	s.SetFailureRate(0)
	if err := callerIdentity(t, s); err != nil {
		t.Errorf("rate 0: %v", err)
	}
}

func TestRequestLogBounded(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.MaxCalls = 3 })
	for range 5 {
		if err := callerIdentity(t, s); err != nil {
			t.Fatal(err)
		}
	}
	if n, c := len(s.Calls()), s.Count("sts", "GetCallerIdentity"); n != 3 || c != 5 {
		t.Errorf("log holds %d (want 3), Count = %d (want 5)", n, c)
	}
}
