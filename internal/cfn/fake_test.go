package cfn

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is the injected clock: Sleep advances it instantly.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	sleeps  []time.Duration
	onSleep func(n int) // called after each sleep with the count so far
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	n, hook := len(c.sleeps), c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return ctx.Err()
}

// fakeLog records log lines as "level: text".
type fakeLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *fakeLog) add(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, args...))
}
func (l *fakeLog) Infof(f string, a ...any)    { l.add("info", f, a...) }
func (l *fakeLog) Debugf(f string, a ...any)   { l.add("debug", f, a...) }
func (l *fakeLog) Warningf(f string, a ...any) { l.add("warning", f, a...) }
func (l *fakeLog) Mask(secret string)          { l.add("mask", "%s", secret) }
func (l *fakeLog) Group(title string) func() {
	l.add("group", "%s", title)
	return func() { l.add("endgroup", "") }
}

func (l *fakeLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// scriptedEvent is a resource event at an offset from the operation start.
type scriptedEvent struct {
	at       time.Duration
	logical  string
	typ      string
	status   types.ResourceStatus
	reason   string
	physical string
	// lag delays when the event shows up in listings (eventual
	// consistency), so equal timestamps can arrive in different polls.
	lag time.Duration
}

// stackOp scripts what ExecuteChangeSet does.
type stackOp struct {
	duration time.Duration
	final    types.StackStatus
	reason   string
	events   []scriptedEvent
	outputs  []types.Output
}

type fakeStack struct {
	id, name    string
	status      types.StackStatus
	reason      string
	params      []types.Parameter
	outputs     []types.Output
	protected   bool
	lastUpdated time.Time
	events      []types.StackEvent   // oldest first, may lie in the future
	visibleAt   map[string]time.Time // event id -> when it shows up, if lagging
	// pending transition
	until      time.Time
	next       types.StackStatus
	nextReason string
	nextOut    []types.Output
	// removeAt drops the stack's name once its deletion completes.
	removeAt time.Time
}

type fakeChangeSet struct {
	id, name, stackID string
	typ               types.ChangeSetType
	created, readyAt  time.Time
	failReason        string
	params            []types.Parameter
	deletedAt         time.Time
	executed          bool
	// obsolete marks a change set made stale by a later update.
	obsolete bool
}

// call is one recorded API call.
type call struct {
	op string
	in any
}

// fakeCFN is an in-memory CloudFormation whose timings and outcomes a test
// scripts; it implements API and Uploader and records every call.
type fakeCFN struct {
	mu     sync.Mutex
	clock  *fakeClock
	stacks map[string]*fakeStack // by id
	byName map[string]string
	sets   map[string]*fakeChangeSet
	calls  []call
	seq    int

	csDelay     time.Duration
	csReason    string // non-empty: the change set fails with it
	csChanges   []types.Change
	exec        stackOp
	deleteDelay time.Duration
	throttle    map[string][]int // op -> the call numbers (1-based) that get Throttling
	count       map[string]int
	fail        map[string]error
	pageSize    int
	// summary answers GetTemplateSummary; nil answers an error.
	summary *cloudformation.GetTemplateSummaryOutput
	// nested are the changes of nested change sets, by change set id.
	nested map[string][]types.Change
}

func newFake(clock *fakeClock) *fakeCFN {
	return &fakeCFN{
		clock: clock, stacks: map[string]*fakeStack{}, byName: map[string]string{}, sets: map[string]*fakeChangeSet{},
		csDelay: 3 * time.Second, deleteDelay: 5 * time.Second, throttle: map[string][]int{}, count: map[string]int{}, fail: map[string]error{}, pageSize: 100,
		exec: stackOp{duration: 20 * time.Second},
	}
}

func apiErr(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient}
}

// addStack puts an existing stack in place, with one old event.
func (f *fakeCFN) addStack(name string, status types.StackStatus, params ...types.Parameter) *fakeStack {
	f.seq++
	st := &fakeStack{
		id: fmt.Sprintf("arn:aws:cloudformation:eu-west-1:123456789012:stack/%s/%04d", name, f.seq), name: name,
		status: status, params: params, lastUpdated: t0.Add(-time.Hour),
	}
	st.events = append(st.events, f.event(st, t0.Add(-time.Hour), name, "AWS::CloudFormation::Stack", types.ResourceStatus(status), "", st.id))
	f.stacks[st.id], f.byName[name] = st, st.id
	return st
}

