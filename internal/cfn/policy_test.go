package cfn

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The retry and poll policy, run on the injected clock: what a job costs
// CloudFormation at steady state, how it yields under throttling and
// recovers, and how mutating calls are retried idempotently.

// timedCall is one API call and the fake clock's time when it was made.
type timedCall struct {
	op string
	at time.Time
}

// timedAPI records the time of every call on the fake clock; hooks may
// change an answer (a lost answer, an added field) after the inner fake
// gave it.
type timedAPI struct {
	*fakeCFN
	times []timedCall
	// afterCreate and afterExecute see the attempt number (from 1) and
	// the fake's answer, and return the answer the deployer gets.
	afterCreate  func(n int, in *cloudformation.CreateChangeSetInput, out *cloudformation.CreateChangeSetOutput, err error) (*cloudformation.CreateChangeSetOutput, error)
	afterExecute func(n int, err error) error
	creates      []*cloudformation.CreateChangeSetInput
	executes     []*cloudformation.ExecuteChangeSetInput
	executed     map[string]bool
	// desc holds each created change set's description, by name.
	desc map[string]string
}

func (a *timedAPI) note(op string) { a.times = append(a.times, timedCall{op, a.clock.Now()}) }

func (a *timedAPI) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, o ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	a.note("DescribeStacks")
	return a.fakeCFN.DescribeStacks(ctx, in, o...)
}

func (a *timedAPI) DescribeStackEvents(ctx context.Context, in *cloudformation.DescribeStackEventsInput, o ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	a.note("DescribeStackEvents")
	return a.fakeCFN.DescribeStackEvents(ctx, in, o...)
}

func (a *timedAPI) CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, o ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error) {
	a.note("CreateChangeSet")
	a.creates = append(a.creates, in)
	// The fake does not refuse a taken name; CloudFormation does.
	a.fakeCFN.mu.Lock()
	for _, cs := range a.fakeCFN.sets {
		if cs.name == aws.ToString(in.ChangeSetName) && cs.deletedAt.IsZero() {
			a.fakeCFN.mu.Unlock()
			return nil, apiErr("AlreadyExistsException", "ChangeSet ["+cs.name+"] already exists")
		}
	}
	a.fakeCFN.mu.Unlock()
	out, err := a.fakeCFN.CreateChangeSet(ctx, in, o...)
	if err == nil {
		if a.desc == nil {
			a.desc = map[string]string{}
		}
		a.desc[aws.ToString(in.ChangeSetName)] = aws.ToString(in.Description)
	}
	if a.afterCreate != nil {
		return a.afterCreate(len(a.creates), in, out, err)
	}
	return out, err
}

func (a *timedAPI) DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, o ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error) {
	a.note("DescribeChangeSet")
	// Look a name up as CloudFormation does (the fake knows only ids).
	if name := aws.ToString(in.ChangeSetName); !strings.HasPrefix(name, "arn:") {
		a.fakeCFN.mu.Lock()
		for id, cs := range a.fakeCFN.sets {
			if cs.name == name {
				in = &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(id), StackName: in.StackName}
			}
		}
		a.fakeCFN.mu.Unlock()
	}
	out, err := a.fakeCFN.DescribeChangeSet(ctx, in, o...)
	if err == nil {
		// Fields the fake leaves out.
		if d, ok := a.desc[aws.ToString(out.ChangeSetName)]; ok {
			out.Description = aws.String(d)
		}
		out.ExecutionStatus = types.ExecutionStatusAvailable
		if a.executed[aws.ToString(out.ChangeSetId)] {
			out.ExecutionStatus = types.ExecutionStatusExecuteInProgress
		}
	}
	return out, err
}

func (a *timedAPI) ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, o ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error) {
	a.note("ExecuteChangeSet")
	a.executes = append(a.executes, in)
	out, err := a.fakeCFN.ExecuteChangeSet(ctx, in, o...)
	if err == nil {
		if a.executed == nil {
			a.executed = map[string]bool{}
		}
		a.executed[aws.ToString(in.ChangeSetName)] = true
	}
	if a.afterExecute != nil {
		err = a.afterExecute(len(a.executes), err)
	}
	return out, err
}

