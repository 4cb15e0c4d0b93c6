package actionrun

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is a testing.TB that records failures instead of failing, so the
// harness's own assertions can be shown to fail.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.fatal = true
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// record runs f against a recorder on its own goroutine, as Fatal must end
// f without ending the test.
func record(t *testing.T, f func(tb testing.TB)) *recorder {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	return rec
}

// TestMain lets the test binary play the action (standIn) when a Job runs
// it; a shell script cannot, as sh drops the INPUT_ variables whose names
// hold hyphens.
func TestMain(m *testing.M) {
	if mode := os.Getenv(standInVar); mode != "" {
		os.Exit(standIn(mode))
	}
	os.Exit(m.Run())
}

const standInVar = "ACTIONRUN_STAND_IN"

// standIn prints the INPUT_ variables it was given, fails if asked to, and
// otherwise writes both file commands: in mode "junk" a GITHUB_ENV line the
// runner rejects.
func standIn(mode string) int {
	var inputs []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "INPUT_") {
			inputs = append(inputs, kv)
		}
	}
	slices.Sort(inputs)
	for _, kv := range inputs {
		fmt.Println(kv)
	}
	if os.Getenv("INPUT_FAIL") != "" {
		fmt.Println("::error::asked to fail")
		return 1
	}
	env := "REGION<<EOF\n" + os.Getenv("INPUT_AWS-REGION") + "\nEOF\n"
	if mode == "junk" {
		env = "JUNK\n"
	}
	wd, _ := os.Getwd()
	for name, text := range map[string]string{"GITHUB_ENV": env, "GITHUB_OUTPUT": "ws=" + wd + "\n"} {
		f, err := os.OpenFile(os.Getenv(name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		_, err = f.WriteString(text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	return 0
}

// newStandInJob is a job whose action is this test binary in mode.
func newStandInJob(t testing.TB, mode, prefill string) *Job {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	j := NewJob(t, self, prefill)
	j.Env[standInVar] = mode
	return j
}

func TestJob_Run_passes_inputs_and_reads_file_commands(t *testing.T) {
	t.Parallel()
	j := newStandInJob(t, "ok", "EARLIER=1\n")
	r := j.Run(map[string]string{"aws-region": "eu-west-1", "role to assume": "x"}).MustSucceed(t)

	if d := cmp.Diff("INPUT_AWS-REGION=eu-west-1\nINPUT_ROLE_TO_ASSUME=x\n", r.Stdout); d != "" {
		t.Errorf("the action's INPUT_ variables (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"EARLIER": "1", "REGION": "eu-west-1"}, r.Env); d != "" {
		t.Errorf("Env (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"EARLIER": "1", "ws": j.Workspace}, r.Outputs); d != "" {
		t.Errorf("Outputs (-want +got):\n%s", d)
	}
	if r.Prefill != "EARLIER=1\n" {
		t.Errorf("Prefill = %q", r.Prefill)
	}
}

func TestJob_Run_failed_step_leaves_the_files(t *testing.T) {
	t.Parallel()
	r := newStandInJob(t, "ok", "EARLIER=1\n").Run(map[string]string{"fail": "yes"})
	r.MustFail(t, "asked to fail")
	if d := cmp.Diff([]string{"asked to fail"}, r.ErrorLines()); d != "" {
		t.Errorf("ErrorLines (-want +got):\n%s", d)
	}
}

// A file the runner would reject fails the test even when the action
// exited 0: a later step would never run.
func TestJob_Run_fails_on_a_file_the_runner_rejects(t *testing.T) {
	t.Parallel()
	rec := record(t, func(tb testing.TB) { newStandInJob(tb, "junk", "").Run(nil) })
	if !rec.fatal || len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "the runner would fail the step parsing GITHUB_ENV") {
		t.Errorf("fatal = %v, errors = %q", rec.fatal, rec.errors)
	}
}

func TestShareWorkspace_keeps_the_checkout_not_the_files(t *testing.T) {
	t.Parallel()
	first := NewJob(t, "", "")
	first.Write("infra/app.yaml", "x")
	next := NewJob(t, "", "")
	next.ShareWorkspace(first.Step)
	if b, err := os.ReadFile(filepath.Join(next.Env["GITHUB_WORKSPACE"], "infra/app.yaml")); err != nil || string(b) != "x" {
		t.Errorf("the later step does not see the checkout: %q, %v", b, err)
	}
	if next.EnvFile == first.EnvFile || next.Env["GITHUB_ENV"] == first.Env["GITHUB_ENV"] {
		t.Errorf("both steps write %s", next.EnvFile)
	}
}

// Each assertion must fail on the result it exists to catch.
func TestResult_assertions_fail_when_they_should(t *testing.T) {
	t.Parallel()
	const prefill = "EARLIER=1\n"
	failed := Result{Code: 1, Stdout: "::error::no role\n", EnvRaw: prefill, OutputRaw: prefill, Prefill: prefill}
	cases := []struct {
		name      string
		assert    func(tb testing.TB)
		wantFatal bool
		wantErrs  int
	}{
		{"must_succeed_passes_exit_0", func(tb testing.TB) { Result{}.MustSucceed(tb) }, false, 0},
		{"must_succeed_on_exit_1", func(tb testing.TB) { failed.MustSucceed(tb) }, true, 1},
		{"must_fail_passes_a_clean_failure", func(tb testing.TB) { failed.MustFail(tb, "no role") }, false, 0},
		{"must_fail_on_exit_0", func(tb testing.TB) { Result{Prefill: prefill}.MustFail(tb) }, true, 1},
		{"must_fail_on_exit_2", func(tb testing.TB) { r := failed; r.Code = 2; r.MustFail(tb) }, true, 1},
		{"must_fail_on_missing_text", func(tb testing.TB) { failed.MustFail(tb, "no role", "set role-to-assume") }, false, 1},
		{"must_fail_on_written_env", func(tb testing.TB) { r := failed; r.EnvRaw += "A=1\n"; r.MustFail(tb) }, false, 1},
		{"unchanged_on_emptied_output", func(tb testing.TB) { r := failed; r.OutputRaw = ""; r.Unchanged(tb) }, false, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := record(t, tc.assert)
			if rec.fatal != tc.wantFatal || len(rec.errors) != tc.wantErrs {
				t.Errorf("fatal = %v, errors = %q; want fatal %v and %d errors", rec.fatal, rec.errors, tc.wantFatal, tc.wantErrs)
			}
		})
	}
}

func TestErrorLines_unescape_as_the_runner_shows_them(t *testing.T) {
	t.Parallel()
	r := Result{Stdout: "::add-mask::x\n::error::a%0Ab%25%0D\nplain ::error::not one\n::error::second\n"}
	if d := cmp.Diff([]string{"a\nb%\r", "second"}, r.ErrorLines()); d != "" {
		t.Errorf("ErrorLines (-want +got):\n%s", d)
	}
}

// The runner also breaks lines at a bare '\r', so a secret after one is on a
// line of its own and a mask command after one still registers.
func TestLogLines_and_mask_commands(t *testing.T) {
	t.Parallel()
	lines := LogLines("a\r::add-mask::s3cret\n\n  ::add-mask::other\r\nuses s3cret\n")
	if d := cmp.Diff([]string{"a", "::add-mask::s3cret", "  ::add-mask::other", "uses s3cret"}, lines); d != "" {
		t.Errorf("LogLines (-want +got):\n%s", d)
	}
	cases := []struct {
		name     string
		s        string
		wantLine int
		wantMask bool
	}{
		{"masked_first", "s3cret", 1, true},
		{"indented_mask", "other", 2, true},
		{"printed_first", "uses", 3, false},
		{"absent", "nowhere", -1, false},
	}
	for _, tc := range cases {
		at := FirstLine(lines, tc.s)
		if at != tc.wantLine || (at >= 0 && IsMaskCommand(lines[at]) != tc.wantMask) {
			t.Errorf("%s: FirstLine = %d (want %d), mask %v", tc.name, at, tc.wantLine, tc.wantMask)
		}
	}
}

func TestMerge_delete_and_no_aliasing(t *testing.T) {
	t.Parallel()
	base := map[string]string{"aws-region": "eu-west-1", "role-to-assume": "r"}
	got := Merge(base, map[string]string{"role-to-assume": Delete, "stack-name": "app"})
	if d := cmp.Diff(map[string]string{"aws-region": "eu-west-1", "stack-name": "app"}, got); d != "" {
		t.Errorf("Merge (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"aws-region": "eu-west-1", "role-to-assume": "r"}, base); d != "" {
		t.Errorf("Merge changed its base (-want +got):\n%s", d)
	}
}
