package cfn

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// markdownCell escapes untrusted text (AWS reasons, names, outputs) for one
// cell of a GitHub-flavoured markdown table: control characters and line
// breaks become visible escapes so the cell stays on its row, then the
// characters that would end the cell or turn into markup, links, mentions
// or HTML are backslash-escaped. The job log escapes its own lines; this is
// only for the step summary.
func markdownCell(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\\n`)
		case r == '\r':
			b.WriteString(`\\r`)
		case r == '\t':
			b.WriteString(`\\t`)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\\x%02x`, r)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, `\\u%04x`, r)
		default:
			switch r {
			case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '&', '~', '#', '!', '@':
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}
