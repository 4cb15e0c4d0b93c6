package gha

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWorkspace_resolve(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	outside := t.TempDir()
	for _, f := range []string{filepath.Join(ws, "in.yaml"), filepath.Join(outside, "out.yaml")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"to_in": "in.yaml", "to_out": filepath.Join(outside, "out.yaml"), "dangling_out": "/nonexistent/x"} {
		if err := os.Symlink(target, filepath.Join(ws, name)); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, path string
		want       string // "" for outside, "missing" for ErrNotExist, else the expected base name
	}{
		{"relative", "in.yaml", "in.yaml"},
		{"absolute_inside", filepath.Join(ws, "in.yaml"), "in.yaml"},
		{"link_inside", "to_in", "in.yaml"},
		{"dotdot", "../" + filepath.Base(outside) + "/out.yaml", ""},
		{"absolute_outside", filepath.Join(outside, "out.yaml"), ""},
		{"link_outside", "to_out", ""},
		{"dangling_link_outside", "dangling_out", ""},
		{"missing", "nope.yaml", "missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Workspace{Root: ws}.Resolve(tc.path)
			switch tc.want {
			case "":
				if !errors.Is(err, ErrOutsideWorkspace) {
					t.Errorf("Resolve(%q) = %q, %v; want ErrOutsideWorkspace", tc.path, got, err)
				}
			case "missing":
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Resolve(%q) = %q, %v; want ErrNotExist", tc.path, got, err)
				}
			default:
				if err != nil || filepath.Base(got) != tc.want {
					t.Errorf("Resolve(%q) = %q, %v; want .../%s", tc.path, got, err, tc.want)
				}
			}
		})
	}
}

// A FIFO would block open() or read() forever; it is refused at once.
func TestReadFile_refuses_special_files_and_caps_size(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := ReadFile(fifo, 10); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: err = %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("a"), 11), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(big, 10); err == nil || !strings.Contains(err.Error(), "over the 10-byte limit") {
		t.Errorf("big: err = %v", err)
	}
	if b, err := ReadFile(big, 11); err != nil || len(b) != 11 {
		t.Errorf("exact limit: %d bytes, %v", len(b), err)
	}
}

// A FIFO at GITHUB_ENV with no reader must fail, not block the step.
func TestCheckFile_fifo_fails_at_once(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "env")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := CheckFile("GITHUB_ENV", fifo); err == nil {
		t.Error("CheckFile accepted a FIFO")
	}
}

func TestReadRunner(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GITHUB_WORKSPACE": "/ws", "GITHUB_ENV": "/e", "RUNNER_DEBUG": "1", "GITHUB_REF": "refs/heads/main", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
		"GITHUB_API_URL": "https://ghe.example/api/v3", "GITHUB_EVENT_PATH": "/github/workflow/event.json", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REPOSITORY": "o/r"}
	r := ReadRunner(func(k string) string { return env[k] })
	if r.Workspace.Root != "/ws" || r.EnvFile != "/e" || !r.Debug || r.Job.Ref != "refs/heads/main" || r.IDTokenToken != "t" ||
		r.APIURL != "https://ghe.example/api/v3" || r.EventPath != "/github/workflow/event.json" || r.Job.EventName != "pull_request" || r.Job.Repository != "o/r" {
		t.Errorf("runner = %+v", r)
	}
}

// ${{ github.workspace }} inside a file:// URL reaches the container with
// the host's path, which the runner translates only for plain paths.
func TestWorkspace_resolve_host_path(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "params.json"), []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GITHUB_WORKSPACE": ws, "RUNNER_WORKSPACE": "/home/runner/work/octo-repo", "GITHUB_REPOSITORY": "octo-org/octo-repo"}
	w := ReadRunner(func(k string) string { return env[k] }).Workspace
	if w.HostRoot != "/home/runner/work/octo-repo/octo-repo" {
		t.Fatalf("HostRoot = %q", w.HostRoot)
	}
	for _, p := range []string{"/home/runner/work/octo-repo/octo-repo/params.json", "//home/runner/work/octo-repo/octo-repo/./params.json"} {
		if got, err := w.Resolve(p); err != nil || filepath.Base(got) != "params.json" || !strings.HasPrefix(got, filepath.Dir(got)) {
			t.Errorf("Resolve(%q) = %q, %v", p, got, err)
		}
	}
	for _, p := range []string{"/home/runner/work/octo-repo/octo-repo/../other/x.json", "/home/runner/work/octo-repo/secret.json"} {
		if got, err := w.Resolve(p); err == nil {
			t.Errorf("Resolve(%q) = %q, want an error", p, got)
		}
	}
	if (Workspace{Root: ws}).HostRoot != "" || hostWorkspace(func(string) string { return "" }) != "" {
		t.Error("HostRoot set without RUNNER_WORKSPACE")
	}
}
