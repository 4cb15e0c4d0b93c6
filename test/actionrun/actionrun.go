// Package actionrun runs the compiled action the way GitHub's runner runs a
// Docker action: inputs as INPUT_<NAME> variables (InputVar), the
// file commands as existing files named by GITHUB_ENV, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY, and a workspace. The end-to-end tests, the hardening
// suite and the sandbox share it.
package actionrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerfile"
)

// Build compiles the action at root into dir as the Dockerfile does
// (CGO_ENABLED=0, -trimpath) and returns the binary's path.
func Build(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "aws-assume-deploy")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the action: %w\n%s", err, out)
	}
	return bin, nil
}

// Step is one step of a job: a workspace, a home, the file-command files and
// the environment the runner gives a Docker action.
type Step struct {
	Binary                           string
	Workspace                        string
	EnvFile, OutputFile, SummaryFile string
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

// Result is what one run left behind.
type Result struct {
	Code              int
	Stdout, Stderr    string
	EnvRaw, OutputRaw string
	Elapsed           time.Duration
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
// non-zero exit is a Result, not an error.
func (s *Step) Run(ctx context.Context, inputs map[string]string) (Result, error) {
	cmd := s.Command(ctx, inputs)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String(), Elapsed: time.Since(start)}
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

// Parse reads a file command back exactly as the runner would; an error
// means the runner would fail the step.
func Parse(raw string) (map[string]string, error) {
	return runnerfile.Map(raw)
}

// RunTests builds the action once into a temporary directory, stores its
// path in binary, runs the package's tests and returns their exit code. Use
// it from TestMain: os.Exit(actionrun.RunTests(m, &binary)).
func RunTests(m *testing.M, binary *string) int {
	dir, err := os.MkdirTemp("", "aws-assume-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := RepoRoot() // go test runs in the package's directory
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *binary, err = Build(context.Background(), root, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// RepoRoot is the repository's top directory: the nearest directory at or
// above the working directory that holds action.yml.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "action.yml")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("run this from inside the repository (no action.yml at or above the working directory)")
		}
	}
}

// Reset empties the file-command files, as a fresh step would find them.
func (s *Step) Reset() error {
	for _, p := range []string{s.EnvFile, s.OutputFile, s.SummaryFile} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return err
		}
	}
	return nil
}
