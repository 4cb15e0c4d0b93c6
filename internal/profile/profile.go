// Package profile writes and removes named profiles in the AWS shared
// credentials and config files (aws-profile), keeping every other line of
// them byte for byte.
//
// It edits sections as blocks of lines instead of parsing and re-serialising
// the files: the AWS dialect has nested values (an indented "s3 =" block) and
// comments that a general INI library rewrites (gopkg.in/ini.v1 v1.68.0 turned
// a nested s3 block into a """-quoted string, which the AWS CLI cannot read),
// and the SDK's own parser is internal.
package profile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Files are the shared credentials and config files of one profile write.
type Files struct{ Credentials, Config string }

// Credentials are what a profile holds; SessionToken is empty for IAM-user keys.
type Credentials struct{ AccessKeyID, SecretAccessKey, SessionToken string }

// maxSize bounds the files read: a shared config file is a few kilobytes.
const maxSize = 1 << 20

// ValidateName checks a profile name as configure-aws-credentials does
// (profileManager.ts validateProfileName), plus control characters.
func ValidateName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("must not be empty")
	case strings.IndexFunc(name, unicode.IsSpace) >= 0:
		return errors.New("must not contain whitespace")
	case strings.ContainsAny(name, "[]"):
		return errors.New("must not contain brackets")
	case strings.ContainsAny(name, `/\`):
		return errors.New("must not contain path separators")
	case strings.IndexFunc(name, unicode.IsControl) >= 0 || !utf8.ValidString(name):
		return errors.New("must not contain control characters or invalid UTF-8")
	}
	return nil
}

// CredentialsSection is the profile's section in the credentials file.
func CredentialsSection(name string) string { return name }

// ConfigSection is the profile's section in the config file: [default] or
// [profile NAME].
func ConfigSection(name string) string {
	if name == "default" {
		return "default"
	}
	return "profile " + name
}

// Exists reports whether either file already has a section of the profile.
func (f Files) Exists(name string) (bool, error) {
	for _, fs := range []struct{ path, section string }{{f.Credentials, CredentialsSection(name)}, {f.Config, ConfigSection(name)}} {
		data, err := readFile(fs.path)
		if err != nil {
			return false, err
		}
		if _, _, ok := findSection(splitLines(data), fs.section); ok {
			return true, nil
		}
	}
	return false, nil
}

// Write writes the profile: credentials to the credentials file, region to
// the config file. Other sections stay as they are; the profile's own are
// replaced only with overwrite. Both files end up mode 0600, their
// directories are created 0700, and neither may be a symbolic link.
func (f Files) Write(name string, c Credentials, region string, overwrite bool) error {
	if err := ValidateName(name); err != nil {
		return fmt.Errorf("aws-profile %w", err)
	}
	creds := []string{"aws_access_key_id = " + c.AccessKeyID, "aws_secret_access_key = " + c.SecretAccessKey}
	if c.SessionToken != "" {
		creds = append(creds, "aws_session_token = "+c.SessionToken)
	}
	for _, v := range append(creds, region) {
		if strings.ContainsAny(v, "\r\n") {
			return errors.New("refusing to write a value with a line break into the profile")
		}
	}
	edits := []struct {
		path, section string
		body          []string
	}{
		{f.Credentials, CredentialsSection(name), creds},
		{f.Config, ConfigSection(name), []string{"region = " + region}},
	}
	// Read and check both before writing either, so a refusal leaves both
	// files untouched.
	out := make([]string, len(edits))
	for i, e := range edits {
		data, err := readFile(e.path)
		if err != nil {
			return err
		}
		lines := splitLines(data)
		start, end, ok := findSection(lines, e.section)
		if ok && !overwrite {
			return fmt.Errorf("profile %q already exists in %s; set overwrite-aws-profile: true to replace it", name, e.path)
		}
		block := append([]string{"[" + e.section + "]"}, e.body...)
		if ok {
			// Keep the blank lines that separated it from the next section.
			blank := end
			for blank > start+1 && strings.TrimSpace(lines[blank-1]) == "" {
				blank--
			}
			block = append(block, lines[blank:end]...)
			lines = replace(lines, start, end, block)
		} else {
			if n := len(lines); n > 0 && strings.TrimSpace(lines[n-1]) != "" {
				lines = append(lines, "")
			}
			lines = append(lines, block...)
		}
		out[i] = joinLines(lines)
	}
	for i, e := range edits {
		if err := writeFile(e.path, out[i]); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes the profile's sections from both files, leaving the rest;
// missing files and sections are not an error.
func (f Files) Remove(name string) error {
	if err := ValidateName(name); err != nil {
		return fmt.Errorf("aws-profile %w", err)
	}
	var errs []error
	for _, e := range []struct{ path, section string }{{f.Credentials, CredentialsSection(name)}, {f.Config, ConfigSection(name)}} {
		data, err := readFile(e.path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		lines := splitLines(data)
		start, end, ok := findSection(lines, e.section)
		if !ok {
			continue
		}
		lines = replace(lines, start, end, nil)
		// Drop a blank separator left dangling at the end of the file.
		for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
			lines = lines[:len(lines)-1]
		}
		if err := writeFile(e.path, joinLines(lines)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func replace(lines []string, start, end int, block []string) []string {
	out := make([]string, 0, len(lines)-(end-start)+len(block))
	out = append(out, lines[:start]...)
	out = append(out, block...)
	return append(out, lines[end:]...)
}

// splitLines splits a file into lines without their "\n"; a "\r" stays with
// its line and is only ignored when matching headers.
func splitLines(data string) []string {
	if data == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(data, "\n"), "\n")
}

func joinLines(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// header returns the section name of a header line. A header starts the
// line, or follows a blank line or another header when indented: an
// indented bracket line after a key is part of that key's nested value, as
// botocore reads it.
func header(lines []string, i int) (string, bool) {
	line := strings.TrimRight(lines[i], "\r")
	t := strings.TrimSpace(line)
	end := strings.IndexByte(t, ']')
	if !strings.HasPrefix(t, "[") || end < 0 {
		return "", false
	}
	if rest := strings.TrimSpace(t[end+1:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
		return "", false
	}
	t = t[:end+1]
	if line[0] == ' ' || line[0] == '\t' {
		if i > 0 {
			prev := strings.TrimSpace(lines[i-1])
			if prev != "" && !strings.HasPrefix(prev, "[") {
				return "", false
			}
		}
	}
	return strings.Join(strings.Fields(t[1:len(t)-1]), " "), true
}

// findSection returns the lines [start, end) of the section, from its header
// to the next header.
func findSection(lines []string, section string) (start, end int, ok bool) {
	for i := range lines {
		if name, isHeader := header(lines, i); isHeader && name == section {
			return i, sectionEnd(lines, i), true
		}
	}
	return 0, 0, false
}

func sectionEnd(lines []string, start int) int {
	for j := start + 1; j < len(lines); j++ {
		if _, isHeader := header(lines, j); isHeader {
			return j
		}
	}
	return len(lines)
}

// refuseLinks refuses a file or directory that is a symbolic link, so a link
// planted in the home cannot redirect secrets into another file.
func refuseLinks(paths ...string) error {
	for _, p := range paths {
		st, err := os.Lstat(p)
		if err == nil && st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("refusing %s: it is a symbolic link", p)
		}
	}
	return nil
}

// readFile reads a shared file; a missing one is empty.
func readFile(path string) (string, error) {
	if err := refuseLinks(path, filepath.Dir(path)); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("reading %s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > maxSize {
		return "", fmt.Errorf("reading %s: larger than %d bytes", path, maxSize)
	}
	return string(b), nil
}

// writeFile replaces path with data, mode 0600, through a temporary file in
// the same directory and a rename, so a reader never sees half a file.
func writeFile(path, data string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := refuseLinks(path, dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
