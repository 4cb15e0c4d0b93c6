package awsauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// Budget bounds the credential phase: a deadline per attempt and in total.
type Budget struct {
	Total      time.Duration // default 30 s
	PerAttempt time.Duration // default 10 s
}

// retryer wraps the SDK's standard retryer: its error classification and
// jittered exponential backoff, driven by our loop so each attempt can fetch a
// fresh OIDC token and has its own deadline.
type retryer struct {
	std   *retry.Standard
	sleep func(context.Context, time.Duration) error
	now   func() time.Time
	log   Logger
}

// newRetryer returns a retryer making at most attempts attempts. backoff nil
// means the SDK's exponential jitter capped at 8 s.
func newRetryer(attempts int, backoff retry.BackoffDelayer, sleep func(context.Context, time.Duration) error, now func() time.Time, log Logger) *retryer {
	std := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = 8 * time.Second
		// Full jitter over 0-2 s, 0-4 s, then 0-8 s: spreads a matrix of
		// jobs apart while the worst case of 5 attempts stays near 22 s.
		o.Backoff = retry.NewExponentialJitterBackoff(o.MaxBackoff)
		if backoff != nil {
			o.Backoff = backoff
		}
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(extraRetryable)}, o.Retryables...)
	})
	return &retryer{std: std, sleep: sleep, now: now, log: log}
}

// extraRetryable adds the errors the SDK does not retry by itself but that can
// succeed on another attempt.
func extraRetryable(err error) aws.Ternary {
	// Errors that know (the token client's, ours) say so themselves.
	var marked interface{ RetryableError() bool }
	if errors.As(err, &marked) {
		return aws.BoolTernary(marked.RetryableError())
	}
	if isCertificateError(err) || isRequestBuildError(err) {
		return aws.FalseTernary
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "IDPCommunicationError", "ExpiredTokenException":
			return aws.TrueTernary
		case "InvalidIdentityToken":
			// Only the JWKS fetch failure is transient (runner#1466); a wrong
			// audience or a missing provider is not.
			return aws.BoolTernary(strings.Contains(ae.ErrorMessage(), "verification key"))
		case "AccessDenied", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
			"ValidationError", "MalformedPolicyDocument", "PackedPolicyTooLarge", "RegionDisabledException", "IDPRejectedClaim":
			return aws.FalseTernary
		}
	}
	if errors.Is(err, errAttemptTimeout) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

var errAttemptTimeout = errors.New("no answer within the per-attempt deadline")

// attemptsError reports a give-up after retries.
type attemptsError struct {
	what     string
	attempts int
	elapsed  time.Duration
	last     error
}

func (e *attemptsError) Error() string {
	return fmt.Sprintf("gave up after %s in %s: %v", attemptsWord(e.attempts), e.elapsed.Round(100*time.Millisecond), e.last)
}

func (e *attemptsError) Unwrap() error { return e.last }

// do runs fn until it succeeds, fails with an error that cannot succeed on
// retry, runs out of attempts, or would exceed the total deadline of ctx.
func (r *retryer) do(ctx context.Context, what string, perAttempt time.Duration, fn func(ctx context.Context, attempt int) error) error {
	start := r.now()
	var err error
	attempt, expired := 0, 0
	for attempt = 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, perAttempt)
		err = fn(actx, attempt)
		attemptTimedOut := actx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		cancel()
		if err == nil {
			return nil
		}
		if attemptTimedOut {
			err = fmt.Errorf("%w (%s): %v", errAttemptTimeout, perAttempt, err)
		}
		if ctx.Err() != nil {
			break
		}
		if fault.Code(err) == "ExpiredTokenException" {
			// Retried once with a fresh token; a second refusal means the
			// runner's clock is off and more attempts only burn the budget.
			if expired++; expired > 1 {
				break
			}
		}
		if attempt >= r.std.MaxAttempts() || !r.std.IsErrorRetryable(err) {
			break
		}
		delay, derr := r.std.RetryDelay(attempt, err)
		if derr != nil {
			break
		}
		if dl, ok := ctx.Deadline(); ok && r.now().Add(delay).After(dl) {
			break
		}
		r.log.Infof("%s: attempt %d failed (%s); retrying in %s", what, attempt, shortReason(err), delay.Round(10*time.Millisecond))
		if serr := r.sleep(ctx, delay); serr != nil {
			break
		}
	}
	// A budget that ran out mid-attempt is a give-up too, so the caller
	// explains it instead of showing a bare "context deadline exceeded".
	if attempt > 1 || errors.Is(err, errAttemptTimeout) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &attemptsError{what: what, attempts: attempt, elapsed: r.now().Sub(start), last: err}
	}
	return err
}

// shortReason is a one-line reason for retry log lines.
func shortReason(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() > 0 {
		return fmt.Sprintf("HTTP %d", re.HTTPStatusCode())
	}
	if errors.Is(err, errAttemptTimeout) {
		return "timeout"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

func attemptsWord(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// isCertificateError reports a TLS verification failure: another attempt
// meets the same certificate, so it must fail at once.
func isCertificateError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) || errors.As(err, &verify)
}

// isRequestBuildError reports a request that net/http refused to send (an
// invalid header value, such as a credential with a line break): it never
// reached the network, and another attempt builds the same request.
func isRequestBuildError(err error) bool {
	return strings.Contains(err.Error(), "net/http: invalid header field")
}
