package gha

import (
	"bytes"
	"strings"
	"testing"
)

func TestLog_neutralises_untrusted_lines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := NewLog(&buf, false)
	l.Infof("event: %s", "reason\n::stop-commands::x\r::add-mask::abc\n  ::error::boom\n##[set-output name=a]b")
	for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "::") || strings.Contains(line, "##[") || strings.Contains(line, "\r") {
			t.Errorf("line could be read as a command: %q", line)
		}
	}
}

func TestLog_mask_each_line_once(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := NewLog(&buf, false)
	l.Mask("line1\nline2")
	l.Mask("line1\nline2")
	l.Mask("  ")
	want := "::add-mask::line1%0Aline2\n::add-mask::line1\n::add-mask::line2\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestLog_error_annotation_is_one_line(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	NewLog(&buf, false).Errorf("bad\n::add-mask::x")
	if got := strings.Count(buf.String(), "\n"); got != 1 {
		t.Errorf("error spans %d lines: %q", got, buf.String())
	}
}

func FuzzNeutralize(f *testing.F) {
	f.Add("::stop-commands::x")
	f.Add(" \u00a0::error::x")
	f.Add("a##[b")
	f.Fuzz(func(t *testing.T, s string) {
		got := Neutralize(s)
		if strings.ContainsAny(got, "\r\n") || strings.Contains(got, "##[") {
			t.Fatalf("Neutralize(%q) = %q", s, got)
		}
		if strings.HasPrefix(strings.TrimSpace(got), "::") {
			t.Fatalf("Neutralize(%q) = %q starts a command", s, got)
		}
	})
}
