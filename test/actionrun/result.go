package actionrun

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Result is what one run left behind.
type Result struct {
	Code              int
	Stdout, Stderr    string
	EnvRaw, OutputRaw string
	// Env and Outputs are GITHUB_ENV and GITHUB_OUTPUT as the runner parses
	// them, earlier steps' pairs included; Job.Run fills them.
	Env, Outputs map[string]string
	// Prefill is what both files held before the run.
	Prefill string
	Elapsed time.Duration
}

// Dump is the run for a failure message: exit code, time and both streams.
func (r Result) Dump() string {
	return fmt.Sprintf("exit %d after %s\nstdout:\n%s\nstderr:\n%s", r.Code, r.Elapsed.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// MustSucceed fails the test with the log unless the action exited 0.
func (r Result) MustSucceed(t testing.TB) Result {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("want success\n%s", r.Dump())
	}
	return r
}

// Says asserts each of want is somewhere on stdout.
func (r Result) Says(t testing.TB, want ...string) Result {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("log lacks %q:\n%s", w, r.Stdout)
		}
	}
	return r
}

// MustFail asserts the action failed as the runner expects a failed step
// to: exit code 1, the file commands as they were (Unchanged), and each of
// want somewhere on stdout.
func (r Result) MustFail(t testing.TB, want ...string) Result {
	t.Helper()
	if r.Code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", r.Code, r.Dump())
	}
	r.Unchanged(t)
	for _, w := range want {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("log lacks %q:\n%s", w, r.Stdout)
		}
	}
	return r
}

// Unchanged asserts the run left GITHUB_ENV and GITHUB_OUTPUT byte for byte
// as earlier steps left them: a failed step must hand later steps nothing.
func (r Result) Unchanged(t testing.TB) {
	t.Helper()
	if r.EnvRaw != r.Prefill || r.OutputRaw != r.Prefill {
		t.Errorf("file commands changed by a failed run:\nGITHUB_ENV=%q\nGITHUB_OUTPUT=%q\nbefore=%q", r.EnvRaw, r.OutputRaw, r.Prefill)
	}
}

// ErrorLines are the ::error:: annotations the run printed, unescaped as the
// runner shows them.
func (r Result) ErrorLines() []string {
	var out []string
	for _, l := range strings.Split(r.Stdout, "\n") {
		if rest, ok := strings.CutPrefix(l, "::error::"); ok {
			out = append(out, strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(rest))
		}
	}
	return out
}

// LogLines splits a log into lines as the runner does, at '\n' and at a
// bare '\r' (so text after a carriage return can still be a command);
// empty lines are dropped.
func LogLines(log string) []string {
	return strings.FieldsFunc(log, func(r rune) bool { return r == '\n' || r == '\r' })
}

// FirstLine is the index of the first of lines that holds s, or -1.
func FirstLine(lines []string, s string) int {
	for i, l := range lines {
		if strings.Contains(l, s) {
			return i
		}
	}
	return -1
}

// IsMaskCommand reports whether line registers a secret with the runner.
func IsMaskCommand(line string) bool {
	return strings.HasPrefix(strings.TrimSpace(line), "::add-mask::")
}
