package cfn

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// maxEventPages bounds one fetch of events; 100 events a page.
const maxEventPages = 20

// eventLookback is how far before the newest printed event a fetch still
// looks: events can show up in listings a moment after later ones, and
// deduplication by EventId makes re-reading them harmless.
const eventLookback = 5 * time.Second

// eventStream prints each new stack event of one operation exactly once, in
// chronological order. Events are deduplicated by EventId, because several
// events often share a timestamp (CFN-GHA #195 lost such events when it
// filtered by time).
type eventStream struct {
	api     API
	stackID string
	// since is the operation start on AWS's clock; older events belong to
	// earlier operations.
	since  time.Time
	seen   map[string]bool
	newest time.Time
	// events holds the events of this operation, oldest first.
	events []types.StackEvent
	print  func(types.StackEvent)
	// broken stops streaming after a non-transient error (for example a
	// deploy role without cloudformation:DescribeStackEvents).
	broken bool
	// stackStatus is the status of the newest event of the stack itself.
	stackStatus string
}

// stackSettled reports whether the stack's own events say its operation
// ended, so the status poll can be skipped until they do.
func (s *eventStream) stackSettled() bool {
	return s.stackStatus != "" && !strings.HasSuffix(s.stackStatus, "_IN_PROGRESS")
}

func newEventStream(api API, stackID string, since time.Time, print func(types.StackEvent)) *eventStream {
	return &eventStream{api: api, stackID: stackID, since: since, seen: map[string]bool{}, print: print}
}

// poll fetches the events not printed yet, paging until it reaches an event
// older than the operation start or than eventLookback before the newest
// one printed, and prints them oldest first. It reads past events it has
// seen, because events with equal timestamps may come in any order.
func (s *eventStream) poll(ctx context.Context) error {
	if s.broken {
		return nil
	}
	var fresh []types.StackEvent
	pending := map[string]bool{}
	var token *string
	for page := 0; page < maxEventPages; page++ {
		out, err := s.api.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(s.stackID), NextToken: token})
		if err != nil {
			return err
		}
		done := false
		for _, ev := range out.StackEvents {
			ts := aws.ToTime(ev.Timestamp)
			if ts.Before(s.since) || (!s.newest.IsZero() && ts.Before(s.newest.Add(-eventLookback))) {
				done = true
				continue
			}
			if id := aws.ToString(ev.EventId); !s.seen[id] && !pending[id] {
				pending[id] = true
				fresh = append(fresh, ev)
			}
		}
		if done || out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	// The API lists newest first; a stable sort by time after reversing
	// keeps the API's order among equal timestamps.
	slices.Reverse(fresh)
	slices.SortStableFunc(fresh, func(a, b types.StackEvent) int {
		return aws.ToTime(a.Timestamp).Compare(aws.ToTime(b.Timestamp))
	})
	for _, ev := range fresh {
		s.seen[aws.ToString(ev.EventId)] = true
		if ts := aws.ToTime(ev.Timestamp); ts.After(s.newest) {
			s.newest = ts
		}
		s.events = append(s.events, ev)
		if aws.ToString(ev.ResourceType) == "AWS::CloudFormation::Stack" && aws.ToString(ev.PhysicalResourceId) == s.stackID {
			s.stackStatus = string(ev.ResourceStatus)
		}
		s.print(ev)
	}
	return nil
}

// formatEvent renders one event as a log line: time, status, type, logical
// id and reason; AWS text is made safe.
func formatEvent(ev types.StackEvent) string {
	line := fmt.Sprintf("%s  %-40s %-36s %s",
		aws.ToTime(ev.Timestamp).UTC().Format("15:04:05"),
		string(ev.ResourceStatus),
		aws.ToString(ev.ResourceType),
		aws.ToString(ev.LogicalResourceId))
	if r := aws.ToString(ev.ResourceStatusReason); r != "" {
		line += "  " + r
	}
	return line
}

// Failure is one failed resource event, reported as the root cause.
type Failure struct {
	Time         time.Time
	LogicalID    string
	ResourceType string
	Status       string
	Reason       string
	// StackID is set for failures inside a nested stack.
	StackID string
}

// String renders the failure for logs and errors; AWS text is made safe.
func (f Failure) String() string {
	s := fmt.Sprintf("%s (%s) %s: %s", f.LogicalID, f.ResourceType, f.Status, f.Reason)
	if f.StackID != "" {
		s = "in nested stack " + f.StackID + ": " + s
	}
	return s
}

// maxFailures bounds the root-cause list; the first failures matter most.
const maxFailures = 5

// maxNestedDepth bounds how deep nested stacks are followed.
const maxNestedDepth = 3

// isCancelledReason reports CloudFormation's generic reasons for resources
// it stopped because another one failed; they hide the real cause.
func isCancelledReason(reason string) bool {
	r := strings.ToLower(reason)
	return strings.Contains(r, "resource creation cancelled") || strings.Contains(r, "resource update cancelled") ||
		strings.Contains(r, "resource deletion cancelled") || r == ""
}

// failures picks the failed resource events of one stack, oldest first,
// without the stack's own status events and, when a real reason exists,
// without the generic "cancelled" ones.
func failures(events []types.StackEvent, stackID string) []types.StackEvent {
	var real, generic []types.StackEvent
	for _, ev := range events {
		if !strings.HasSuffix(string(ev.ResourceStatus), "_FAILED") || aws.ToString(ev.PhysicalResourceId) == stackID {
			continue
		}
		if isCancelledReason(aws.ToString(ev.ResourceStatusReason)) {
			generic = append(generic, ev)
		} else {
			real = append(real, ev)
		}
	}
	if len(real) > 0 {
		return real
	}
	return generic
}

// rootCause lists the failures of the operation, following failed nested
// stacks (AWS::CloudFormation::Stack with a stack ARN as physical id) to
// their own failed events, which carry the real reason.
func rootCause(ctx context.Context, api API, events []types.StackEvent, stackID string, since time.Time, depth int) []Failure {
	var out []Failure
	for _, ev := range failures(events, stackID) {
		if len(out) >= maxFailures {
			break
		}
		f := Failure{
			Time:         aws.ToTime(ev.Timestamp),
			LogicalID:    aws.ToString(ev.LogicalResourceId),
			ResourceType: aws.ToString(ev.ResourceType),
			Status:       string(ev.ResourceStatus),
			Reason:       aws.ToString(ev.ResourceStatusReason),
		}
		if depth > 0 {
			f.StackID = stackID
		}
		out = append(out, f)
		nested := aws.ToString(ev.PhysicalResourceId)
		if f.ResourceType != "AWS::CloudFormation::Stack" || !strings.HasPrefix(nested, "arn:") || depth+1 >= maxNestedDepth {
			continue
		}
		s := newEventStream(api, nested, since, func(types.StackEvent) {})
		if s.poll(ctx) != nil {
			continue // the nested stack may be gone; its parent event remains
		}
		out = append(out, rootCause(ctx, api, s.events, nested, since, depth+1)...)
	}
	return out
}
