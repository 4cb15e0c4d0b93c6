package gha

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Inside a Docker action HOME is /github/home, the mount of the host's
// $RUNNER_TEMP/_github_home, which the container cannot see.
func TestRunner_HostPath_and_LocalPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	home := filepath.Join(dir, "github", "home")
	temp := filepath.Join(dir, "host", "_temp")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	r := Runner{Home: home, Temp: temp}
	creds := filepath.Join(home, ".aws", "credentials")
	host := filepath.Join(temp, "_github_home", ".aws", "credentials")
	if got := r.HostPath(creds); got != host {
		t.Errorf("HostPath = %q, want %q", got, host)
	}
	if got := r.LocalPath(host); got != creds {
		t.Errorf("LocalPath = %q, want %q", got, creds)
	}
	for _, p := range []string{"/etc/passwd", filepath.Join(dir, "elsewhere")} {
		if r.HostPath(p) != p || r.LocalPath(p) != p {
			t.Errorf("%s changed", p)
		}
	}
	// On the host (the mount's source visible) nothing is translated.
	if err := os.MkdirAll(filepath.Join(temp, "_github_home"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r.HostPath(creds) != creds || r.LocalPath(host) != host {
		t.Error("translated although the host's path is visible")
	}
	if (Runner{Home: home}).HostPath(creds) != creds {
		t.Error("translated without RUNNER_TEMP")
	}
}

// configure-aws-credentials helpers.test.ts isAllowListed and readFileUtf8.
func TestWorkspace_ResolveNoLinks_cac_vectors(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	w := Workspace{Root: ws}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(ws, "token"), []byte("jwt"), 0o600))
	must(os.Symlink("token", filepath.Join(ws, "link")))
	must(os.Mkdir(filepath.Join(ws, "real"), 0o755))
	must(os.WriteFile(filepath.Join(ws, "real", "token"), []byte("jwt"), 0o600))
	must(os.Symlink("real", filepath.Join(ws, "dirlink")))
	cases := []struct {
		name, path string
		want       error
	}{
		{"helpers_returns_content_for_a_regular_file", "token", nil},
		{"helpers_refuses_to_read_through_a_symlink_at_the_target", "link", ErrSymlink},
		{"helpers_refuses_to_read_when_the_parent_directory_is_a_symlink", "dirlink/token", ErrSymlink},
		{"helpers_returns_null_when_the_file_does_not_exist", "missing", os.ErrNotExist},
		{"helpers_rejects_nested_or_unrelated_paths (outside the workspace here)", "/var/run/secrets/a/b/serviceaccount/token", ErrOutsideWorkspace},
		{"helpers_normalizes_path_traversal_attempts", "/var/run/secrets/foo/serviceaccount/../../../../etc/passwd", ErrOutsideWorkspace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := w.ResolveNoLinks(tc.path)
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("ResolveNoLinks(%q) = %v, want %v", tc.path, err, tc.want)
			}
		})
	}
	for p, want := range map[string]bool{
		"/var/run/secrets/eks.amazonaws.com/serviceaccount/token":  true,
		"/var/run/secrets/kubernetes.io/serviceaccount/token":      true,
		"/var/run/secrets/serviceaccount/token":                    false,
		"/var/run/secrets/eks.amazonaws.com/serviceaccount/token2": false,
		"/etc/var/run/secrets/foo/serviceaccount/token":            false,
	} {
		if kubernetesToken.MatchString(p) != want {
			t.Errorf("helpers_isAllowListed(%s) != %v", p, want)
		}
	}
}
