package cfn

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/google/go-cmp/cmp"
)

// streamFixture is a stack with scripted events and a stream over it.
func streamFixture(pageSize int, evs ...scriptedEvent) (*fakeClock, *eventStream, *[]string) {
	c := newClock()
	f := newFake(c)
	f.pageSize = pageSize
	st := f.addStack("app", types.StackStatusUpdateInProgress)
	st.visibleAt = map[string]time.Time{}
	for _, e := range evs {
		ev := f.event(st, t0.Add(e.at), e.logical, e.typ, e.status, e.reason, e.physical)
		st.visibleAt[aws.ToString(ev.EventId)] = t0.Add(e.at + e.lag)
		st.events = append(st.events, ev)
	}
	var printed []string
	s := newEventStream(f, st.id, t0, func(ev types.StackEvent) {
		printed = append(printed, aws.ToString(ev.LogicalResourceId))
	})
	return c, s, &printed
}

func TestEventStream_late_event_printed_once(t *testing.T) {
	t.Parallel()
	// B carries the same timestamp as A but is listed 4 s later, after C
	// (newer) was already printed.
	c, s, printed := streamFixture(2,
		scriptedEvent{at: 1 * time.Second, logical: "A", status: "CREATE_IN_PROGRESS"},
		scriptedEvent{at: 1 * time.Second, logical: "B", status: "CREATE_IN_PROGRESS", lag: 4 * time.Second},
		scriptedEvent{at: 3 * time.Second, logical: "C", status: "CREATE_IN_PROGRESS"},
		scriptedEvent{at: 3 * time.Second, logical: "D", status: "CREATE_IN_PROGRESS"},
		scriptedEvent{at: 3 * time.Second, logical: "E", status: "CREATE_IN_PROGRESS"},
	)
	for range 8 {
		if err := s.poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		_ = c.Sleep(context.Background(), time.Second)
	}
	if diff := cmp.Diff([]string{"A", "C", "D", "E", "B"}, *printed); diff != "" {
		t.Errorf("printed (-want +got):\n%s", diff)
	}
}

func TestEventStream_skips_events_before_the_operation(t *testing.T) {
	t.Parallel()
	_, s, printed := streamFixture(1,
		scriptedEvent{at: -time.Minute, logical: "Old", status: "UPDATE_COMPLETE"},
		scriptedEvent{at: 0, logical: "New", status: "UPDATE_IN_PROGRESS"},
	)
	if err := s.poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"New"}, *printed); diff != "" {
		t.Errorf("printed (-want +got):\n%s", diff)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	ev := func(logical string, status types.ResourceStatus, reason, physical string) types.StackEvent {
		return types.StackEvent{LogicalResourceId: aws.String(logical), ResourceStatus: status, ResourceStatusReason: aws.String(reason), PhysicalResourceId: aws.String(physical)}
	}
	const stack = "arn:stack/app/1"
	for _, tc := range []struct {
		name   string
		events []types.StackEvent
		want   []string
	}{
		{
			name: "real_reason_beats_cancelled",
			events: []types.StackEvent{
				ev("Q", "CREATE_FAILED", "Resource creation cancelled", "q"),
				ev("B", "CREATE_FAILED", "Access Denied", "b"),
			},
			want: []string{"B"},
		},
		{
			name:   "only_cancelled_kept",
			events: []types.StackEvent{ev("Q", "CREATE_FAILED", "Resource creation cancelled", "q")},
			want:   []string{"Q"},
		},
		{
			name: "stack_status_events_skipped",
			events: []types.StackEvent{
				ev("app", "UPDATE_FAILED", "The following resource(s) failed", stack),
				ev("B", "UPDATE_FAILED", "Bad", "b"),
				ev("C", "UPDATE_COMPLETE", "", "c"),
			},
			want: []string{"B"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, e := range failures(tc.events, stack) {
				got = append(got, aws.ToString(e.LogicalResourceId))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
		})
	}
}

// pagedEvents serves fixed pages of events; only DescribeStackEvents works.
type pagedEvents struct {
	API
	pages [][]types.StackEvent
}

func (p pagedEvents) DescribeStackEvents(_ context.Context, in *cloudformation.DescribeStackEventsInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	i, _ := strconv.Atoi(aws.ToString(in.NextToken))
	out := &cloudformation.DescribeStackEventsOutput{StackEvents: p.pages[i]}
	if i+1 < len(p.pages) {
		out.NextToken = aws.String(strconv.Itoa(i + 1))
	}
	return out, nil
}

// BenchmarkEventStream measures one poll that pages through 1,000 new
// events (10 pages of 100, newest first, ten per timestamp), sorts and
// prints them.
func BenchmarkEventStream(b *testing.B) {
	api := pagedEvents{}
	for page := range 10 {
		var evs []types.StackEvent
		for j := range 100 {
			i := 999 - (page*100 + j)
			evs = append(evs, types.StackEvent{
				EventId: aws.String(fmt.Sprintf("ev-%04d", i)), Timestamp: aws.Time(t0.Add(time.Duration(i/10) * time.Second)),
				LogicalResourceId: aws.String(fmt.Sprintf("R%d", i)), ResourceType: aws.String("AWS::SNS::Topic"), ResourceStatus: "CREATE_COMPLETE",
			})
		}
		api.pages = append(api.pages, evs)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := newEventStream(api, "stack", t0, func(ev types.StackEvent) { _ = formatEvent(ev) })
		if err := s.poll(context.Background()); err != nil {
			b.Fatal(err)
		}
		if len(s.events) != 1000 {
			b.Fatalf("streamed %d events", len(s.events))
		}
	}
}

func TestEventStream_chronological(t *testing.T) {
	t.Parallel()
	_, s, _ := streamFixture(3,
		scriptedEvent{at: 2 * time.Second, logical: "X"},
		scriptedEvent{at: 1 * time.Second, logical: "Y"},
		scriptedEvent{at: 1 * time.Second, logical: "Z"},
	)
	if err := s.poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	for _, e := range s.events {
		got = append(got, aws.ToTime(e.Timestamp))
	}
	if !slices.IsSortedFunc(got, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Errorf("events not in time order: %v", got)
	}
}
