package fault

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

func TestError(t *testing.T) {
	t.Parallel()
	api := &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"what_cause_fix", New("assuming role r", api, "trust the user"), "assuming role r: api error AccessDenied: no. To fix: trust the user"},
		{"no_fix", New("x", errors.New("y"), ""), "x: y"},
		{"no_what", New("", errors.New("y"), "z"), "y. To fix: z"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if New("x", nil, "y") != nil {
		t.Error("New with a nil cause is not nil")
	}
	err := New("a", New("b", api, "inner"), "outer")
	if Code(err) != "AccessDenied" || Message(err) != "no" || FixOf(err) != "outer" {
		t.Errorf("Code %q Message %q Fix %q", Code(err), Message(err), FixOf(err))
	}
	if Code(errors.New("plain")) != "" || Message(errors.New("plain")) != "plain" {
		t.Error("plain errors")
	}
}

func TestSleep_stops_with_the_context(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep = %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v", err)
	}
}
