package gha

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerfile"
)

// parseAsRunner reads a file command back with the runner's parser, which
// lives in the test tree, as this package's pairs.
func parseAsRunner(text string) ([]KV, error) {
	kvs, err := runnerfile.Parse(text)
	out := make([]KV, len(kvs))
	for i, kv := range kvs {
		out[i] = KV(kv)
	}
	return out, err
}

func newFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "set_env")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWriteEnv_round_trips_through_runner_parser(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		pairs []KV
	}{
		{"plain", []KV{{"AWS_REGION", "ap-northeast-1"}}},
		{"empty_value", []KV{{"AWS_SESSION_TOKEN", ""}}},
		{"multi_line", []KV{{"A", "line1\nline2"}}},
		{"trailing_newline", []KV{{"A", "x\n"}}},
		{"looks_like_assignment", []KV{{"A", "x\nLD_PRELOAD=/tmp/evil.so"}}},
		{"fixed_delimiter_poc", []KV{{"A", "x\n_GitHubActionsFileCommandDelimeter_\nLD_PRELOAD=/tmp/evil.so\nZ<<_GitHubActionsFileCommandDelimeter_"}}},
		{"crlf", []KV{{"A", "a\r\nb\r"}}},
		{"several", []KV{{"A", "1"}, {"B", "2"}, {"C", "=<<"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newFile(t, "EXISTING=1\n")
			if err := (FileWriter{}).WriteEnv(p, tc.pairs); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			got, err := parseAsRunner(string(b))
			if err != nil {
				t.Fatal(err)
			}
			want := append([]KV{{"EXISTING", "1"}}, tc.pairs...)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("parsed (-want +got):\n%s", d)
			}
		})
	}
}

func TestWriteEnv_refusals_write_nothing(t *testing.T) {
	t.Parallel()
	fixed := bytes.Repeat([]byte{0xab}, 16)
	delim := "ghadelimiter_" + strings.Repeat("ab", 16)
	cases := []struct {
		name  string
		pairs []KV
		want  string
	}{
		{"value_contains_delimiter", []KV{{"A", "ok"}, {"B", "x\n" + delim + "\nEVIL=1"}}, "contains the heredoc delimiter"},
		{"key_with_newline", []KV{{"A\nB", "x"}}, "refusing name"},
		{"key_with_equals", []KV{{"A=B", "x"}}, "refusing name"},
		{"key_with_heredoc", []KV{{"A<<B", "x"}}, "refusing name"},
		{"empty_key", []KV{{"", "x"}}, "refusing name"},
		{"key_starting_with_digit", []KV{{"1A", "x"}}, "refusing name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newFile(t, "")
			w := FileWriter{Rand: bytes.NewReader(bytes.Repeat(fixed, 8))}
			err := w.WriteEnv(p, tc.pairs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "EVIL") {
				t.Errorf("error echoes the value: %v", err)
			}
			if b, _ := os.ReadFile(p); len(b) != 0 {
				t.Errorf("file written on refusal: %q", b)
			}
		})
	}
}

func TestWriteEnv_file_must_exist_and_be_regular(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := newFile(t, "")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"missing": filepath.Join(dir, "nope"),
		"symlink": link,
		"dir":     dir,
		"empty":   "",
	}
	for name, p := range cases {
		if err := (FileWriter{}).WriteEnv(p, []KV{{"A", "1"}}); err == nil {
			t.Errorf("%s: write succeeded, want an error", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); !os.IsNotExist(err) {
		t.Errorf("missing file was created")
	}
	if b, _ := os.ReadFile(target); len(b) != 0 {
		t.Errorf("write followed the symlink: %q", b)
	}
}

func TestWriteOutput_allows_hyphenated_names(t *testing.T) {
	t.Parallel()
	p := newFile(t, "")
	if err := (FileWriter{}).WriteOutput(p, []KV{{"aws-account-id", "123456789012"}}); err != nil {
		t.Fatal(err)
	}
	if err := (FileWriter{}).WriteEnv(p, []KV{{"aws-account-id", "1"}}); err == nil {
		t.Error("env names with hyphens must be refused")
	}
}

// FuzzWriteEnv: whatever the key and value, the runner parses back exactly the
// intended pair, or the write is refused and the file is untouched.
func FuzzWriteEnv(f *testing.F) {
	f.Add("A", "x\n_GitHubActionsFileCommandDelimeter_\nLD_PRELOAD=/tmp/evil.so\nZ<<_GitHubActionsFileCommandDelimeter_")
	f.Add("A", "\r\n=<<")
	f.Add("A\nB", "v")
	f.Add("NODE_OPTIONS", "--require /tmp/x")
	f.Add("A", "ghadelimiter_00000000000000000000000000000000")
	f.Fuzz(func(t *testing.T, key, value string) {
		p := filepath.Join(t.TempDir(), "env")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		err := (FileWriter{}).WriteEnv(p, []KV{{key, value}})
		b, _ := os.ReadFile(p)
		if err != nil {
			if len(b) != 0 {
				t.Fatalf("refused write left %q", b)
			}
			return
		}
		got, perr := parseAsRunner(string(b))
		if perr != nil {
			t.Fatalf("runner would fail the step: %v (file %q)", perr, b)
		}
		if d := cmp.Diff([]KV{{key, value}}, got); d != "" {
			t.Fatalf("parsed (-want +got):\n%s", d)
		}
	})
}