// policyEnv is a deployer over a timedAPI with a seeded jitter source.
func policyEnv(t *testing.T, seed uint64) (*env, *timedAPI) {
	t.Helper()
	e := newEnv(t)
	api := &timedAPI{fakeCFN: e.cfn}
	rng := rand.New(rand.NewPCG(seed, 42))
	e.d = NewDeployer(api, e.log, func(o *DeployerOptions) {
		o.S3, o.Now, o.Sleep, o.Rand = e.cfn, e.clock.Now, e.clock.Sleep, rng.Float64
	})
	return e, api
}

// waitCalls returns the calls made from ExecuteChangeSet on, and when the
// execution was accepted.
func waitCalls(api *timedAPI) ([]timedCall, time.Time) {
	i := slices.IndexFunc(api.times, func(c timedCall) bool { return c.op == "ExecuteChangeSet" })
	if i < 0 {
		return nil, time.Time{}
	}
	return api.times[i+1:], api.times[i].at
}

// perMinute counts calls in each whole minute after start.
func perMinute(calls []timedCall, start time.Time) []int {
	var out []int
	for _, c := range calls {
		m := int(c.at.Sub(start) / time.Minute)
		for len(out) <= m {
			out = append(out, 0)
		}
		out[m]++
	}
	return out
}

// A long stack operation costs at most 30 calls a minute once the first
// ticks are past (2 s cap, one call per tick, the status check taking the
// place of an event fetch) and about 24 a minute after the first minute
// (2.5 s cap). The ramp of the first 5 s, which sees short operations end at
// once, adds a few calls to the first minute.
func TestPolicy_steady_state_calls_per_minute(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		e, api := policyEnv(t, seed)
		e.cfn.exec = stackOp{duration: 10 * time.Minute}
		o := testOptions(t)
		o.Timeout = time.Hour
		if _, err := e.d.Deploy(context.Background(), o); err != nil {
			t.Fatalf("Deploy: %v\n%s", err, e.log.text())
		}
		calls, start := waitCalls(api)
		counts := perMinute(calls, start)
		if len(counts) < 10 {
			t.Fatalf("seed %d: calls per minute %v: the wait ended early", seed, counts)
		}
		if counts[0] > 36 {
			t.Errorf("seed %d: %d calls in the first minute of the wait, want at most 36 (30 a minute plus the ramp)", seed, counts[0])
		}
		// Every minute-long window after the ramp.
		busiest := 0
		for i, c := range calls {
			if c.at.Sub(start) < pollRamp {
				continue
			}
			j := i
			for j < len(calls) && calls[j].at.Sub(c.at) < time.Minute {
				j++
			}
			busiest = max(busiest, j-i)
		}
		if busiest > 31 {
			t.Errorf("seed %d: %d calls in one minute after the ramp, want at most 30 (+1 for jitter)", seed, busiest)
		}
		for m, n := range counts[1:10] {
			if n > 26 {
				t.Errorf("seed %d: %d calls in minute %d, want at most 26 (one per 2.5 s tick, ±20%% jitter)", seed, n, m+2)
			}
		}
		t.Logf("seed %d: calls per minute of a 10-minute wait: %v; busiest minute after the ramp: %d", seed, counts, busiest)
	}
}

// pollRamp is how long the poll takes to reach its 2 s cap.
const pollRamp = 6 * time.Second

// The end of an operation is seen within 2 s at the median, early in a wait
// (2 s cap) and late in it (2.5 s cap).
func TestPolicy_detection_latency_median(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		base time.Duration
	}{{"short_operations", 20 * time.Second}, {"long_operations", 3 * time.Minute}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lags []time.Duration
			for i := range 31 {
				e, api := policyEnv(t, uint64(100+i))
				op := tc.base + time.Duration(i)*1370*time.Millisecond
				e.cfn.exec = stackOp{duration: op}
				res, err := e.d.Deploy(context.Background(), testOptions(t))
				if err != nil {
					t.Fatalf("Deploy: %v", err)
				}
				_, exec := waitCalls(api)
				lags = append(lags, t0.Add(res.Elapsed).Sub(exec.Add(op)))
			}
			slices.Sort(lags)
			median := lags[len(lags)/2]
			if median >= 2*time.Second || lags[0] < 0 {
				t.Errorf("detection lag median %v (min %v, max %v), want under 2 s", median, lags[0], lags[len(lags)-1])
			}
			t.Logf("detection lag: median %v, max %v", median, lags[len(lags)-1])
		})
	}
}

