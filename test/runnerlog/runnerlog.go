// Package runnerlog renders an action's stdout the way GitHub's job log shows
// it: workflow commands processed, registered secrets replaced by ***, debug
// lines hidden unless step debug is on. The sandbox and the secret tests use it.
package runnerlog

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// Log is a job log under construction; masks persist across steps, as they
// do for a whole job.
type Log struct {
	Debug   bool
	secrets map[string]bool
	stopped string // the stop-commands token, while commands are stopped
}

// New returns an empty job log.
func New(debug bool) *Log { return &Log{Debug: debug, secrets: map[string]bool{}} }

// Secrets returns the registered masks.
func (l *Log) Secrets() []string {
	out := make([]string, 0, len(l.secrets))
	for s := range l.secrets {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func unescape(s string) string {
	r := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
	return r.Replace(s)
}

// Render processes one step's stdout and returns what the log shows.
func (l *Log) Render(stdout string) string {
	var b strings.Builder
	lines := strings.FieldsFunc(stdout, func(r rune) bool { return r == '\n' || r == '\r' })
	for _, line := range lines {
		t := strings.TrimSpace(line)
		if l.stopped != "" {
			if t == "::"+l.stopped+"::" {
				l.stopped = ""
				continue
			}
			b.WriteString(l.Mask(line) + "\n")
			continue
		}
		if !strings.HasPrefix(t, "::") {
			b.WriteString(l.Mask(line) + "\n")
			continue
		}
		cmd, data, _ := strings.Cut(t[2:], "::")
		name, _, _ := strings.Cut(cmd, " ")
		data = unescape(data)
		switch name {
		case "add-mask":
			l.add(data)
		case "stop-commands":
			l.stopped = data
		case "debug":
			if l.Debug {
				b.WriteString(l.Mask("##[debug]"+data) + "\n")
			}
		case "group":
			b.WriteString("▼ " + l.Mask(data) + "\n")
		case "endgroup":
			b.WriteString("▲\n")
		case "error", "warning", "notice":
			prefix := map[string]string{"error": "Error: ", "warning": "Warning: ", "notice": "Notice: "}[name]
			for _, dl := range strings.Split(data, "\n") {
				b.WriteString(l.Mask(prefix+dl) + "\n")
				prefix = "  "
			}
		default:
			b.WriteString(l.Mask(line) + "\n")
		}
	}
	return b.String()
}

// add registers a secret with the encodings the runner also masks.
func (l *Log) add(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	l.secrets[s] = true
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			l.secrets[line] = true
		}
	}
	l.secrets[base64.StdEncoding.EncodeToString([]byte(s))] = true
	l.secrets[url.QueryEscape(s)] = true
	if j, err := json.Marshal(s); err == nil {
		l.secrets[strings.Trim(string(j), `"`)] = true
	}
}

// Mask replaces every registered secret in line with ***, longest first.
func (l *Log) Mask(line string) string {
	ss := l.Secrets()
	sort.Slice(ss, func(i, j int) bool { return len(ss[i]) > len(ss[j]) })
	for _, s := range ss {
		if s != "" {
			line = strings.ReplaceAll(line, s, "***")
		}
	}
	return line
}
