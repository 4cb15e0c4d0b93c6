package fakecore

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCallLogBoundedWithExactCounts(t *testing.T) {
	t.Parallel()
	l := NewCallLog(3)
	var seen []string
	l.Observe(func(c Call) { seen = append(seen, c.Action) })
	for i, a := range []string{"A", "B", "A", "C", "A"} {
		e := l.Record(Call{Service: "svc", Action: a, Params: url.Values{"N": {string(rune('0' + i))}, "SessionToken": {"secret"}}})
		e.Finish(http.StatusOK, "")
	}
	l.Record(Call{Service: "other", Action: "A"}).Finish(http.StatusBadRequest, "Throttling")

	tests := []struct {
		name            string
		service, action string
		want            int
	}{
		{"all", "", "", 6},
		{"service", "svc", "", 5},
		{"action_across_services", "", "A", 4},
		{"service_and_action", "svc", "A", 3},
		{"any_action", "svc", AnyAction, 5},
		{"none", "svc", "Z", 0},
	}
	for _, tc := range tests {
		if got := l.Count(tc.service, tc.action); got != tc.want {
			t.Errorf("%s: Count(%q, %q) = %d, want %d", tc.name, tc.service, tc.action, got, tc.want)
		}
	}
	calls := l.Calls()
	var got []string
	for _, c := range calls {
		got = append(got, c.Action+c.Param("N"))
	}
	if diff := cmp.Diff([]string{"C3", "A4", "A"}, got); diff != "" {
		t.Errorf("kept calls (-want +got):\n%s", diff)
	}
	if calls[0].Param("SessionToken") != "REDACTED" {
		t.Errorf("secret parameter logged: %v", calls[0].Params)
	}
	if c := l.CallsTo("other", "A"); len(c) != 1 || c[0].ErrorCode != "Throttling" || c[0].Status != 400 {
		t.Errorf("CallsTo(other, A) = %+v", c)
	}
	if len(seen) != 6 {
		t.Errorf("observer saw %v, want 6 calls", seen)
	}
	calls[0].Params.Set("N", "changed")
	if l.Calls()[0].Param("N") != "3" {
		t.Error("Calls returned the log's own parameter map")
	}
	l.ResetCalls()
	if l.Count("", "") != 0 || len(l.Calls()) != 0 {
		t.Error("ResetCalls kept calls")
	}
}

func TestFaultsQueue(t *testing.T) {
	t.Parallel()
	var fs Faults
	fs.Inject("A", Fault{Times: 2, Code: "Throttling"})
	fs.Inject("A", Fault{Code: "InternalFailure"})
	fs.Inject(AnyAction, Fault{Code: "ServiceUnavailable"})
	var got []string
	for _, action := range []string{"A", "A", "A", "B", "A", "B"} {
		f, ok := fs.Next(action)
		if !ok {
			got = append(got, "-")
			continue
		}
		got = append(got, f.Code)
	}
	want := []string{"Throttling", "Throttling", "InternalFailure", "ServiceUnavailable", "-", "-"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("faults (-want +got):\n%s", diff)
	}
	fs.Inject("A", Fault{Code: "X"})
	fs.Clear()
	if _, ok := fs.Next("A"); ok {
		t.Error("Clear kept a fault")
	}
}

func TestFaultServe(t *testing.T) {
	t.Parallel()
	writeErr := func(w http.ResponseWriter, e *APIError) { WriteQueryError(w, e, "", "req-1") }
	tests := []struct {
		name       string
		fault      Fault
		handled    bool
		wantStatus int
		wantBody   string
		wantHeader string
	}{
		{name: "code_defaults", fault: Fault{Code: "Throttling"}, handled: true, wantStatus: 400, wantBody: "<Code>Throttling</Code><Message>Rate exceeded</Message>"},
		{name: "internal_failure_is_500", fault: Fault{Code: "InternalFailure"}, handled: true, wantStatus: 500, wantBody: "<Type>Receiver</Type>"},
		{name: "status_only", fault: Fault{Status: 502}, handled: true, wantStatus: 502, wantBody: "<Code>Bad Gateway</Code>"},
		{name: "body_and_header", fault: Fault{Status: 403, Body: `{"message":"x"}`, Header: http.Header{"Retry-After": {"60"}}},
			handled: true, wantStatus: 403, wantBody: `{"message":"x"}`, wantHeader: "60"},
		{name: "delay_only_serves_normally", fault: Fault{Delay: time.Millisecond}, handled: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			sr := &StatusRecorder{ResponseWriter: rec}
			handled := tc.fault.Serve(sr, httptest.NewRequest(http.MethodPost, "/", nil), nil, writeErr)
			if handled != tc.handled {
				t.Fatalf("handled = %v, want %v", handled, tc.handled)
			}
			if !handled {
				return
			}
			if rec.Code != tc.wantStatus || !strings.Contains(rec.Body.String(), tc.wantBody) || rec.Header().Get("Retry-After") != tc.wantHeader {
				t.Errorf("got %d %q (Retry-After %q)", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
			}
			if sr.Status != tc.wantStatus {
				t.Errorf("recorded status %d", sr.Status)
			}
		})
	}
}

func TestFaultResetDropsTheConnection(t *testing.T) {
	t.Parallel()
	srv, err := Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Fault{Reset: true}.Serve(w, r, nil, nil)
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		t.Fatalf("got %d, want a dropped connection", resp.StatusCode)
	}
}

func TestTokenBucket(t *testing.T) {
	t.Parallel()
	clk := NewClock(time.Unix(1700000000, 0))
	b := NewTokenBucket(2, 3, clk.Now())
	var got []bool
	for range 4 {
		got = append(got, b.Take(clk.Now()))
	}
	clk.Advance(500 * time.Millisecond) // one token back at 2/s
	got = append(got, b.Take(clk.Now()), b.Take(clk.Now()))
	clk.Advance(time.Hour) // refills to the burst, no further
	for range 4 {
		got = append(got, b.Take(clk.Now()))
	}
	want := []bool{true, true, true, false, true, false, true, true, true, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("takes (-want +got):\n%s", diff)
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "localhost:0", "[::1]:0", "nonsense"} {
		if ln, err := Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded; only 127.0.0.1 is allowed", addr)
		}
	}
	ln, err := Listen("")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
		t.Errorf("default address %s", ln.Addr())
	}
}

func TestNewAPIError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status        int
		code, message string
		want          APIError
	}{
		{0, "Throttling", "", APIError{400, "Throttling", "Rate exceeded"}},
		{0, "ServiceUnavailable", "", APIError{503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."}},
		{418, "Custom", "m", APIError{418, "Custom", "m"}},
		{0, "Unknown", "", APIError{400, "Unknown", ""}},
		{500, "", "", APIError{500, "Internal Server Error", ""}},
	}
	for _, tc := range tests {
		if got := NewAPIError(tc.status, tc.code, tc.message); *got != tc.want {
			t.Errorf("NewAPIError(%d, %q, %q) = %+v, want %+v", tc.status, tc.code, tc.message, *got, tc.want)
		}
	}
}
