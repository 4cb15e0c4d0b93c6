package gha

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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
	// StateFile is GITHUB_STATE, read by the action's post step.
	StateFile string
	// Home is HOME and Temp is RUNNER_TEMP. A Docker action's HOME is
	// /github/home, which the runner mounts from $RUNNER_TEMP/_github_home;
	// RUNNER_TEMP keeps the host's path, which the container cannot see.
	Home, Temp string
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
		Workspace:    Workspace{Root: getenv("GITHUB_WORKSPACE"), HostRoot: hostWorkspace(getenv)},
		EnvFile:      getenv("GITHUB_ENV"),
		OutputFile:   getenv("GITHUB_OUTPUT"),
		SummaryFile:  getenv("GITHUB_STEP_SUMMARY"),
		StateFile:    getenv("GITHUB_STATE"),
		Home:         getenv("HOME"),
		Temp:         getenv("RUNNER_TEMP"),
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

// hostHome is where the runner host keeps a Docker action's HOME, or "".
func (r Runner) hostHome() string {
	if r.Temp == "" || r.Home == "" {
		return ""
	}
	return filepath.Join(r.Temp, "_github_home")
}

// inContainer reports whether Home is the mount of the host's
// $RUNNER_TEMP/_github_home, seen from inside a Docker action: the host's
// path is not visible here.
func (r Runner) inContainer() bool {
	h := r.hostHome()
	if h == "" {
		return false
	}
	_, err := os.Lstat(h)
	return errors.Is(err, fs.ErrNotExist)
}

// HostPath returns the path under which later steps on the runner host find
// p, a file this step wrote under Home. Inside a Docker action, Home is the
// mount of $RUNNER_TEMP/_github_home; elsewhere paths come back unchanged.
// Later container steps see the host's path too, which does not exist in
// their container; LocalPath turns it back for this action.
func (r Runner) HostPath(p string) string {
	rel, ok := under(r.Home, p)
	if !ok || !r.inContainer() {
		return p
	}
	return filepath.Join(r.hostHome(), rel)
}

// LocalPath is the inverse of HostPath: a path an earlier step exported (such
// as AWS_SHARED_CREDENTIALS_FILE) that names the host's view of a Docker
// action's HOME becomes this container's view of it.
func (r Runner) LocalPath(p string) string {
	if p == "" {
		return p
	}
	rel, ok := under(r.hostHome(), p)
	if !ok || !r.inContainer() {
		return p
	}
	return filepath.Join(r.Home, rel)
}

// under returns p relative to dir when p lies inside dir.
func under(dir, p string) (string, bool) {
	if dir == "" || !filepath.IsAbs(p) {
		return "", false
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil || !filepath.IsLocal(rel) {
		return "", false
	}
	return rel, true
}

// Workspace is the one rule for files the user names (template, parameter
// files, token files): they live in the checked-out repository.
type Workspace struct {
	// Root is GITHUB_WORKSPACE; empty means the current directory (local
	// runs).
	Root string
	// HostRoot is where the runner's host keeps the workspace, which it
	// mounts at Root in the action's container; empty when unknown. Paths
	// under it are read under Root: the runner translates a plain path
	// from ${{ github.workspace }} in an input, but not one inside a URL
	// (file://${{ github.workspace }}/params.json, the form
	// aws-cloudformation-github-deploy documents).
	HostRoot string
}

// hostWorkspace is ${{ github.workspace }} on the runner's host: its
// default, RUNNER_WORKSPACE/<repository name>. RUNNER_WORKSPACE keeps its
// host value in the container, being outside every mount.
func hostWorkspace(getenv func(string) string) string {
	rw, repo := getenv("RUNNER_WORKSPACE"), getenv("GITHUB_REPOSITORY")
	_, name, ok := strings.Cut(repo, "/")
	if rw == "" || !ok || name == "" || !filepath.IsAbs(rw) {
		return ""
	}
	return filepath.Join(rw, name)
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
	if w.HostRoot != "" && filepath.IsAbs(p) && !within(realRoot, p) {
		if rel, err := filepath.Rel(filepath.Clean(w.HostRoot), filepath.Clean(p)); err == nil && filepath.IsLocal(rel) {
			p = filepath.Join(realRoot, rel)
		}
	}
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

// ErrSymlink marks a path that is, or sits directly in, a symbolic link.
var ErrSymlink = errors.New("is a symbolic link or in a linked directory")

// kubernetesToken matches the service-account token paths that the kubelet
// builds from symbolic links (configure-aws-credentials' isAllowListed).
var kubernetesToken = regexp.MustCompile(`^/var/run/secrets/[^/]+/serviceaccount/token$`)

// ResolveNoLinks is Resolve for a file that must not be a symbolic link, as
// configure-aws-credentials requires of web identity token files: neither the
// file nor its directory may be a link, so a link committed to the
// repository cannot make the action send another file to STS. The
// Kubernetes service-account token paths (/var/run/secrets/*/serviceaccount/token)
// are exempt from both rules, as there.
func (w Workspace) ResolveNoLinks(p string) (string, error) {
	abs := filepath.FromSlash(p)
	if !filepath.IsAbs(abs) {
		root := w.Root
		if root == "" {
			root = "."
		}
		abs = filepath.Join(root, abs)
	}
	if kubernetesToken.MatchString(filepath.ToSlash(filepath.Clean(abs))) && filepath.IsAbs(p) {
		return filepath.EvalSymlinks(filepath.Clean(abs))
	}
	for _, q := range []string{abs, filepath.Dir(abs)} {
		st, err := os.Lstat(q)
		if err == nil && st.Mode()&fs.ModeSymlink != 0 {
			return "", ErrSymlink
		}
	}
	return w.Resolve(p)
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && filepath.IsLocal(rel)
}

// ReadFile reads a file the user named, at most limit bytes. It opens
// without blocking and refuses anything but a regular file before reading,
// so a FIFO or a device cannot hang the action.
func ReadFile(p string, limit int64) ([]byte, error) {
	// O_NOFOLLOW: callers pass resolved paths, so a link here appeared
	// after the check.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s %w", p, ErrSymlink)
	}
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
