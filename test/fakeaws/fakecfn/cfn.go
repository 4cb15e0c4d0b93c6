// Package fakecfn is a wire-level fake of AWS CloudFormation (query protocol,
// version 2010-05-15) and of the few S3 object calls a deploy needs.
//
// The unmodified aws-sdk-go-v2 clients and the real AWS CLI work against it.
// Stacks move through CloudFormation's states on a scripted timeline that is
// evaluated lazily against an injectable clock ([Options.Now]), so tests can
// step time instead of sleeping. Every call is recorded for assertions.
//
// The handlers are plain [http.Handler]s: mount them on the fakeaws router,
// which verifies SigV4 and passes the caller in [fakecore.HeaderCallerARN],
// or serve them directly with httptest, where every caller is
// [AnonymousCaller]. Faults, the call log and the clock are [fakecore]'s.
package fakecfn

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// AnonymousCaller is the caller of requests that did not come through the
// fakeaws router.
const AnonymousCaller = "arn:aws:iam::" + fakecore.DefaultAccountID + ":user/anonymous"

var (
	_ http.Handler = (*CloudFormation)(nil)
	_ http.Handler = (*S3)(nil)
)

// NoChangesReason is CloudFormation's exact StatusReason for an empty change set.
const NoChangesReason = "The submitted information didn't contain changes. Submit different information to create a change set."

const xmlns = "http://cloudformation.amazonaws.com/doc/2010-05-15/"

// Options configure a [CloudFormation] fake. The zero value is usable.
type Options struct {
	// Now is the clock every state change is computed against. Default time.Now.
	Now func() time.Time
	// Region goes into ARNs when the request's SigV4 scope names none.
	Region string
	// AccountID goes into ARNs when the caller's account is unknown.
	AccountID string
	// S3 resolves TemplateURL; without it every TemplateURL is rejected.
	S3 *S3
	// EventsPageSize is DescribeStackEvents' page size. Default 100.
	EventsPageSize int
	// ChangesPageSize is DescribeChangeSet's page size for Changes. Default 100.
	ChangesPageSize int
	// Script is the initial global script (see [CloudFormation.SetScript]).
	Script Script
	// Throttle, if its Rate or Burst is set, limits each account and region
	// to a token bucket across all actions (see [CloudFormation.SetThrottle]).
	Throttle Throttle
	// MaxCalls bounds the call log (default [fakecore.DefaultMaxCalls]).
	MaxCalls int
}

// Throttle is a token-bucket rate limit: Rate requests per second, up to
// Burst at once.
type Throttle struct {
	Rate  float64
	Burst int
}

// Script scripts timings and outcomes. It is read when an operation starts
// (CreateChangeSet, ExecuteChangeSet, DeleteStack), so changing it later does
// not alter operations already under way.
type Script struct {
	// ChangeSetCreateDelay is how long a change set takes to become
	// CREATE_COMPLETE (or FAILED). It is CREATE_PENDING for the first half and
	// CREATE_IN_PROGRESS for the second. Zero: done by the first describe.
	ChangeSetCreateDelay time.Duration
	// ChangeSetFailReason, if set, makes change sets end FAILED with it.
	ChangeSetFailReason string
	// StuckChangeSet keeps change sets in CREATE_PENDING forever.
	StuckChangeSet bool
	// StackOperationDelay is how long a create or update takes from
	// ExecuteChangeSet to its *_COMPLETE status; resource events are spread
	// evenly over it unless ResourceTimings says otherwise.
	StackOperationDelay time.Duration
	// ResourceTimings pins when a resource starts and ends, as offsets from
	// the operation's start.
	ResourceTimings map[string]ResourceTiming
	// FailResources makes the named resources fail with the given reason; the
	// stack then rolls back unless ExecuteChangeSet said DisableRollback.
	FailResources map[string]string
	// RollbackDelay is how long a rollback takes after the failure.
	RollbackDelay time.Duration
	// StuckInProgress keeps create and update operations *_IN_PROGRESS forever.
	StuckInProgress bool
	// DeleteDelay is how long DeleteStack takes.
	DeleteDelay time.Duration
	// FailDeleteReason makes DeleteStack end in DELETE_FAILED with it.
	FailDeleteReason string
	// Outputs override output values computed from the template after a
	// successful create or update (keys absent from the template are added).
	Outputs map[string]string
}

