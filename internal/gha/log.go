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

	githubactions "github.com/sethvargo/go-githubactions"
)

// Log writes to the job log through go-githubactions, masking secrets first and
// neutralising any line that the runner could read as a workflow command.
type Log struct {
	mu     sync.Mutex
	action *githubactions.Action
	masked map[string]bool
	debug  bool
}

// NewLog returns a Log writing to w. debug mirrors RUNNER_DEBUG / ACTIONS_STEP_DEBUG;
// the runner hides ::debug:: lines itself, debug only says whether it will show them.
func NewLog(w io.Writer, debug bool) *Log {
	return &Log{
		action: githubactions.New(githubactions.WithWriter(&safeWriter{w: w})),
		masked: map[string]bool{},
		debug:  debug,
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

// Infof prints a progress line. Every line of the result is neutralised, so
// untrusted text (AWS messages, stack events) can never start a command.
func (l *Log) Infof(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	for _, line := range strings.Split(strings.ReplaceAll(msg, "\r", "\n"), "\n") {
		l.action.Infof("%s", Neutralize(line))
	}
}

// Debugf prints a line shown only with step debug on. The library escapes the
// message, so it stays one command.
func (l *Log) Debugf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.action.Debugf("%s", fmt.Sprintf(format, args...))
}

// Warningf prints a warning annotation.
func (l *Log) Warningf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.action.Warningf("%s", fmt.Sprintf(format, args...))
}

// Errorf prints an error annotation.
func (l *Log) Errorf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.action.Errorf("%s", fmt.Sprintf(format, args...))
}

// Group opens a collapsible log group and returns the function that closes it.
func (l *Log) Group(title string) (end func()) {
	l.mu.Lock()
	l.action.Group(title)
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

// DebugEnabled reports whether the runner shows debug lines.
func (l *Log) DebugEnabled() bool { return l.debug }

// Neutralize makes one line of text safe to print: the runner reads a line as a
// command when it starts with "::" after trimming, and legacy "##[" commands
// anywhere in it, and .NET's line reader also splits on a bare '\r'.
func Neutralize(line string) string {
	line = strings.Map(func(r rune) rune {
		if r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return '\uFFFD'
		}
		return r
	}, line)
	line = strings.ReplaceAll(line, "##[", "##\u00a0[")
	trimmed := strings.TrimLeftFunc(line, func(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' })
	if strings.HasPrefix(trimmed, "::") {
		line = "\u00bb " + line
	}
	return line
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
