// Package release tests the release workflow's scripts in .github/scripts:
// the check that no release moves the major tag (v1) or the image's :1 back to
// older code, and the listing of existing tags it reads.
package release

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	shaC = "cccccccccccccccccccccccccccccccccccccccc"
)

func script(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", ".github", "scripts", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckReleaseTag runs check-release-tag.sh on a table of tag sets.
func TestCheckReleaseTag(t *testing.T) {
	t.Parallel()
	check := script(t, "check-release-tag.sh")
	const (
		both     = "move-major=true\nlatest=true\n"
		majorNot = "move-major=true\nlatest=false\n"
		neither  = "move-major=false\nlatest=false\n"
	)
	tests := []struct {
		name string
		tag  string
		sha  string
		tags string // "NAME COMMIT" lines, as list-release-tags.sh prints them
		want string // stdout; "" when refused
		err  string // part of the ::error:: line when refused
	}{
		{name: "first_release", tag: "v1.0.0", sha: shaA, tags: "v1.0.0 " + shaA, want: both},
		{name: "first_release_tag_not_listed", tag: "v1.0.0", sha: shaA, want: both},
		{name: "next_patch", tag: "v1.0.6", sha: shaB, tags: "v1.0.5 " + shaA + "\nv1 " + shaA + "\nv1.0.6 " + shaB, want: both},
		{name: "next_minor", tag: "v1.1.0", sha: shaB, tags: "v1.0.5 " + shaA, want: both},
		{name: "rerun_of_the_same_release", tag: "v1.2.0", sha: shaB, tags: "v1.1.0 " + shaA + "\nv1.2.0 " + shaB, want: both},
		{
			name: "patch_on_an_old_commit_after_a_newer_minor", tag: "v1.0.6", sha: shaC,
			tags: "v1.0.5 " + shaA + "\nv1.1.0 " + shaB + "\nv1.0.6 " + shaC,
			err:  "v1.0.6 is lower than v1.1.0, the highest release of v1",
		},
		{
			name: "same_version_on_another_commit", tag: "v1.1.0", sha: shaC,
			tags: "v1.0.5 " + shaA + "\nv1.1.0 " + shaB,
			err:  "v1.1.0 already exists on commit " + shaB,
		},
		{
			name: "numeric_not_lexical_order", tag: "v1.9.1", sha: shaC,
			tags: "v1.9.0 " + shaA + "\nv1.10.0 " + shaB,
			err:  "lower than v1.10.0",
		},
		{name: "numeric_order_accepts_1_10", tag: "v1.10.0", sha: shaC, tags: "v1.9.0 " + shaA + "\nv1.2.0 " + shaB, want: both},
		{name: "two_digit_patch", tag: "v1.0.10", sha: shaC, tags: "v1.0.9 " + shaA, want: both},
		{
			name: "older_major_keeps_its_own_line", tag: "v1.4.0", sha: shaC,
			tags: "v1.3.0 " + shaA + "\nv2.0.0 " + shaB, want: majorNot,
		},
		{
			name: "older_major_cannot_go_back_either", tag: "v1.2.9", sha: shaC,
			tags: "v1.3.0 " + shaA + "\nv2.0.0 " + shaB, err: "lower than v1.3.0",
		},
		{name: "new_major", tag: "v2.0.0", sha: shaC, tags: "v1.9.9 " + shaA + "\nv1 " + shaA, want: both},
		{name: "pre_release_above_the_highest", tag: "v1.3.0-rc.1", sha: shaC, tags: "v1.2.0 " + shaA, want: neither},
		{
			name: "pre_release_of_a_released_version", tag: "v1.2.0-rc.1", sha: shaC,
			tags: "v1.2.0 " + shaA, err: "pre-release of v1.2.0, which is already released",
		},
		{name: "pre_release_below_the_highest", tag: "v1.1.0-rc.1", sha: shaC, tags: "v1.2.0 " + shaA, err: "lower than v1.2.0"},
		{
			name: "existing_pre_releases_do_not_count", tag: "v1.2.1", sha: shaC,
			tags: "v1.2.0 " + shaA + "\nv1.3.0-rc.1 " + shaB, want: both,
		},
		{name: "comments_blank_lines_and_no_final_newline", tag: "v1.0.1", sha: shaB, tags: "# listed by hand\n\nv1.0.0 " + shaA, want: both},
		{name: "not_semver_two_parts", tag: "v1.2", sha: shaA, err: "not a release tag"},
		{name: "not_semver_no_v", tag: "1.2.3", sha: shaA, err: "not a release tag"},
		{name: "not_semver_leading_zero", tag: "v01.2.3", sha: shaA, err: "not a release tag"},
		{name: "major_tag_itself", tag: "v1", sha: shaA, err: "not a release tag"},
		{name: "short_sha", tag: "v1.0.0", sha: "abc123", err: "is not a full SHA-1"},
		{name: "bad_tag_line", tag: "v1.0.1", sha: shaB, tags: "v1.0.0 " + shaA + " extra", err: "bad tag line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("bash", check, tc.tag, tc.sha)
			cmd.Stdin = strings.NewReader(tc.tags)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			if tc.err == "" {
				if err != nil {
					t.Fatalf("refused (%v): %s", err, stderr.String())
				}
				if diff := cmp.Diff(tc.want, stdout.String()); diff != "" {
					t.Errorf("outputs (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil || ee.ExitCode() != 1 {
				t.Fatalf("exit %v, want 1 (refused); stdout %q", err, stdout.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("a refusal printed outputs: %q", stdout.String())
			}
			if got := stderr.String(); !strings.HasPrefix(got, "::error::") || !strings.Contains(got, tc.err) {
				t.Errorf("stderr = %q, want a ::error:: line containing %q", got, tc.err)
			}
		})
	}
}

// TestListReleaseTags lists the tags of a scratch repository in which the
// release job already moved v1.0.0 and v1 to their release commit.
func TestListReleaseTags(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	list := script(t, "list-release-tags.sh")
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("commit", "-q", "--allow-empty", "-m", "first")
	first := git("rev-parse", "HEAD")
	// What release.yml does: a child commit that pins the image, and the tags moved onto it.
	git("commit", "-q", "--allow-empty", "-m", "Release v1.0.0: run the prebuilt image sha256:"+strings.Repeat("0", 64))
	git("tag", "v1.0.0")
	git("tag", "-a", "-m", "major", "v1")
	git("checkout", "-q", first)
	git("commit", "-q", "--allow-empty", "-m", "second")
	second := git("rev-parse", "HEAD")
	git("tag", "-a", "-m", "annotated", "v1.1.0-rc.1")
	// A commit whose subject names another tag is not v1.1.0's release commit.
	git("commit", "-q", "--allow-empty", "-m", "Release v1.0.0: run the prebuilt image sha256:1")
	third := git("rev-parse", "HEAD")
	git("tag", "v1.1.0")
	git("tag", "other")

	cmd := exec.Command("bash", list)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("list-release-tags.sh: %v\n%s", err, out)
	}
	want := "v1.0.0 " + first + "\nv1.1.0 " + third + "\nv1.1.0-rc.1 " + second + "\n"
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
}
