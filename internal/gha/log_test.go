package gha

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLog_neutralises_untrusted_lines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := NewLog(&buf)
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
	l := NewLog(&buf)
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
	NewLog(&buf).Errorf("bad\n::add-mask::x")
	if got := strings.Count(buf.String(), "\n"); got != 1 {
		t.Errorf("error spans %d lines: %q", got, buf.String())
	}
}

func TestNeutralize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{name: "plain", in: "Access Denied", want: "Access Denied"},
		{name: "newlines", in: "a\r\nb", want: `a\r\nb`},
		{name: "command_at_start", in: "::add-mask::x", want: ": :add-mask::x"},
		{name: "command_after_spaces", in: "  ::stop-commands::t", want: "  : :stop-commands::t"},
		{name: "command_after_newline", in: "x\n::error::y", want: `x\n::error::y`},
		{name: "tab_kept", in: "a\tb", want: "a\tb"},
		{name: "old_command_anywhere", in: "x ##[error]y", want: "x ## [error]y"},
		{name: "ansi_escape", in: "\x1b[31mred", want: `\x1b[31mred`},
		{name: "nel_and_separators", in: "a\u0085b\u2028c", want: `a\u0085b\u2028c`},
		{name: "bidi_override", in: "a\u202eb", want: `a\u202eb`},
		{name: "invalid_utf8", in: "a\xffb", want: `a\xffb`},
		{name: "unicode_kept", in: "Zoë 日本", want: "Zoë 日本"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Neutralize(tc.in); got != tc.want {
				t.Errorf("Neutralize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzNeutralize(f *testing.F) {
	for _, s := range []string{"::stop-commands::x", " \u00a0::error::x", "a##[b", " \t::x", "a\nb\r", "\u2028::x", "\x85::", ":\x00:", "#\x00#["} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Neutralize(s)
		if strings.ContainsAny(got, "\n\r\u0085\u2028\u2029") {
			t.Fatalf("Neutralize(%q) = %q contains a line break", s, got)
		}
		if strings.HasPrefix(strings.TrimLeft(got, " \t\v\f\u00a0\ufeff"), "::") || strings.HasPrefix(strings.TrimSpace(got), "::") {
			t.Fatalf("Neutralize(%q) = %q starts a workflow command", s, got)
		}
		if strings.Contains(got, "##[") {
			t.Fatalf("Neutralize(%q) = %q contains ##[", s, got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Neutralize(%q) = %q is not valid UTF-8", s, got)
		}
	})
}

// Every Log method escapes, so no caller has to.
func TestLog_every_method_escapes(t *testing.T) {
	t.Parallel()
	hostile := "x\n::add-mask::y\r##[set-output name=a]b"
	for name, call := range map[string]func(*Log){
		"info":    func(l *Log) { l.Infof("%s", hostile) },
		"debug":   func(l *Log) { l.Debugf("%s", hostile) },
		"warning": func(l *Log) { l.Warningf("%s", hostile) },
		"error":   func(l *Log) { l.Errorf("%s", hostile) },
		"group":   func(l *Log) { l.Group(hostile)() },
	} {
		var buf bytes.Buffer
		call(NewLog(&buf))
		for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
			cmd := strings.HasPrefix(strings.TrimSpace(line), "::")
			own := strings.HasPrefix(line, "::debug::") || strings.HasPrefix(line, "::warning::") || strings.HasPrefix(line, "::error::") ||
				strings.HasPrefix(line, "::group::") || line == "::endgroup::"
			if (cmd && !own) || strings.Contains(line, "##[") || strings.Contains(line, "\r") {
				t.Errorf("%s: line could be read as a command: %q", name, line)
			}
		}
	}
}