func (f *fakeCFN) event(st *fakeStack, at time.Time, logical, typ string, status types.ResourceStatus, reason, physical string) types.StackEvent {
	f.seq++
	return types.StackEvent{
		EventId: aws.String(fmt.Sprintf("ev-%04d", f.seq)), StackId: aws.String(st.id), StackName: aws.String(st.name),
		Timestamp: aws.Time(at), LogicalResourceId: aws.String(logical), ResourceType: aws.String(typ),
		ResourceStatus: status, ResourceStatusReason: aws.String(reason), PhysicalResourceId: aws.String(physical),
	}
}

// begin records the call, advances the state machine and returns a
// scripted error.
func (f *fakeCFN) begin(op string, in any) error {
	f.calls = append(f.calls, call{op, in})
	now := f.clock.Now()
	for _, st := range f.stacks {
		if !st.until.IsZero() && !now.Before(st.until) {
			st.status, st.reason, st.until = st.next, st.nextReason, time.Time{}
			if st.nextOut != nil {
				st.outputs = st.nextOut
			}
		}
		if !st.removeAt.IsZero() && !now.Before(st.removeAt) && f.byName[st.name] == st.id {
			delete(f.byName, st.name)
		}
	}
	f.count[op]++
	if slices.Contains(f.throttle[op], f.count[op]) {
		return apiErr("Throttling", "Rate exceeded")
	}
	return f.fail[op]
}

func (f *fakeCFN) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.op)
	}
	return out
}

// inputs returns the recorded inputs of one operation.
func inputs[T any](f *fakeCFN, op string) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []T
	for _, c := range f.calls {
		if c.op == op {
			out = append(out, c.in.(T))
		}
	}
	return out
}

func (f *fakeCFN) lookup(nameOrID string) *fakeStack {
	if st, ok := f.stacks[nameOrID]; ok {
		return st
	}
	if id, ok := f.byName[nameOrID]; ok {
		return f.stacks[id]
	}
	return nil
}

func (f *fakeCFN) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("DescribeStacks", in); err != nil {
		return nil, err
	}
	st := f.lookup(aws.ToString(in.StackName))
	if st == nil {
		return nil, apiErr("ValidationError", "Stack with id "+aws.ToString(in.StackName)+" does not exist")
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []types.Stack{{
		StackId: aws.String(st.id), StackName: aws.String(st.name), StackStatus: st.status,
		StackStatusReason: aws.String(st.reason), Parameters: st.params, Outputs: st.outputs,
		EnableTerminationProtection: aws.Bool(st.protected), LastUpdatedTime: aws.Time(st.lastUpdated),
	}}}, nil
}

