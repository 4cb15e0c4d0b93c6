package cfn

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// zwsp is a zero-width space, as an HTML entity: after "@" and "#" it keeps
// GitHub from turning the text into a mention or an issue reference, and
// inside "://" and "www." from making a link of it. GitHub finds those in
// the rendered text, where a backslash escape is already gone; Dependabot
// and Renovate break mentions the same way.
const zwsp = "&#8203;"

// markdownCell escapes untrusted text (AWS reasons, names, outputs) for one
// cell of a GitHub-flavoured markdown table, or any other inline place of
// the step summary and the pull request's comment: control characters and
// line breaks become visible escapes so the cell stays on its row, the
// characters that would end the cell or turn into markup, links or HTML are
// backslash-escaped, and mentions, issue references and bare URLs are
// broken with a zero-width space. The job log escapes its own lines; this is
// for the Markdown reports.
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
			if r == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www") {
				b.WriteString(zwsp)
			}
			switch r {
			case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '&', '~', '#', '!':
				b.WriteByte('\\')
			}
			b.WriteRune(r)
			if r == '@' || r == '#' || r == ':' && strings.HasPrefix(s[i+size:], "//") {
				b.WriteString(zwsp)
			}
		}
		i += size
	}
	return b.String()
}
