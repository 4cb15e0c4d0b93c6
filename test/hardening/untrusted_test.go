package hardening

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerlog"
)

// hostile is text an attacker who controls a template, a resource or an AWS
// error could get into the action's log: workflow commands after line
// breaks (\n and a bare \r, which the runner also splits on), a legacy
// ##[ command and the heredoc delimiter prefix of the file commands.
const hostile = "::stop-commands::pwned\r::add-mask::HOSTILE\n::error::forged ##[set-output name=x]y ghadelimiter_abc\r\n  ::warning::w\u2028::notice::n"

// ownCommands are the workflow commands the action itself prints.
var ownCommands = []string{"add-mask", "debug", "group", "endgroup", "error", "warning", "notice"}

type untrustedCase struct {
	name   string
	inputs map[string]string
	world  worldOpts
	setup  func(t *testing.T, w *world)
	ok     bool
	// outputs are step outputs that must parse back exactly.
	outputs map[string]string
	// quiet: the action logs none of this text (only output keys, only
	// error codes in retry lines), so its absence is the expected result.
	quiet bool
}

func untrustedCases() []untrustedCase {
	withScript := func(f func(s *fakecfn.Script)) worldOpts {
		s := quickStack.script
		f(&s)
		return worldOpts{script: s}
	}
	return []untrustedCase{
		{name: "resource_event_reason", inputs: deployInputs(nil),
			world: withScript(func(s *fakecfn.Script) { s.FailResources = map[string]string{"Queue": hostile} })},
		{name: "change_set_status_reason", inputs: deployInputs(nil),
			world: withScript(func(s *fakecfn.Script) { s.ChangeSetFailReason = hostile })},
		{name: "stack_outputs", inputs: deployInputs(nil), ok: true, quiet: true,
			world: withScript(func(s *fakecfn.Script) {
				s.Outputs = map[string]string{"TopicArn": hostile, "Extra": "a\nghadelimiter_x\nEVIL=1\nZ<<ghadelimiter_x"}
			}),
			outputs: map[string]string{"TopicArn": hostile, "Extra": "a\nghadelimiter_x\nEVIL=1\nZ<<ghadelimiter_x"}},
		{name: "cloudformation_error_message", inputs: deployInputs(nil), world: quickStack,
			setup: func(t *testing.T, w *world) {
				w.cfn.InjectFault("CreateChangeSet", fakecore.Fault{Code: "ValidationError", Message: hostile})
			}},
		{name: "cloudformation_throttling_message", inputs: deployInputs(nil), world: quickStack, ok: true,
			setup: func(t *testing.T, w *world) {
				w.cfn.InjectFault("DescribeStacks", fakecore.Fault{Times: 6, Code: "Throttling", Message: hostile})
			}},
		{name: "stack_status_reason", inputs: deployInputs(nil), world: quickStack,
			setup: func(t *testing.T, w *world) {
				if _, err := w.cfn.PutStack(fakecfn.StackSeed{Name: stackName, Status: "UPDATE_ROLLBACK_FAILED", StatusReason: hostile,
					TemplateBody: appTemplate, Region: region, AccountID: account}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "sts_error_message", inputs: keysInputs(nil),
			setup: func(t *testing.T, w *world) {
				w.sts.InjectFault("AssumeRole", fakecore.Fault{Code: "AccessDenied", Message: hostile})
			}},
		{name: "sts_retry_message", inputs: keysInputs(nil), ok: true, quiet: true,
			setup: func(t *testing.T, w *world) {
				w.sts.InjectFault("AssumeRole", fakecore.Fault{Code: "Throttling", Message: hostile})
			}},
	}
}

func TestUntrustedText_never_becomes_a_command(t *testing.T) {
	t.Parallel()
	for _, tc := range untrustedCases() {
		for _, mode := range debugModes {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, tc.world)
				if tc.setup != nil {
					tc.setup(t, w)
				}
				j := newJob(t, w)
				for k, v := range mode.env {
					j.Env[k] = v
				}
				r := j.Run(tc.inputs)
				if (r.Code == 0) != tc.ok {
					t.Fatalf("unexpected outcome\n%s", r.Dump())
				}
				if !tc.quiet && !strings.Contains(r.Stdout, "HOSTILE") {
					t.Errorf("the untrusted text never reached the log; the case tests nothing\n%s", r.Dump())
				}
				if !tc.ok {
					r.Unchanged(t)
					if n := len(r.ErrorLines()); n != 1 {
						t.Errorf("%d error annotations, want exactly the action's one\n%s", n, r.Dump())
					}
				} else if n := len(r.ErrorLines()); n != 0 {
					t.Errorf("%d error annotations on success\n%s", n, r.Dump())
				}
				for i, l := range actionrun.LogLines(r.Stdout) {
					tl := strings.TrimSpace(l)
					if strings.Contains(l, "##[") {
						t.Errorf("line %d holds a legacy ##[ command: %q", i, l)
					}
					if !strings.HasPrefix(tl, "::") {
						continue
					}
					name, _, _ := strings.Cut(strings.TrimPrefix(tl, "::"), "::")
					name, _, _ = strings.Cut(name, " ")
					if !slices.Contains(ownCommands, name) {
						t.Errorf("line %d is a workflow command the action does not issue: %q", i, l)
					}
					if name == "add-mask" && strings.Contains(tl, "HOSTILE") {
						t.Errorf("untrusted text registered a mask: %q", l)
					}
				}
				if strings.Contains(r.Stderr, "HOSTILE") {
					t.Errorf("untrusted text on stderr:\n%s", r.Stderr)
				}
				if tc.ok {
					out := r.Outputs
					for k, want := range tc.outputs {
						if got := out[k]; got != want {
							t.Errorf("output %s = %q, want %q", k, got, want)
						}
					}
					for _, k := range []string{"EVIL", "Z", "x"} {
						if _, ok := out[k]; ok {
							t.Errorf("untrusted text injected output %s", k)
						}
					}
				}

				// Masking still works afterwards: a later step of the same
				// job registers and uses secrets.
				job := runnerlog.New(mode.env != nil)
				job.Render(r.Stdout)
				if slices.Contains(job.Secrets(), "HOSTILE") {
					t.Errorf("the runner would have registered HOSTILE as a mask")
				}
				next := newJob(t, w)
				r2 := next.Run(keysInputs(nil))
				if r2.Code != 0 {
					t.Fatalf("the later step failed\n%s", r2.Dump())
				}
				env := r2.Env
				shown := job.Render(r2.Stdout)
				for _, s := range []string{env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"], userSecret} {
					if strings.Contains(shown, s) {
						t.Errorf("a later step's secret %.8s… is shown after the untrusted text:\n%s", s, shown)
					}
				}
				if strings.Contains(shown, "::add-mask::") {
					t.Errorf("a later step's ::add-mask:: is shown as text:\n%s", shown)
				}
			})
		}
	}
}