func (f *fakeCFN) CreateChangeSet(_ context.Context, in *cloudformation.CreateChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("CreateChangeSet", in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.StackName)
	st := f.lookup(name)
	now := f.clock.Now()
	switch {
	case in.ChangeSetType == types.ChangeSetTypeCreate && st != nil && st.status != types.StackStatusReviewInProgress:
		return nil, apiErr("AlreadyExistsException", "Stack ["+name+"] already exists")
	case in.ChangeSetType == types.ChangeSetTypeCreate && st == nil:
		st = f.addStack(name, types.StackStatusReviewInProgress)
		st.events = []types.StackEvent{f.event(st, now, name, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS", "User Initiated", st.id)}
	case in.ChangeSetType != types.ChangeSetTypeCreate && st == nil:
		return nil, apiErr("ValidationError", "Stack ["+name+"] does not exist")
	}
	for _, other := range f.sets {
		if _, err := f.changeSet(other.id); err == nil && other.stackID == st.id && other.name == aws.ToString(in.ChangeSetName) {
			return nil, apiErr("AlreadyExistsException", "ChangeSet ["+other.name+"] already exists")
		}
	}
	f.seq++
	cs := &fakeChangeSet{
		id:   fmt.Sprintf("arn:aws:cloudformation:eu-west-1:123456789012:changeSet/%s/%04d", aws.ToString(in.ChangeSetName), f.seq),
		name: aws.ToString(in.ChangeSetName), stackID: st.id, typ: in.ChangeSetType,
		created: now, readyAt: now.Add(f.csDelay), failReason: f.csReason, params: in.Parameters,
	}
	f.sets[cs.id] = cs
	return &cloudformation.CreateChangeSetOutput{Id: aws.String(cs.id), StackId: aws.String(st.id)}, nil
}

func (f *fakeCFN) changeSet(id string, stack ...string) (*fakeChangeSet, error) {
	cs, ok := f.sets[id]
	if !ok && len(stack) > 0 {
		// A name: the newest change set of that name of the stack.
		st := f.lookup(stack[0])
		for _, c := range f.sets {
			if st != nil && c.name == id && c.stackID == st.id && (cs == nil || c.created.After(cs.created)) {
				cs, ok = c, true
			}
		}
	}
	if !ok || !cs.deletedAt.IsZero() && !f.clock.Now().Before(cs.deletedAt) {
		return nil, &types.ChangeSetNotFoundException{Message: aws.String("ChangeSet [" + id + "] does not exist")}
	}
	return cs, nil
}

func (f *fakeCFN) DescribeChangeSet(_ context.Context, in *cloudformation.DescribeChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("DescribeChangeSet", in); err != nil {
		return nil, err
	}
	cs, err := f.changeSet(aws.ToString(in.ChangeSetName), aws.ToString(in.StackName))
	if err != nil {
		return nil, err
	}
	st := f.stacks[cs.stackID]
	out := &cloudformation.DescribeChangeSetOutput{
		ChangeSetId: aws.String(cs.id), ChangeSetName: aws.String(cs.name), StackId: aws.String(cs.stackID), StackName: aws.String(st.name),
		CreationTime: aws.Time(cs.created), Status: types.ChangeSetStatusCreateInProgress, ExecutionStatus: types.ExecutionStatusUnavailable,
		Parameters: f.shownParams(cs.params),
	}
	if in.StackName != nil && !strings.HasPrefix(aws.ToString(in.ChangeSetName), "arn:") && aws.ToString(in.StackName) != st.name && aws.ToString(in.StackName) != st.id {
		return nil, &types.ChangeSetNotFoundException{Message: aws.String("ChangeSet [" + cs.name + "] does not exist")}
	}
	switch now := f.clock.Now(); {
	case !cs.deletedAt.IsZero():
		out.Status = types.ChangeSetStatusDeletePending
	case now.Before(cs.readyAt):
	case cs.failReason != "":
		out.Status, out.StatusReason = types.ChangeSetStatusFailed, aws.String(cs.failReason)
	default:
		out.Status, out.ExecutionStatus = types.ChangeSetStatusCreateComplete, types.ExecutionStatusAvailable
		switch {
		case cs.executed:
			out.ExecutionStatus = types.ExecutionStatusExecuteComplete
		case cs.obsolete:
			out.ExecutionStatus = types.ExecutionStatusObsolete
		}
		changes := f.csChanges
		if n, ok := f.nested[cs.id]; ok {
			changes = n
		}
		start, _ := strconv.Atoi(aws.ToString(in.NextToken))
		end := min(start+f.pageSize, len(changes))
		out.Changes = changes[start:end]
		if end < len(changes) {
			out.NextToken = aws.String(strconv.Itoa(end))
		}
	}
	if cs.failReason != "" && out.Status == types.ChangeSetStatusFailed {
		out.ExecutionStatus = types.ExecutionStatusUnavailable
	}
	return out, nil
}

// shownParams masks NoEcho values as AWS does: DBPassword is the test
// template's NoEcho parameter.
func (f *fakeCFN) shownParams(ps []types.Parameter) []types.Parameter {
	var out []types.Parameter
	for _, p := range ps {
		if aws.ToString(p.ParameterKey) == "DBPassword" {
			p.ParameterValue = aws.String("****")
		}
		out = append(out, p)
	}
	return out
}

// addChangeSet puts a computed change set in place, as a create-only run
// would have left it.
func (f *fakeCFN) addChangeSet(st *fakeStack, name string, typ types.ChangeSetType) *fakeChangeSet {
	f.seq++
	cs := &fakeChangeSet{
		id:   fmt.Sprintf("arn:aws:cloudformation:eu-west-1:123456789012:changeSet/%s/%04d", name, f.seq),
		name: name, stackID: st.id, typ: typ, created: f.clock.Now().Add(-time.Hour), readyAt: f.clock.Now().Add(-time.Hour),
	}
	f.sets[cs.id] = cs
	return cs
}

func (f *fakeCFN) GetTemplateSummary(_ context.Context, in *cloudformation.GetTemplateSummaryInput, _ ...func(*cloudformation.Options)) (*cloudformation.GetTemplateSummaryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("GetTemplateSummary", in); err != nil {
		return nil, err
	}
	if f.summary == nil {
		return nil, apiErr("AccessDenied", "not authorized to perform: cloudformation:GetTemplateSummary")
	}
	return f.summary, nil
}

func (f *fakeCFN) ExecuteChangeSet(_ context.Context, in *cloudformation.ExecuteChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ExecuteChangeSet", in); err != nil {
		return nil, err
	}
	cs, err := f.changeSet(aws.ToString(in.ChangeSetName), aws.ToString(in.StackName))
	if err != nil {
		return nil, err
	}
	now := f.clock.Now()
	if cs.executed || cs.obsolete || now.Before(cs.readyAt) || cs.failReason != "" {
		return nil, apiErr("InvalidChangeSetStatus", "ChangeSet ["+cs.id+"] cannot be executed in its current status")
	}
	cs.executed = true
	st := f.stacks[cs.stackID]
	st.status, st.lastUpdated = types.StackStatusUpdateInProgress, now
	final := f.exec.final
	if final == "" {
		final = types.StackStatusUpdateComplete
	}
	if cs.typ == types.ChangeSetTypeCreate {
		st.status = types.StackStatusCreateInProgress
		if f.exec.final == "" {
			final = types.StackStatusCreateComplete
		}
	}
	st.params = cs.params
	st.until, st.next, st.nextReason, st.nextOut = now.Add(f.exec.duration), final, f.exec.reason, f.exec.outputs
	st.events = append(st.events, f.event(st, now, st.name, "AWS::CloudFormation::Stack", types.ResourceStatus(st.status), "User Initiated", st.id))
	for _, e := range f.exec.events {
		ev := f.event(st, now.Add(e.at), e.logical, e.typ, e.status, e.reason, e.physical)
		if e.lag > 0 {
			if st.visibleAt == nil {
				st.visibleAt = map[string]time.Time{}
			}
			st.visibleAt[aws.ToString(ev.EventId)] = now.Add(e.at + e.lag)
		}
		st.events = append(st.events, ev)
	}
	st.events = append(st.events, f.event(st, st.until, st.name, "AWS::CloudFormation::Stack", types.ResourceStatus(final), f.exec.reason, st.id))
	return &cloudformation.ExecuteChangeSetOutput{}, nil
}

func (f *fakeCFN) DeleteChangeSet(_ context.Context, in *cloudformation.DeleteChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("DeleteChangeSet", in); err != nil {
		return nil, err
	}
	cs, err := f.changeSet(aws.ToString(in.ChangeSetName))
	if err != nil {
		return nil, err
	}
	if cs.deletedAt.IsZero() {
		cs.deletedAt = f.clock.Now().Add(700 * time.Millisecond)
	}
	return &cloudformation.DeleteChangeSetOutput{}, nil
}

// ListChangeSets lists the stack's change sets not yet gone, oldest first,
// pageSize a page.
func (f *fakeCFN) ListChangeSets(_ context.Context, in *cloudformation.ListChangeSetsInput, _ ...func(*cloudformation.Options)) (*cloudformation.ListChangeSetsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ListChangeSets", in); err != nil {
		return nil, err
	}
	st := f.lookup(aws.ToString(in.StackName))
	if st == nil {
		return nil, apiErr("ValidationError", "Stack ["+aws.ToString(in.StackName)+"] does not exist")
	}
	var all []types.ChangeSetSummary
	for _, cs := range f.sets {
		if cs.stackID != st.id {
			continue
		}
		if _, err := f.changeSet(cs.id); err != nil {
			continue
		}
		sum := types.ChangeSetSummary{ChangeSetId: aws.String(cs.id), ChangeSetName: aws.String(cs.name), StackId: aws.String(st.id),
			CreationTime: aws.Time(cs.created), Status: types.ChangeSetStatusCreateComplete, ExecutionStatus: types.ExecutionStatusAvailable}
		switch {
		case cs.executed:
			sum.ExecutionStatus = types.ExecutionStatusExecuteComplete
		case !cs.deletedAt.IsZero():
			sum.Status = types.ChangeSetStatusDeletePending
		}
		all = append(all, sum)
	}
	slices.SortFunc(all, func(a, b types.ChangeSetSummary) int {
		if c := aws.ToTime(a.CreationTime).Compare(aws.ToTime(b.CreationTime)); c != 0 {
			return c
		}
		return strings.Compare(aws.ToString(a.ChangeSetId), aws.ToString(b.ChangeSetId))
	})
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+f.pageSize, len(all))
	out := &cloudformation.ListChangeSetsOutput{Summaries: all[start:end]}
	if end < len(all) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeCFN) DeleteStack(_ context.Context, in *cloudformation.DeleteStackInput, _ ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("DeleteStack", in); err != nil {
		return nil, err
	}
	if st := f.lookup(aws.ToString(in.StackName)); st != nil && st.status != types.StackStatusDeleteComplete {
		now := f.clock.Now()
		st.status = types.StackStatusDeleteInProgress
		st.until, st.next, st.removeAt = now.Add(f.deleteDelay), types.StackStatusDeleteComplete, now.Add(f.deleteDelay)
	}
	return &cloudformation.DeleteStackOutput{}, nil
}

