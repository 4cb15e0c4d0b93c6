package gha

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
)

// KV is one name/value pair for GITHUB_ENV or GITHUB_OUTPUT.
type KV struct {
	Key, Value string
}

var (
	envKey    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	outputKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
)

// FileWriter appends to the runner's file commands. It exists instead of
// go-githubactions' SetEnv/SetOutput, whose fixed heredoc delimiter lets a value
// inject variables (the CVE-2022-35954 bug class).
type FileWriter struct {
	// Rand supplies delimiter entropy; nil means crypto/rand.
	Rand io.Reader
}

// WriteEnv appends pairs to the GITHUB_ENV file at path in one write.
func (f FileWriter) WriteEnv(path string, pairs []KV) error {
	return f.write("GITHUB_ENV", path, pairs, envKey)
}

// WriteOutput appends pairs to the GITHUB_OUTPUT file at path in one write.
func (f FileWriter) WriteOutput(path string, pairs []KV) error {
	return f.write("GITHUB_OUTPUT", path, pairs, outputKey)
}

// MaxSummary is GitHub's limit for one step's summary: a larger one is not
// shown at all.
const MaxSummary = 1 << 20

// WriteState appends pairs to the GITHUB_STATE file at path in one write; the
// runner hands them to the action's post step as STATE_<name>.
func (f FileWriter) WriteState(path string, pairs []KV) error {
	return f.write("GITHUB_STATE", path, pairs, outputKey)
}

// AppendSummary appends markdown to the GITHUB_STEP_SUMMARY file at path.
func (f FileWriter) AppendSummary(path, markdown string) error {
	return appendFile("GITHUB_STEP_SUMMARY", path, []byte(markdown))
}

func (f FileWriter) write(name, path string, pairs []KV, key *regexp.Regexp) error {
	if len(pairs) == 0 {
		return nil
	}
	var b strings.Builder
	for _, p := range pairs {
		delim, err := f.delimiter()
		if err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		if !key.MatchString(p.Key) {
			return fmt.Errorf("writing %s: refusing name %q: it must match %s", name, p.Key, key)
		}
		// Never echo the value: it may be a secret.
		if strings.Contains(p.Value, delim) {
			return fmt.Errorf("writing %s: refusing the value of %s: it contains the heredoc delimiter", name, p.Key)
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", p.Key, delim, p.Value, delim)
	}
	return appendFile(name, path, []byte(b.String()))
}

// delimiter returns a fresh 128-bit random heredoc delimiter, like @actions/core.
func (f FileWriter) delimiter() (string, error) {
	r := f.Rand
	if r == nil {
		r = rand.Reader
	}
	buf := make([]byte, 16)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", fmt.Errorf("reading randomness for the delimiter: %w", err)
	}
	return "ghadelimiter_" + hex.EncodeToString(buf), nil
}

// appendFile writes data with a single write to an existing regular file. It
// never creates the file: a missing file means the path is wrong, and a
// symlink could redirect the write.
func appendFile(name, path string, data []byte) (err error) {
	if path == "" {
		return fmt.Errorf("%s is not set: the action must run inside a GitHub Actions job (or set %s to an existing file)", name, name)
	}
	// O_NONBLOCK: a FIFO without a reader fails at once instead of
	// blocking the step forever; regular files ignore the flag.
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s points to %s, which does not exist: the runner creates it, so run the action inside a GitHub Actions job (for a local run, create the file first)", name, path)
		}
		if errors.Is(err, syscall.ELOOP) {
			return fmt.Errorf("opening %s: %s is a symbolic link; refusing to follow it", name, path)
		}
		return fmt.Errorf("opening %s: %w", name, err)
	}
	defer func() {
		if cerr := fh.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing %s: %w", name, cerr)
		}
	}()
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("checking %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("opening %s: %s is not a regular file", name, path)
	}
	if len(data) == 0 {
		return nil
	}
	n, err := fh.Write(data)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if n != len(data) {
		return fmt.Errorf("writing %s: short write (%d of %d bytes)", name, n, len(data))
	}
	return nil
}

// CheckFile verifies, before any network call, that a later write to the file
// command at path can succeed, so a bad path fails the step before anything
// is done.
func CheckFile(name, path string) error {
	return appendFile(name, path, nil)
}
