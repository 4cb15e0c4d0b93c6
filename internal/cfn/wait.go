package cfn

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// Poll schedule. CloudFormation has no push notification the action can
// use, so it polls: fast at first, so that change sets (typically 2-10 s)
// and short stack operations are seen within about a second of finishing,
// then backing off to a cap that keeps long operations cheap. The AWS CLI
// waiters poll every 30 s and the SDK waiters start at 30 s.
const (
	pollInitial = 250 * time.Millisecond
	pollGrowth  = 1.5
	// pollCapEarly holds for the first minute of a wait.
	pollCapEarly   = 2 * time.Second
	pollEarlyPhase = time.Minute
	// pollCapLate holds afterwards: a median detection latency near 1.5 s;
	// a one-hour update then costs about 1,200 event fetches (the status
	// poll follows the events, see pollStack).
	pollCapLate = 3 * time.Second
	// pollJitter spreads parallel matrix jobs: each delay is scaled by a
	// factor in [1-pollJitter, 1+pollJitter).
	pollJitter = 0.2
	// throttleCap bounds the delay after repeated throttling.
	throttleCap = 20 * time.Second
	// maxThrottlePenalty doubles the delay up to 2^4 times while throttled.
	maxThrottlePenalty = 4
)

// errDeadline is returned by poller.sleep when the deploy deadline passed.
var errDeadline = errors.New("deadline passed")

// poller paces one wait: a growing delay with jitter, slowed down after
// throttling, never sleeping past the deadline.
type poller struct {
	d        *Deployer
	start    time.Time
	deadline time.Time
	n        int
	penalty  int
}

func (d *Deployer) newPoller(deadline time.Time) *poller {
	return &poller{d: d, start: d.now(), deadline: deadline}
}

// delay is the next nominal delay with jitter applied.
func (p *poller) delay(now time.Time) time.Duration {
	limit := pollCapEarly
	if now.Sub(p.start) >= pollEarlyPhase {
		limit = pollCapLate
	}
	nominal := float64(pollInitial) * math.Pow(pollGrowth, float64(p.n))
	nominal = math.Min(nominal, float64(limit))
	jittered := nominal * (1 - pollJitter + 2*pollJitter*p.d.rand())
	if p.penalty > 0 {
		jittered = math.Min(jittered*math.Pow(2, float64(p.penalty)), float64(throttleCap))
	}
	return time.Duration(jittered)
}

// throttled slows the following polls down; ok speeds them up again.
func (p *poller) throttled() { p.penalty = min(p.penalty+1, maxThrottlePenalty) }
func (p *poller) ok()        { p.penalty = max(p.penalty-1, 0) }

// sleep waits for the next poll. It returns errDeadline once the deadline
// has passed, so the caller polls one last time at the deadline, and the
// context's error when it is cancelled. A zero deadline never passes.
func (p *poller) sleep(ctx context.Context) error {
	now := p.d.now()
	delay := p.delay(now)
	if !p.deadline.IsZero() {
		if !now.Before(p.deadline) {
			return errDeadline
		}
		delay = min(delay, p.deadline.Sub(now))
	}
	p.n++
	return p.d.sleep(ctx, delay)
}

// throttleCodes are the error codes AWS services use for rate limiting.
var throttleCodes = map[string]bool{
	"Throttling":                             true,
	"ThrottlingException":                    true,
	"ThrottledException":                     true,
	"RequestThrottledException":              true,
	"TooManyRequestsException":               true,
	"RequestLimitExceeded":                   true,
	"ProvisionedThroughputExceededException": true,
	"SlowDown":                               true,
}

// transient reports whether a poll that failed with err should simply be
// tried again on the next tick: throttling (after the SDK retryer gave up),
// server faults and the retryer's own transient classes (timeouts,
// connection resets). A cancelled context is never transient.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if throttleCodes[ae.ErrorCode()] || ae.ErrorFault() == smithy.FaultServer {
			return true
		}
		if ae.ErrorFault() == smithy.FaultClient {
			return false
		}
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// isStackMissing reports DescribeStacks' "Stack with id X does not exist".
func isStackMissing(err error) bool {
	return fault.Code(err) == "ValidationError" && strings.Contains(fault.Message(err), "does not exist")
}

// isChangeSetMissing reports a change set that does not exist (any more).
func isChangeSetMissing(err error) bool {
	return fault.Code(err) == "ChangeSetNotFound" || fault.Code(err) == "ChangeSetNotFoundException"
}
