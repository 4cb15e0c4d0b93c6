package cfn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// Retry policy of the calls that change something (CreateChangeSet,
// ExecuteChangeSet, DeleteChangeSet, DeleteStack,
// UpdateTerminationProtection, the template's PutObject). CloudFormation
// limits API calls per account and region, so a matrix of jobs deploying at
// once is throttled as a whole; a job must keep trying long enough for the
// others to finish, and spread its tries so the jobs do not retry in step.
// The delays are "full jitter" (a uniform draw below an exponentially
// growing ceiling, as AWS's SDKs do): retry n waits rand·min(cap, base·2^n).
const (
	// mutateBaseThrottled is the first ceiling after throttling (the SDKs
	// use 1 s for throttling too).
	mutateBaseThrottled = time.Second
	// mutateBaseOther is the first ceiling after a server fault or a
	// connection error.
	mutateBaseOther = 250 * time.Millisecond
	// mutateCap bounds one delay.
	mutateCap = 20 * time.Second
	// mutateBudget bounds the retrying of one call; the deploy deadline
	// (timeout-in-minutes) bounds it too.
	mutateBudget = 5 * time.Minute
	// mutateMaxAttempts bounds the loop whatever the clock says.
	mutateMaxAttempts = 60
)

// noSDKRetry makes the SDK send a mutating call once: mutate retries it, so
// it knows which attempt may have reached CloudFormation.
func noSDKRetry(o *cloudformation.Options) { o.RetryMaxAttempts = 1 }

func noS3Retry(o *s3.Options) { o.RetryMaxAttempts = 1 }

// backoff is the delay before retry n (1-based) after err.
func (d *Deployer) backoff(n int, err error) time.Duration {
	base := mutateBaseOther
	if isThrottle(err) {
		base = mutateBaseThrottled
	}
	ceiling := math.Min(float64(mutateCap), float64(base)*math.Pow(2, float64(n-1)))
	return time.Duration(ceiling * d.rand())
}

// exhausted is a transient error that outlasted the retry budget.
type exhausted struct {
	err      error
	attempts int
	spent    time.Duration
}

func (e *exhausted) Error() string { return e.err.Error() + e.suffix() }

func (e *exhausted) Unwrap() error { return e.err }

func (e *exhausted) suffix() string {
	return fmt.Sprintf(" (still failing after %d attempts over %s)", e.attempts, e.spent.Round(time.Second))
}

// mutate runs a call that changes something, retrying throttling and other
// transient errors (transient) with full-jitter backoff until it succeeds,
// fails for good, or its budget ends: mutateBudget or limit (normally the
// deploy deadline; zero for none), whichever comes first. call gets the attempt number, from 1, so a
// retry can recognise work its earlier attempt did although the answer was
// lost. A budget that runs out returns an *exhausted error.
func (r *run) mutate(ctx context.Context, op string, limit time.Time, call func(attempt int) error) error {
	start := r.d.now()
	if budget := start.Add(mutateBudget); limit.IsZero() || budget.Before(limit) {
		limit = budget // a zero limit (no timeout-in-minutes) leaves the budget
	}
	for attempt := 1; ; attempt++ {
		err := call(attempt)
		if err == nil || !transient(ctx, err) {
			return err
		}
		delay := r.d.backoff(attempt, err)
		now := r.d.now()
		if attempt >= mutateMaxAttempts || now.Add(delay).After(limit) {
			return &exhausted{err: err, attempts: attempt, spent: now.Sub(start)}
		}
		r.noteRetry(err)
		r.log().Debugf("%s: %s; attempt %d in %s", op, fault.Message(err), attempt+1, delay.Round(time.Millisecond))
		if serr := r.d.sleep(ctx, delay); serr != nil {
			return serr
		}
	}
}

// noteRetry says once per deploy that CloudFormation is throttling, the one
// transient condition a user can act on (fewer parallel jobs).
func (r *run) noteRetry(err error) {
	if isThrottle(err) && !r.throttleNoted {
		r.throttleNoted = true
		r.log().Infof("CloudFormation is throttling this account's API calls (%s); retrying with backoff.", fault.Message(err))
	}
}

