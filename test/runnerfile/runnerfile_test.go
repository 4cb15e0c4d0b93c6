package runnerfile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse_runner_semantics(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     []KV
		wantErr  bool
	}{
		{"assignment", "A=1\nB=x=y\n", []KV{{"A", "1"}, {"B", "x=y"}}, false},
		{"heredoc", "A<<EOF\nl1\nl2\nEOF\n", []KV{{"A", "l1\nl2"}}, false},
		{"equals_before_heredoc", "A=x<<EOF\n", []KV{{"A", "x<<EOF"}}, false},
		{"missing_delimiter", "A<<EOF\nl1\n", nil, true},
		{"no_separator", "JUNK\n", nil, true},
		{"blank_lines", "\n\nA=1\n", []KV{{"A", "1"}}, false},
	}
	for _, tc := range cases {
		got, err := Parse(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if !tc.wantErr {
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, d)
			}
		}
	}
}

// Map is what a later step's environment holds, so a name set twice must
// keep its last value, and a file the runner rejects must not be half-read.
func TestMap_last_value_wins(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     map[string]string
		wantErr  bool
	}{
		{"empty_file", "", map[string]string{}, false},
		{"set_twice", "A=1\nB<<EOF\nx\nEOF\nA=2\n", map[string]string{"A": "2", "B": "x"}, false},
		{"rejected", "A=1\nJUNK\n", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Map(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tc.wantErr)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// BenchmarkParse reads back what the action writes after assuming a role:
// five heredoc pairs with random-looking delimiters, as gha.FileWriter
// writes them (the package may not import it, so the text is built here).
func BenchmarkParse(b *testing.B) {
	pairs := []KV{
		{Key: "AWS_ACCESS_KEY_ID", Value: "ASIAIOSFODNN7EXAMPLE"},
		{Key: "AWS_SECRET_ACCESS_KEY", Value: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		{Key: "AWS_SESSION_TOKEN", Value: strings.Repeat("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ", 16)},
		{Key: "AWS_REGION", Value: "ap-northeast-1"},
		{Key: "AWS_DEFAULT_REGION", Value: "ap-northeast-1"},
	}
	var sb strings.Builder
	for i, p := range pairs {
		delim := fmt.Sprintf("ghadelimiter_%032x", i+1)
		fmt.Fprintf(&sb, "%s<<%s\n%s\n%s\n", p.Key, delim, p.Value, delim)
	}
	text := sb.String()
	if got, err := Parse(text); err != nil || len(got) != len(pairs) {
		b.Fatalf("Parse = %d pairs, %v", len(got), err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