// Sustained throttling slows the poll to one call per 2.5-5 s (a job's
// share of an exhausted account limit); once it ends, the poll rate
// recovers within a few calls.
func TestPoller_backs_off_under_throttling_and_recovers(t *testing.T) {
	t.Parallel()
	c := newClock()
	rng := rand.New(rand.NewPCG(7, 7))
	d := NewDeployer(nil, nil, func(o *DeployerOptions) { o.Now, o.Sleep, o.Rand = c.Now, c.Sleep, rng.Float64 })
	p := d.newPoller(t0.Add(time.Hour))
	// Settle into the steady state first.
	for range 12 {
		p.ok()
		_ = p.sleep(context.Background())
	}
	steady := c.sleeps[len(c.sleeps)-1]
	throttledFrom := c.Now()
	for range 20 {
		p.throttled()
		_ = p.sleep(context.Background())
	}
	throttled := c.sleeps[len(c.sleeps)-20:]
	// At the cap the delays are 2.5-5 s: 16 calls a minute on average,
	// never more than 24; the ramp to the cap is short.
	if rate := 20 / c.Now().Sub(throttledFrom).Minutes(); rate > 20 {
		t.Errorf("%.1f calls a minute while every call is throttled, want at most 20 (delays %v)", rate, throttled)
	}
	if m := slices.Max(throttled); m > throttleCap {
		t.Errorf("a throttled delay of %v, over the %v cap", m, throttleCap)
	}
	if slices.Min(throttled[8:]) < throttleCap/2-time.Millisecond {
		t.Errorf("throttled delays %v: once at the cap, want at least half of it", throttled)
	}
	// Equal jitter: the delays at the cap are spread, not all alike.
	if lo, hi := slices.Min(throttled[8:]), slices.Max(throttled[8:]); hi-lo < throttleCap/5 {
		t.Errorf("throttled delays at the cap span only %v: jobs would poll in step", hi-lo)
	}
	var recovered int
	for i := range 10 {
		p.ok()
		_ = p.sleep(context.Background())
		if c.sleeps[len(c.sleeps)-1] <= pollCapLate*6/5 {
			recovered = i + 1
			break
		}
	}
	if recovered == 0 || recovered > maxThrottlePenalty+1 {
		t.Errorf("poll delay back at the steady %v after %d successful calls, want within %d (delays %v)", steady, recovered, maxThrottlePenalty+1, c.sleeps[len(c.sleeps)-10:])
	}
}

// Throttled event fetches slow the wait down as throttled status checks
// do, and the deploy still completes.
func TestPolicy_throttled_event_stream_slows_down(t *testing.T) {
	t.Parallel()
	e, api := policyEnv(t, 9)
	e.cfn.exec = stackOp{duration: 5 * time.Minute}
	var throttled []int
	for n := 5; n <= 60; n++ {
		throttled = append(throttled, n)
	}
	e.cfn.throttle = map[string][]int{"DescribeStackEvents": throttled}
	if _, err := e.d.Deploy(context.Background(), testOptions(t)); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.log.text())
	}
	calls, start := waitCalls(api)
	counts := perMinute(calls, start)
	// 56 throttled fetches, at most 24 a minute (the ramp to the cap
	// included), take the first minutes of the wait.
	if len(counts) < 4 || counts[1] > 24 || counts[2] > 24 {
		t.Errorf("calls per minute %v, want at most 24 a minute while throttled", counts)
	}
}

