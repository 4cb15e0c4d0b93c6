// Package fakecfn is a wire-level fake of AWS CloudFormation (query protocol,
// version 2010-05-15) and of the few S3 object calls a deploy needs.
//
// The unmodified aws-sdk-go-v2 clients and the real AWS CLI work against it.
// Stacks move through CloudFormation's states on a scripted timeline that is
// evaluated lazily against an injectable clock ([Options.Now]), so tests can
// step time instead of sleeping. Every call is recorded for assertions.
//
// The handlers are plain [http.Handler]s: mount them on the fakeaws router,
// which verifies SigV4 and passes the caller in [HeaderCallerARN], or serve
// them directly with httptest, where every caller is [AnonymousCaller].
package fakecfn

import (
	"context"
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
)

// Header names set by the fakeaws router on requests it forwards.
const (
	HeaderCallerARN = "X-Fakeaws-Caller-Arn"
	HeaderAccount   = "X-Fakeaws-Account"
)

// Defaults used when [Options] or the request leaves them out.
const (
	AnonymousCaller  = "arn:aws:iam::123456789012:user/anonymous"
	DefaultAccountID = "123456789012"
	DefaultRegion    = "us-east-1"
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

// Fault changes how the next matching calls are answered.
type Fault struct {
	// Times is how many of the next matching calls get the fault (0 means 1).
	Times int
	// Status defaults to 400, or 500 for codes like InternalFailure.
	Status int
	// Code and Message make the answer an AWS error. Without a Code the call
	// is only delayed and then served normally.
	Code    string
	Message string
	// Delay waits (in real time) before answering, or until the client gives up.
	Delay time.Duration
}

// AnyAction makes a fault apply to whichever call comes next.
const AnyAction = "*"

// Call is one recorded request.
type Call struct {
	Action    string
	Params    url.Values
	CallerARN string
	Account   string
	Time      time.Time
	// ErrorCode is the AWS error code the call was answered with, or "".
	ErrorCode string
}

// Param returns the first value of a form parameter.
func (c Call) Param(key string) string { return c.Params.Get(key) }

// CloudFormation is the fake service; it is an [http.Handler].
type CloudFormation struct {
	opts Options

	mu          sync.Mutex
	calls       []Call
	faults      map[string][]*Fault
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
		o.Region = DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.EventsPageSize <= 0 {
		o.EventsPageSize = 100
	}
	if o.ChangesPageSize <= 0 {
		o.ChangesPageSize = 100
	}
	return &CloudFormation{
		opts:        o,
		faults:      map[string][]*Fault{},
		script:      o.Script.clone(),
		stackScript: map[string]Script{},
	}
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

// InjectFault queues f for the next calls of action (or [AnyAction]).
func (c *CloudFormation) InjectFault(action string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Status == 0 {
		f.Status = http.StatusBadRequest
		if f.Code == "InternalFailure" || f.Code == "ServiceUnavailable" || f.Code == "InternalError" {
			f.Status = http.StatusInternalServerError
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults[action] = append(c.faults[action], &f)
}

// Throttle answers the next times calls of action with 400 Throttling "Rate exceeded".
func (c *CloudFormation) Throttle(action string, times int) {
	c.InjectFault(action, Fault{Times: times, Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"})
}

// ClearFaults drops every queued fault.
func (c *CloudFormation) ClearFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = map[string][]*Fault{}
}

func (c *CloudFormation) nextFault(action string) *Fault {
	for _, key := range []string{action, AnyAction} {
		q := c.faults[key]
		if len(q) == 0 {
			continue
		}
		f := *q[0]
		q[0].Times--
		if q[0].Times <= 0 {
			c.faults[key] = q[1:]
		}
		return &f
	}
	return nil
}

// Calls returns every recorded call, oldest first.
func (c *CloudFormation) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Call, len(c.calls))
	for i, call := range c.calls {
		out[i] = call
		out[i].Params = cloneValues(call.Params)
	}
	return out
}

// CallsTo returns the recorded calls of one action, oldest first.
func (c *CloudFormation) CallsTo(action string) []Call {
	var out []Call
	for _, call := range c.Calls() {
		if call.Action == action {
			out = append(out, call)
		}
	}
	return out
}

// CallCount counts the recorded calls of action (all calls for "").
func (c *CloudFormation) CallCount(action string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, call := range c.calls {
		if action == "" || call.Action == action {
			n++
		}
	}
	return n
}

// ResetCalls forgets the recorded calls.
func (c *CloudFormation) ResetCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// apiError is an AWS error answer.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

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
	arn = r.Header.Get(HeaderCallerARN)
	if arn == "" {
		arn = AnonymousCaller
	}
	account = r.Header.Get(HeaderAccount)
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
	if err := r.ParseForm(); err != nil {
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "MalformedQueryString", Message: err.Error()})
		return
	}
	action := r.Form.Get("Action")
	caller, account, region := c.callerOf(r)

	c.mu.Lock()
	idx := len(c.calls)
	c.calls = append(c.calls, Call{Action: action, Params: cloneValues(r.Form), CallerARN: caller, Account: account, Time: c.opts.Now()})
	fault := c.nextFault(action)
	c.mu.Unlock()

	if fault != nil {
		if fault.Delay > 0 && !sleepCtx(r.Context(), fault.Delay) {
			c.setCallError(idx, "RequestCanceled")
			return
		}
		if fault.Code != "" {
			c.setCallError(idx, fault.Code)
			writeError(w, &apiError{Status: fault.Status, Code: fault.Code, Message: fault.Message})
			return
		}
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
		c.setCallError(idx, apiErr.Code)
		writeError(w, apiErr)
		return
	}
	writeResult(w, action, result)
}

func (c *CloudFormation) setCallError(idx int, code string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[idx].ErrorCode = code
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
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
