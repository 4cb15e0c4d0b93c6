// Package actionrun runs the compiled action the way GitHub's runner runs a
// Docker action, so every harness in the test tree starts it the same way:
// inputs as INPUT_<NAME> variables (InputVar), the file commands as existing
// files named by GITHUB_ENV, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY, a
// workspace and a HOME (Step), and the file commands read back with the
// runner's parser (test/runnerfile).
//
// Step returns errors, for commands (test/sandbox, test/bench). Job wraps it
// for tests and fails the test instead; Result carries the assertions the
// suites share (test/e2e, test/hardening).
package actionrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