// CreateChangeSet throttled again and again is retried with full jitter:
// each delay below a ceiling that doubles from 1 s to 20 s, the delays
// spread, and one change set in the end.
func TestMutate_create_change_set_retries_throttling_with_full_jitter(t *testing.T) {
	t.Parallel()
	e, api := policyEnv(t, 11)
	e.cfn.throttle = map[string][]int{"CreateChangeSet": {1, 2, 3, 4, 5, 6, 7, 8}}
	if _, err := e.d.Deploy(context.Background(), testOptions(t)); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.log.text())
	}
	var at []time.Time
	for _, c := range api.times {
		if c.op == "CreateChangeSet" {
			at = append(at, c.at)
		}
	}
	if len(at) != 9 || len(e.cfn.sets) != 1 {
		t.Fatalf("%d CreateChangeSet calls and %d change sets, want 9 and 1", len(at), len(e.cfn.sets))
	}
	var delays []time.Duration
	for i := 1; i < len(at); i++ {
		d := at[i].Sub(at[i-1])
		ceiling := min(mutateCap, time.Second<<(i-1))
		if d < 0 || d > ceiling {
			t.Errorf("retry %d waited %v, want at most %v", i, d, ceiling)
		}
		delays = append(delays, d)
	}
	if slices.Min(delays[3:]) == slices.Max(delays[3:]) {
		t.Errorf("retry delays %v are not jittered", delays)
	}
	if n := strings.Count(e.log.text(), "CloudFormation is throttling"); n != 1 {
		t.Errorf("throttling reported %d times, want once:\n%s", n, e.log.text())
	}
	for _, in := range api.creates {
		if aws.ToString(in.ClientToken) != "tok-1" {
			t.Errorf("attempt with ClientToken %q, want tok-1 on every attempt", aws.ToString(in.ClientToken))
		}
	}
}

// Throttling that never ends fails the call after a bounded budget, with
// the attempts, the time spent and what to do.
func TestMutate_budget_is_bounded(t *testing.T) {
	t.Parallel()
	e, api := policyEnv(t, 12)
	var all []int
	for n := 1; n <= 1000; n++ {
		all = append(all, n)
	}
	e.cfn.throttle = map[string][]int{"CreateChangeSet": all}
	start := e.clock.Now()
	_, err := e.d.Deploy(context.Background(), testOptions(t))
	msg := errString(err)
	for _, want := range []string{"creating change set deploy-1: Rate exceeded (Throttling) (still failing after ", "max-parallel"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	n := 0
	for _, c := range api.times {
		if c.op == "CreateChangeSet" {
			n++
		}
	}
	if spent := e.clock.Now().Sub(start); spent > mutateBudget+time.Minute || n > mutateMaxAttempts {
		t.Errorf("gave up after %v and %d attempts, want within %v and %d", spent, n, mutateBudget, mutateMaxAttempts)
	}
	if n < 10 {
		t.Errorf("gave up after %d attempts", n)
	}
}

// serverFault is a 500 answer, as when CloudFormation acted but the answer
// was lost (or a proxy failed it).
func serverFault() error {
	return &smithy.OperationError{ServiceID: "CloudFormation", OperationName: "x", Err: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 500}},
		Err:      &smithy.GenericAPIError{Code: "InternalFailure", Message: "internal", Fault: smithy.FaultServer},
	}}
}

// A CreateChangeSet that reached CloudFormation but whose answer was lost
// is retried; the retry finds its own change set and uses it.
func TestMutate_create_change_set_answer_lost(t *testing.T) {
	t.Parallel()
	e, api := policyEnv(t, 13)
	api.afterCreate = func(n int, _ *cloudformation.CreateChangeSetInput, out *cloudformation.CreateChangeSetOutput, err error) (*cloudformation.CreateChangeSetOutput, error) {
		if n == 1 && err == nil {
			return nil, serverFault()
		}
		return out, err
	}
	res, err := e.d.Deploy(context.Background(), testOptions(t))
	if err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.log.text())
	}
	if len(api.creates) != 2 || len(e.cfn.sets) != 1 {
		t.Errorf("%d CreateChangeSet calls, %d change sets; want 2 and 1", len(api.creates), len(e.cfn.sets))
	}
	for id := range e.cfn.sets {
		if res.ChangeSetID != id {
			t.Errorf("ChangeSetID %q, want the one change set %q", res.ChangeSetID, id)
		}
	}
	if !strings.Contains(e.log.text(), "created by an earlier attempt whose answer was lost") {
		t.Errorf("log:\n%s", e.log.text())
	}
}

