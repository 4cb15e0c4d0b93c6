package cfn

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// maxNameLen is CloudFormation's limit for stack and change set names.
const maxNameLen = 128

// Capabilities CloudFormation accepts on CreateChangeSet.
const (
	CapabilityIAM        = "CAPABILITY_IAM"
	CapabilityNamedIAM   = "CAPABILITY_NAMED_IAM"
	CapabilityAutoExpand = "CAPABILITY_AUTO_EXPAND"
)

// ValidStackName reports whether s can name a new stack: a letter, then
// letters, digits and hyphens, at most 128 characters.
func ValidStackName(s string) error {
	return validName(s, "stack name", "my-app-prod")
}

// ValidChangeSetName reports whether s can name a change set; the rules are
// the same as for stack names.
func ValidChangeSetName(s string) error {
	return validName(s, "change set name", "deploy-42")
}

func validName(s, what, example string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty: give one such as %s", what, example)
	case len(s) > maxNameLen:
		return fmt.Errorf("%s is %d characters long: CloudFormation allows at most %d", what, len(s), maxNameLen)
	case !isLetter(s[0]):
		return fmt.Errorf("%s %q must start with a letter (for example %s)", what, s, example)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '-' {
			return fmt.Errorf("%s %q contains %q: use only letters, digits and hyphens", what, s, rune(c))
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// ParseCapabilities splits a comma-, space- or newline-separated list of
// capabilities, drops duplicates and refuses unknown ones. An empty value
// gives no capabilities.
func ParseCapabilities(value string) ([]string, error) {
	var caps []string
	var errs []error
	seen := map[string]bool{}
	for _, c := range strings.FieldsFunc(value, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	}) {
		switch c {
		case CapabilityIAM, CapabilityNamedIAM, CapabilityAutoExpand:
		default:
			errs = append(errs, fmt.Errorf("unknown capability %q: use %s, %s or %s", c, CapabilityIAM, CapabilityNamedIAM, CapabilityAutoExpand))
			continue
		}
		if !seen[c] {
			seen[c] = true
			caps = append(caps, c)
		}
	}
	return caps, errors.Join(errs...)
}

// DefaultChangeSetName returns a change set name that is unique per workflow
// run, attempt and job, and valid for CloudFormation, so that re-runs and
// parallel jobs never collide (a fixed "<stack>-CS" name does). The time,
// to the millisecond, keeps apart local runs without a run ID and two deploys
// of one stack in the same job (the AWS CLI's per-second names collide there).
func DefaultChangeSetName(runID, attempt, job string, now time.Time) string {
	parts := []string{"deploy"}
	for _, p := range []string{job, runID, attempt} {
		if p = sanitizeName(p); p != "" {
			parts = append(parts, p)
		}
	}
	stamp := now.UTC().Format("20060102t150405") + fmt.Sprintf("%03d", now.Nanosecond()/int(time.Millisecond))
	name := strings.Join(parts, "-")
	if max := maxNameLen - len(stamp) - 1; len(name) > max {
		name = strings.TrimRight(name[:max], "-")
	}
	return name + "-" + stamp
}

// sanitizeName keeps letters and digits and turns every other run of
// characters into one hyphen.
func sanitizeName(s string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isLetter(c) || isDigit(c) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteByte(c)
			continue
		}
		dash = true
	}
	return b.String()
}

// PreviewPrefix starts the name of every pull-request preview change set.
// iam/bootstrap.yaml keys on it: the preview role may create and delete
// only change sets so named, and the deploy role may never execute one.
const PreviewPrefix = "preview-"

// shortSHA is how many hex digits of a commit a preview name keeps.
const shortSHA = 7

// PreviewChangeSetName names the preview change set of pull request pr at
// commit sha: preview-pr<N>-<first 7 hex digits>, so the console shows
// which pull request and push it came from.
func PreviewChangeSetName(pr int, sha string) string {
	s := sanitizeName(sha)
	if len(s) > shortSHA {
		s = s[:shortSHA]
	}
	if s == "" {
		s = "head"
	}
	return previewPRPrefix(pr) + strings.ToLower(s)
}

// previewPRPrefix starts the names of one pull request's previews.
func previewPRPrefix(pr int) string { return fmt.Sprintf("%spr%d-", PreviewPrefix, pr) }

// IsPreviewChangeSetName reports a change set name, or change set ARN,
// reserved for previews, which are never executed.
func IsPreviewChangeSetName(nameOrARN string) bool {
	if _, after, ok := strings.Cut(nameOrARN, ":changeSet/"); ok && strings.HasPrefix(nameOrARN, "arn:") {
		nameOrARN = after
	}
	return strings.HasPrefix(nameOrARN, PreviewPrefix)
}
