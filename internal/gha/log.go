// Package gha is the GitHub Actions runner contract: masking, logging that cannot
// be turned into workflow commands, the safe file-command writer and the OIDC
// token client.
package gha

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	githubactions "github.com/sethvargo/go-githubactions"
)

// Log writes to the job log through go-githubactions, masking secrets first and
// neutralising any line that the runner could read as a workflow command.
type Log struct {
	mu     sync.Mutex
	action *githubactions.Action
	masked map[string]bool
}

// NewLog returns a Log writing to w. The runner hides ::debug:: lines unless
// step debug is on, so the Log needs no debug flag of its own.
func NewLog(w io.Writer) *Log {
	return &Log{
		action: githubactions.New(githubactions.WithWriter(&safeWriter{w: w})),
		masked: map[string]bool{},
	}
}

// Mask registers a secret with the runner before anything could print it. The
// whole value and each of its lines are registered, because runners older than
// runner#1521 match masks line by line only.
func (l *Log) Mask(secret string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maskLocked(secret)
	for _, line := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\n' || r == '\r' }) {
		l.maskLocked(strings.TrimSpace(line))
	}
}

func (l *Log) maskLocked(s string) {
	if strings.TrimSpace(s) == "" || l.masked[s] {
		return
	}
	l.masked[s] = true
	l.action.AddMask(s)
}

// Infof prints a progress line, one log line per line of the message, each
// escaped: no caller has to remember that its text came from AWS.
func (l *Log) Infof(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(fmt.Sprintf(format, args...), "\n") {
		l.action.Infof("%s", Neutralize(line))
	}
}

// Debugf prints a line shown only with step debug on. The message keeps its
// line breaks (the library escapes them, so it stays one command); each line
// is escaped.
func (l *Log) Debugf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.action.Debugf("%s", neutralizeLines(fmt.Sprintf(format, args...)))
}

// Noticef prints a notice annotation, escaped like Debugf.
func (l *Log) Noticef(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.action.Noticef("%s", neutralizeLines(fmt.Sprintf(format, args...)))
}

// Warningf prints a warning annotation, escaped like Debugf.
func (l *Log) Warningf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.action.Warningf("%s", neutralizeLines(fmt.Sprintf(format, args...)))
}

// Errorf prints an error annotation, escaped like Debugf.
func (l *Log) Errorf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.action.Errorf("%s", neutralizeLines(fmt.Sprintf(format, args...)))
}

// Group opens a collapsible log group and returns the function that closes it.
func (l *Log) Group(title string) (end func()) {
	l.mu.Lock()
	l.action.Group(Neutralize(title))
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.action.EndGroup()
		})
	}
}

// neutralizeLines escapes each line of a multi-line message.
func neutralizeLines(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, line := range lines {
		lines[i] = Neutralize(line)
	}
	return strings.Join(lines, "\n")
}

// Neutralize is the one escaper for text the log prints. It makes one line
// safe whatever its source (AWS reasons, events, outputs, error messages):
// control characters and line separators are escaped visibly (\r, \x1b,
// \u2028, ...) because the runner's .NET reader also splits on them, invalid
// UTF-8 bytes become \xNN, invisible format characters (bidi overrides,
// zero-width) that can hide text are shown, "##[" (a legacy command anywhere
// in a line) is broken up, and a leading "::" (after the white space the
// runner trims) is broken up.
func Neutralize(line string) string {
	var b strings.Builder
	b.Grow(len(line))
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, line[i])
		case r == '\t':
			b.WriteByte('\t')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(line[i : i+size])
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

// safeWriter swallows write errors: the library panics on them, and a closed
// stdout must not crash the action after credentials were written.
type safeWriter struct {
	w   io.Writer
	err error
}

func (s *safeWriter) Write(p []byte) (int, error) {
	if s.err == nil {
		_, s.err = s.w.Write(p)
	}
	return len(p), nil
}