// A change set of the same name that is not ours (another description)
// stays an error, with the fix.
func TestMutate_create_change_set_name_taken_by_another(t *testing.T) {
	t.Parallel()
	e, api := policyEnv(t, 14)
	api.afterCreate = func(n int, in *cloudformation.CreateChangeSetInput, out *cloudformation.CreateChangeSetOutput, err error) (*cloudformation.CreateChangeSetOutput, error) {
		if n == 1 && err == nil {
			api.desc[aws.ToString(in.ChangeSetName)] = "Created by someone else"
			return nil, serverFault()
		}
		return out, err
	}
	_, err := e.d.Deploy(context.Background(), testOptions(t))
	if msg := errString(err); !strings.Contains(msg, "already exists") || !strings.Contains(msg, "change-set-name") {
		t.Errorf("error = %q, want the name conflict and its fix", msg)
	}
}

// An ExecuteChangeSet whose answer was lost is retried with the same
// ClientRequestToken; the retry, refused because the change set is
// executing, counts as accepted.
func TestMutate_execute_answer_lost(t *testing.T) {
	t.Parallel()
	e, api := policyEnv(t, 15)
	api.afterExecute = func(n int, err error) error {
		if n == 1 && err == nil {
			return serverFault()
		}
		return err
	}
	res, err := e.d.Deploy(context.Background(), testOptions(t))
	if err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.log.text())
	}
	if res.StackStatus != "CREATE_COMPLETE" || len(api.executes) != 2 {
		t.Errorf("status %s after %d ExecuteChangeSet calls, want CREATE_COMPLETE after 2", res.StackStatus, len(api.executes))
	}
	tok := aws.ToString(api.executes[0].ClientRequestToken)
	if tok == "" || tok != aws.ToString(api.executes[1].ClientRequestToken) || len(tok) > 128 {
		t.Errorf("ClientRequestTokens %q and %q, want one token on both attempts", tok, aws.ToString(api.executes[1].ClientRequestToken))
	}
}

// Two runs never share an execution token, even with the same change set
// name: a later run's execution must not look like a retry.
func TestExecuteToken_unique_per_run(t *testing.T) {
	t.Parallel()
	a := &run{csID: "arn:aws:cloudformation:eu-west-1:1:changeSet/deploy/1", start: t0}
	b := &run{csID: a.csID, start: t0.Add(time.Millisecond)}
	if a.executeToken() == b.executeToken() || a.executeToken() != a.executeToken() {
		t.Errorf("tokens %q and %q", a.executeToken(), b.executeToken())
	}
}

// The SDK retries server faults and connection errors a few times but
// leaves throttling to the deployer, which paces it on its own clock.
func TestNewRetryer_leaves_throttling_to_the_deployer(t *testing.T) {
	t.Parallel()
	r := NewRetryer()
	if r.MaxAttempts() != 3 {
		t.Errorf("MaxAttempts = %d, want 3", r.MaxAttempts())
	}
	if r.IsErrorRetryable(apiErr("Throttling", "Rate exceeded")) {
		t.Error("the SDK retries throttling")
	}
	if !r.IsErrorRetryable(serverFault()) {
		t.Error("the SDK does not retry a 500")
	}
	// The retry quota is off: many failed attempts never make it refuse.
	for range 200 {
		if _, err := r.GetRetryToken(context.Background(), serverFault()); err != nil {
			t.Fatalf("retry token refused: %v", err)
		}
	}
}

// Without timeout-in-minutes there is no deploy deadline: mutating calls
// still retry, within their own 5-minute budget.
func TestMutate_retries_without_a_deploy_timeout(t *testing.T) {
	t.Parallel()
	e, api := policyEnv(t, 16)
	e.cfn.throttle = map[string][]int{"CreateChangeSet": {1, 2, 3}, "ExecuteChangeSet": {1}}
	o := testOptions(t)
	o.Timeout = 0
	if _, err := e.d.Deploy(context.Background(), o); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.log.text())
	}
	if len(api.creates) != 4 || len(api.executes) != 2 {
		t.Errorf("%d CreateChangeSet and %d ExecuteChangeSet calls, want 4 and 2", len(api.creates), len(api.executes))
	}
}