func (f *fakeCFN) DescribeStackEvents(_ context.Context, in *cloudformation.DescribeStackEventsInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("DescribeStackEvents", in); err != nil {
		return nil, err
	}
	st := f.lookup(aws.ToString(in.StackName))
	if st == nil {
		return nil, apiErr("ValidationError", "Stack ["+aws.ToString(in.StackName)+"] does not exist")
	}
	var visible []types.StackEvent
	now := f.clock.Now()
	for _, e := range st.events {
		at, lagging := st.visibleAt[aws.ToString(e.EventId)]
		if !lagging {
			at = aws.ToTime(e.Timestamp)
		}
		if !at.After(now) {
			visible = append(visible, e)
		}
	}
	slices.Reverse(visible)
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+f.pageSize, len(visible))
	out := &cloudformation.DescribeStackEventsOutput{StackEvents: visible[start:end]}
	if end < len(visible) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeCFN) UpdateTerminationProtection(_ context.Context, in *cloudformation.UpdateTerminationProtectionInput, _ ...func(*cloudformation.Options)) (*cloudformation.UpdateTerminationProtectionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("UpdateTerminationProtection", in); err != nil {
		return nil, err
	}
	st := f.lookup(aws.ToString(in.StackName))
	if st == nil {
		return nil, apiErr("ValidationError", "Stack does not exist")
	}
	st.protected = aws.ToBool(in.EnableTerminationProtection)
	return &cloudformation.UpdateTerminationProtectionOutput{StackId: aws.String(st.id)}, nil
}

// PutObject makes the fake an Uploader too; it keeps the uploaded body.
func (f *fakeCFN) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, _ := io.ReadAll(in.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("PutObject", upload{Bucket: aws.ToString(in.Bucket), Key: aws.ToString(in.Key), Size: len(body)}); err != nil {
		return nil, err
	}
	return &s3.PutObjectOutput{}, nil
}

// upload is the recorded form of a PutObject call.
type upload struct {
	Bucket, Key string
	Size        int
}
