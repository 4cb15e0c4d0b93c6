package cfn

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Untrusted makes text that came from AWS (reasons, events, outputs, error
// messages) safe to print on one log line or to put into an error: control
// characters and line separators are escaped visibly (\n, \r, \t, \x1b,
// \u2028, ...), invalid UTF-8 bytes become \xNN, "##[" is broken up anywhere
// and a leading "::" (after spaces, which the runner trims) is broken up, so
// the text can never start a workflow command.
func Untrusted(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r):
			// C1 controls (NEL), line separators and invisible format
			// characters (bidi overrides, zero-width) can hide text.
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	out := strings.ReplaceAll(b.String(), "##[", "## [")
	trimmed := strings.TrimLeftFunc(out, unicode.IsSpace)
	if strings.HasPrefix(trimmed, "::") {
		lead := len(out) - len(trimmed)
		out = out[:lead] + ": :" + trimmed[2:]
	}
	return out
}

// markdownCell escapes untrusted text for one cell of a GitHub-flavoured
// markdown table: Untrusted first (no newlines), then the characters that
// would end the cell or turn into markup, links or HTML.
func markdownCell(s string) string {
	s = Untrusted(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '&', '~', '#', '!', '@':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
