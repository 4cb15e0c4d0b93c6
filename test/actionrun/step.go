package actionrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Step is one step of a job: a workspace, a home, the file-command files and
// the environment the runner gives a Docker action.
type Step struct {
	Binary                           string
	Workspace                        string
	EnvFile, OutputFile, SummaryFile string
	// Prefill is what GITHUB_ENV and GITHUB_OUTPUT held before the step, as
	// earlier steps left them; a failed run must leave it as it was.
	Prefill string
	// Env is the step's environment; inputs are added by Run.
	Env map[string]string
}

// NewStep lays out a step under dir; the file-command files start with prefill,
// as they would after earlier steps.
func NewStep(binary, dir, prefill string) (*Step, error) {
	s := &Step{
		Binary:      binary,
		Workspace:   filepath.Join(dir, "workspace"),
		EnvFile:     filepath.Join(dir, "set_env_0001"),
		OutputFile:  filepath.Join(dir, "set_output_0001"),
		SummaryFile: filepath.Join(dir, "step_summary_0001"),
		Prefill:     prefill,
	}
	home := filepath.Join(dir, "home")
	for _, p := range []string{s.Workspace, home} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, err
		}
	}
	for _, p := range []string{s.EnvFile, s.OutputFile} {
		if err := os.WriteFile(p, []byte(prefill), 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(s.SummaryFile, nil, 0o644); err != nil {
		return nil, err
	}
	s.Env = DefaultEnv()
	s.Env["HOME"] = home
	s.Env["GITHUB_WORKSPACE"] = s.Workspace
	s.Env["GITHUB_ENV"], s.Env["GITHUB_OUTPUT"], s.Env["GITHUB_STEP_SUMMARY"] = s.EnvFile, s.OutputFile, s.SummaryFile
	return s, nil
}

// DefaultEnv is the runner's environment for a push to main of
// octo-org/octo-repo, with the developer's AWS setup kept out.
func DefaultEnv() map[string]string {
	return map[string]string{
		"PATH": os.Getenv("PATH"), "GITHUB_ACTIONS": "true", "CI": "true",
		"GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "deploy", "GITHUB_REPOSITORY": "octo-org/octo-repo",
		"GITHUB_WORKFLOW": "ci", "GITHUB_ACTION": "__self", "GITHUB_ACTOR": "octocat", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_EVENT_NAME": "push",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
	}
}

// WriteFile writes a file into the workspace, creating directories.
func (s *Step) WriteFile(name, body string) error {
	p := filepath.Join(s.Workspace, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(body), 0o644)
}

// ShareWorkspace makes s a later step of prev's job: the same checkout,
// with s's own file-command files, as the runner gives each step.
func (s *Step) ShareWorkspace(prev *Step) {
	s.Workspace = prev.Workspace
	s.Env["GITHUB_WORKSPACE"] = prev.Workspace
}

// Command returns the step's process, ready to start: for tests that signal it.
func (s *Step) Command(ctx context.Context, inputs map[string]string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.Binary)
	cmd.Dir = s.Workspace
	for k, v := range s.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, InputEnv(inputs)...)
	return cmd
}

// Run executes the step with inputs and reads back the file commands. A
// non-zero exit is a Result, not an error. It leaves Result.Env and
// Result.Outputs nil: a command shows a file the runner would reject, a test
// (Job.Run) fails on it.
func (s *Step) Run(ctx context.Context, inputs map[string]string) (Result, error) {
	cmd := s.Command(ctx, inputs)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String(), Elapsed: time.Since(start), Prefill: s.Prefill}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
	} else if err != nil {
		return r, fmt.Errorf("running the action: %w", err)
	}
	env, err := os.ReadFile(s.EnvFile)
	if err != nil {
		return r, err
	}
	outp, err := os.ReadFile(s.OutputFile)
	if err != nil {
		return r, err
	}
	r.EnvRaw, r.OutputRaw = string(env), string(outp)
	return r, nil
}

// Reset empties the file-command files, as a fresh step would find them.
func (s *Step) Reset() error {
	for _, p := range []string{s.EnvFile, s.OutputFile, s.SummaryFile} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return err
		}
	}
	s.Prefill = ""
	return nil
}