// ResourceTiming is a resource's start and end, relative to the operation's start.
type ResourceTiming struct {
	Start, End time.Duration
}

func (s Script) clone() Script {
	c := s
	c.ResourceTimings = cloneMap(s.ResourceTimings)
	c.FailResources = cloneMap(s.FailResources)
	c.Outputs = cloneMap(s.Outputs)
	return c
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// CloudFormation is the fake service; it is an [http.Handler]. Its embedded
// [fakecore.CallLog] records every call under service "cloudformation".
type CloudFormation struct {
	*fakecore.CallLog

	opts   Options
	faults fakecore.Faults

	mu          sync.Mutex
	throttle    Throttle
	buckets     map[[2]string]*fakecore.TokenBucket // by account and region
	script      Script
	stackScript map[string]Script
	stacks      []*stack // creation order; deleted stacks stay, reachable by id
	changeSets  []*changeSet
	eventSeq    int64
}

// NewCloudFormation returns a fake with no stacks.
func NewCloudFormation(optFns ...func(*Options)) *CloudFormation {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Region == "" {
		o.Region = fakecore.DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = fakecore.DefaultAccountID
	}
	if o.EventsPageSize <= 0 {
		o.EventsPageSize = 100
	}
	if o.ChangesPageSize <= 0 {
		o.ChangesPageSize = 100
	}
	return &CloudFormation{
		CallLog:     fakecore.NewCallLog(o.MaxCalls),
		opts:        o,
		throttle:    o.Throttle,
		buckets:     map[[2]string]*fakecore.TokenBucket{},
		script:      o.Script.clone(),
		stackScript: map[string]Script{},
	}
}

// SetThrottle limits every account and region (CloudFormation's quotas are
// per account and region) to a token bucket of ratePerSecond requests with
// burst, across all actions, refilled against Options.Now; calls over it get
// 400 Throttling "Rate exceeded". A rate <= 0 with burst <= 0 turns it off.
func (c *CloudFormation) SetThrottle(ratePerSecond float64, burst int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.throttle = Throttle{Rate: ratePerSecond, Burst: burst}
	c.buckets = map[[2]string]*fakecore.TokenBucket{}
}

// throttled takes a token from the caller's bucket and reports whether there
// was none.
func (c *CloudFormation) throttled(account, region string) bool {
	c.mu.Lock()
	th := c.throttle
	if th.Rate <= 0 && th.Burst <= 0 {
		c.mu.Unlock()
		return false
	}
	now := c.opts.Now()
	key := [2]string{account, region}
	b := c.buckets[key]
	if b == nil {
		b = fakecore.NewTokenBucket(th.Rate, th.Burst, now)
		c.buckets[key] = b
	}
	c.mu.Unlock()
	return !b.Take(now)
}

// SetScript replaces the global script, used by stacks without their own.
func (c *CloudFormation) SetScript(s Script) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.script = s.clone()
}

// SetStackScript gives the stack named name its own script, replacing the
// global one for it entirely.
func (c *CloudFormation) SetStackScript(name string, s Script) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stackScript[name] = s.clone()
}

// FailResource makes logicalID fail with reason in later operations of every
// stack that uses the global script.
func (c *CloudFormation) FailResource(logicalID, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.script.FailResources == nil {
		c.script.FailResources = map[string]string{}
	}
	c.script.FailResources[logicalID] = reason
}

func (c *CloudFormation) scriptFor(stackName string) Script {
	if s, ok := c.stackScript[stackName]; ok {
		return s.clone()
	}
	return c.script.clone()
}

// InjectFault queues f for the next calls of action (or [fakecore.AnyAction]).
func (c *CloudFormation) InjectFault(action string, f fakecore.Fault) {
	c.faults.Inject(action, f)
}