// isAlreadyExists reports CreateChangeSet's answer for a change set name
// that is taken.
func isAlreadyExists(err error) bool {
	return fault.Code(err) == "AlreadyExistsException"
}

// createChangeSet sends CreateChangeSet with retries. Its ClientToken lets
// CloudFormation recognise a retry; where it does not (older emulators), a
// retry told that the change set "already exists" checks whether the change
// set is the one its own earlier attempt created, and then uses it.
func (r *run) createChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput) (*cloudformation.CreateChangeSetOutput, error) {
	var out *cloudformation.CreateChangeSetOutput
	err := r.mutate(ctx, "CreateChangeSet", r.deadline, func(attempt int) error {
		var err error
		out, err = r.d.cfn.CreateChangeSet(ctx, in, noSDKRetry)
		if err != nil && attempt > 1 && isAlreadyExists(err) {
			out, err = r.ownChangeSet(ctx, in, err)
		}
		return err
	})
	return out, err
}

// ownChangeSet returns the change set an earlier attempt of in created, or
// taken (the AlreadyExists error) when the change set of that name is not
// ours. Ours carries in's description, which holds the creation time to
// the second.
func (r *run) ownChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, taken error) (*cloudformation.CreateChangeSetOutput, error) {
	cs, err := r.d.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: in.ChangeSetName, StackName: in.StackName})
	switch {
	case err != nil && transient(ctx, err):
		return nil, err
	case err != nil || aws.ToString(cs.Description) != aws.ToString(in.Description):
		return nil, taken
	}
	r.log().Infof("Change set %s was created by an earlier attempt whose answer was lost; using it.", r.o.ChangeSetName)
	return &cloudformation.CreateChangeSetOutput{Id: cs.ChangeSetId, StackId: cs.StackId}, nil
}

// executeToken is ExecuteChangeSet's ClientRequestToken: the same for every
// attempt of this run, and never reused by another run, because it is
// derived from the change set's ID (unique, and executed at most once) and
// the deploy's start.
func (r *run) executeToken() string {
	sum := sha256.Sum256([]byte(r.csID + "\x00" + strconv.FormatInt(r.start.UnixNano(), 10)))
	return "aws-assume-deploy-" + hex.EncodeToString(sum[:16])
}

// executeChangeSet sends ExecuteChangeSet with retries. A retry refused
// because the change set is already executing was accepted before: its
// earlier attempt reached CloudFormation.
func (r *run) executeChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput) error {
	return r.mutate(ctx, "ExecuteChangeSet", r.deadline, func(attempt int) error {
		_, err := r.d.cfn.ExecuteChangeSet(ctx, in, noSDKRetry)
		if err != nil && attempt > 1 && fault.Code(err) == "InvalidChangeSetStatus" {
			cs, derr := r.d.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: in.ChangeSetName, StackName: in.StackName})
			switch {
			case derr != nil && transient(ctx, derr):
				return derr
			case derr == nil && executionStarted(cs.ExecutionStatus):
				r.log().Infof("Change set %s was executed by an earlier attempt whose answer was lost.", r.o.ChangeSetName)
				return nil
			}
		}
		return err
	})
}

func executionStarted(s types.ExecutionStatus) bool {
	switch s {
	case types.ExecutionStatusExecuteInProgress, types.ExecutionStatusExecuteComplete, types.ExecutionStatusExecuteFailed:
		return true
	}
	return false
}

// deleteChangeSetCall sends DeleteChangeSet for the change set id with
// retries until limit; a change set that is gone counts as deleted.
func (r *run) deleteChangeSetCall(ctx context.Context, id string, limit time.Time) error {
	return r.mutate(ctx, "DeleteChangeSet", limit, func(int) error {
		_, err := r.d.cfn.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: aws.String(id), StackName: r.stackRef()}, noSDKRetry)
		if isChangeSetMissing(err) {
			return nil
		}
		return err
	})
}
