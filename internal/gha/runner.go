package gha

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Runner is what the GitHub Actions runner hands a Docker action through its
// environment, read once (ReadRunner) and passed down as a value, so no code
// below main reads the environment itself.
type Runner struct {
	// Workspace is the checked-out repository (GITHUB_WORKSPACE).
	Workspace Workspace
	// EnvFile, OutputFile and SummaryFile are the file commands
	// (GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY).
	EnvFile, OutputFile, SummaryFile string
	// Debug is true when step debug logging is on.
	Debug bool
	// IDTokenURL and IDTokenToken request a GitHub OIDC token; both are
	// empty without `permissions: id-token: write`. The token is a secret.
	IDTokenURL, IDTokenToken string
	// APIURL is the GitHub REST API (GITHUB_API_URL): api.github.com, or
	// https://HOST/api/v3 on GitHub Enterprise Server.
	APIURL string
	// EventPath is the webhook payload that triggered the run
	// (GITHUB_EVENT_PATH); the pull-request number is read from it.
	EventPath string
	// Job names the run for session names, tags and change-set names.
	Job Job
}

// Job is the part of the job's context that names and tags what the action
// creates.
type Job struct {
	RunID, RunAttempt, Job, Repository, Workflow, Action, Actor     string
	SHA, Ref, RefName, EventName, BaseRef, HeadRef, TriggeringActor string
}

// ReadRunner reads the runner's variables with getenv.
func ReadRunner(getenv func(string) string) Runner {
	return Runner{
		Workspace:    Workspace{Root: getenv("GITHUB_WORKSPACE")},
		EnvFile:      getenv("GITHUB_ENV"),
		OutputFile:   getenv("GITHUB_OUTPUT"),
		SummaryFile:  getenv("GITHUB_STEP_SUMMARY"),
		Debug:        getenv("RUNNER_DEBUG") == "1" || strings.EqualFold(getenv("ACTIONS_STEP_DEBUG"), "true"),
		IDTokenURL:   getenv("ACTIONS_ID_TOKEN_REQUEST_URL"),
		IDTokenToken: getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
		APIURL:       getenv("GITHUB_API_URL"),
		EventPath:    getenv("GITHUB_EVENT_PATH"),
		Job: Job{
			RunID: getenv("GITHUB_RUN_ID"), RunAttempt: getenv("GITHUB_RUN_ATTEMPT"), Job: getenv("GITHUB_JOB"),
			Repository: getenv("GITHUB_REPOSITORY"), Workflow: getenv("GITHUB_WORKFLOW"), Action: getenv("GITHUB_ACTION"),
			Actor: getenv("GITHUB_ACTOR"), SHA: getenv("GITHUB_SHA"), Ref: getenv("GITHUB_REF"), RefName: getenv("GITHUB_REF_NAME"),
			EventName: getenv("GITHUB_EVENT_NAME"), BaseRef: getenv("GITHUB_BASE_REF"), HeadRef: getenv("GITHUB_HEAD_REF"),
			TriggeringActor: getenv("GITHUB_TRIGGERING_ACTOR"),
		},
	}
}

// Workspace is the one rule for files the user names (template, parameter
// files, token files): they live in the checked-out repository.
type Workspace struct {
	// Root is GITHUB_WORKSPACE; empty means the current directory (local
	// runs).
	Root string
}

// ErrOutsideWorkspace marks a path that resolves outside the workspace.
var ErrOutsideWorkspace = errors.New("outside the workspace")

// Resolve returns the real path of p: relative paths are taken from the
// workspace, symbolic links are followed, and a result outside the workspace
// is refused, so a link or "../" cannot make the action read (and send to
// AWS) a file of the runner. A missing file gives an error wrapping
// fs.ErrNotExist.
func (w Workspace) Resolve(p string) (string, error) {
	root := w.Root
	if root == "" {
		root = "."
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("resolving the workspace %s: %w", root, err)
	}
	if realRoot, err = filepath.Abs(realRoot); err != nil {
		return "", err
	}
	p = filepath.FromSlash(p)
	if !filepath.IsAbs(p) {
		p = filepath.Join(realRoot, p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// Refuse a path, or a dangling link, that names the outside
			// before saying "not found": that is the more useful fix.
			target := filepath.Clean(p)
			if t, lerr := os.Readlink(p); lerr == nil && filepath.IsAbs(t) {
				target = t
			}
			if !within(realRoot, target) {
				return "", fmt.Errorf("%w (%s)", ErrOutsideWorkspace, realRoot)
			}
			return "", fs.ErrNotExist
		}
		return "", err
	}
	if !within(realRoot, real) {
		return "", fmt.Errorf("%w (%s)", ErrOutsideWorkspace, realRoot)
	}
	return real, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && filepath.IsLocal(rel)
}

// ReadFile reads a file the user named, at most limit bytes. It opens
// without blocking and refuses anything but a regular file before reading,
// so a FIFO or a device cannot hang the action.
func ReadFile(p string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over the %d-byte limit", p, limit)
	}
	return data, nil
}