// Throttle answers the next times calls of action with 400 Throttling "Rate exceeded".
func (c *CloudFormation) Throttle(action string, times int) {
	c.InjectFault(action, fakecore.Fault{Times: times, Code: "Throttling"})
}

// ClearFaults drops every queued fault.
func (c *CloudFormation) ClearFaults() { c.faults.Clear() }

// apiError is an AWS error answer.
type apiError = fakecore.APIError

func validationError(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "ValidationError", Message: fmt.Sprintf(format, args...)}
}

// request is one call's decoded context.
type request struct {
	form    url.Values
	caller  string
	account string
	region  string
	now     time.Time
}

var scopeRegion = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/`)

// callerOf reads the router's headers, falling back to the anonymous caller.
func (c *CloudFormation) callerOf(r *http.Request) (arn, account, region string) {
	arn = r.Header.Get(fakecore.HeaderCallerARN)
	if arn == "" {
		arn = AnonymousCaller
	}
	account = r.Header.Get(fakecore.HeaderAccount)
	if account == "" {
		if parts := strings.Split(arn, ":"); len(parts) > 4 && parts[4] != "" {
			account = parts[4]
		} else {
			account = c.opts.AccountID
		}
	}
	region = c.opts.Region
	if m := scopeRegion.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		region = m[1]
	}
	return arn, account, region
}

// ServeHTTP answers one query-protocol call.
func (c *CloudFormation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &fakecore.StatusRecorder{ResponseWriter: w}
	if err := r.ParseForm(); err != nil {
		writeError(rw, &apiError{Status: http.StatusBadRequest, Code: "MalformedQueryString", Message: err.Error()})
		return
	}
	action := r.Form.Get("Action")
	caller, account, region := c.callerOf(r)
	rec := c.Record(fakecore.Call{Service: "cloudformation", Action: action, Method: r.Method, Params: r.Form,
		CallerARN: caller, Account: account, Time: c.opts.Now()})
	defer func() { rec.Finish(rw.Status, rw.ErrorCode) }()

	if f, ok := c.faults.Next(action); ok && f.Serve(rw, r, nil, writeError) {
		return
	}
	if c.throttled(account, region) {
		writeError(rw, fakecore.ThrottlingError())
		return
	}

	c.mu.Lock()
	req := &request{form: r.Form, caller: caller, account: account, region: region, now: c.opts.Now()}
	c.advance(req.now)
	result, err := c.dispatch(action, req)
	c.mu.Unlock()

	var apiErr *apiError
	if err != nil {
		if !errors.As(err, &apiErr) {
			apiErr = &apiError{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
		}
		writeError(rw, apiErr)
		return
	}
	writeResult(rw, action, result)
}

// dispatch runs one action with c.mu held.
func (c *CloudFormation) dispatch(action string, req *request) (any, error) {
	switch action {
	case "DescribeStacks":
		return c.describeStacks(req)
	case "CreateChangeSet":
		return c.createChangeSet(req)
	case "DescribeChangeSet":
		return c.describeChangeSet(req)
	case "ExecuteChangeSet":
		return c.executeChangeSet(req)
	case "DeleteChangeSet":
		return c.deleteChangeSet(req)
	case "ListChangeSets":
		return c.listChangeSets(req)
	case "DeleteStack":
		return c.deleteStack(req)
	case "DescribeStackEvents":
		return c.describeStackEvents(req)
	case "GetTemplateSummary":
		return c.getTemplateSummary(req)
	case "ValidateTemplate":
		return c.validateTemplate(req)
	case "UpdateTerminationProtection":
		return c.updateTerminationProtection(req)
	case "CreateStack", "UpdateStack":
		// Deploys must go through change sets; a direct call is a test failure.
		return nil, validationError("fakecfn: %s is not supported; deploy through a change set", action)
	case "":
		return nil, &apiError{Status: http.StatusBadRequest, Code: "MissingAction", Message: "The request must contain the parameter Action."}
	}
	return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidAction", Message: fmt.Sprintf("Could not find operation %s for version 2010-05-15", action)}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
