package awsauth

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode/utf8"
)

// GitHub is the part of the job's context that names sessions and tags them.
// Its fields match the runner contract's job identity, so the caller can
// convert one into the other.
type GitHub struct {
	RunID, RunAttempt, Job, Repository, Workflow, Action, Actor     string
	SHA, Ref, RefName, EventName, BaseRef, HeadRef, TriggeringActor string
}

var sessionBad = regexp.MustCompile(`[^\w+=,.@-]+`)

// DefaultSessionName builds a session name that is unique per job and traceable
// in CloudTrail: GitHubActions-RUN-ATTEMPT-JOB-DISCRIMINATOR. Matrix jobs share
// the run and job, so discriminator (stack name or region) or a random suffix
// tells them apart.
func DefaultSessionName(gh GitHub, discriminator string) string {
	if discriminator == "" {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		discriminator = hex.EncodeToString(b)
	}
	clean := func(s string) string { return strings.Trim(sessionBad.ReplaceAllString(s, "_"), "_") }
	head := "GitHubActions"
	if gh.RunID != "" {
		head += "-" + clean(gh.RunID)
		if gh.RunAttempt != "" {
			head += "-" + clean(gh.RunAttempt)
		}
	}
	tail := "-" + clean(discriminator)
	job := clean(gh.Job)
	if job != "" {
		job = "-" + job
	}
	// Keep head and tail; the job name gives way first, then the discriminator.
	const max = 64
	if room := max - len(head) - len(tail); len(job) > room {
		job = job[:max0(room)]
	}
	name := head + job + tail
	if len(name) > max {
		name = name[:max]
	}
	return strings.TrimRight(name, "-")
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

var tagBad = regexp.MustCompile(`[^\p{L}\p{Z}\p{N}_.:/=+\-@]`)

// sanitizeTagValue replaces characters STS refuses and cuts to 256 characters.
func sanitizeTagValue(v string) string {
	v = tagBad.ReplaceAllString(v, "_")
	if utf8.RuneCountInString(v) > 256 {
		v = string([]rune(v)[:256])
	}
	return v
}

// defaultTags are the session tags sent with AssumeRole, in order, with the
// keys and values of configure-aws-credentials v6.2.3 (assumeRole.ts), so
// trust and ABAC policies written for it match: Branch is GITHUB_REF
// (refs/heads/main, refs/pull/42/merge), not the short name. Required ones
// stay when STS answers PackedPolicyTooLarge; the others are dropped. Every
// key is protected: custom-tags may not set it (ProtectedTagKey).
var defaultTags = []struct {
	key      string
	required bool
	value    func(GitHub) string
}{
	{"GitHub", true, func(GitHub) string { return "Actions" }},
	{"Repository", true, func(g GitHub) string { return g.Repository }},
	{"Workflow", true, func(g GitHub) string { return g.Workflow }},
	{"Action", true, func(g GitHub) string { return g.Action }},
	{"Actor", true, func(g GitHub) string { return g.Actor }},
	{"Commit", true, func(g GitHub) string { return g.SHA }},
	{"Branch", true, func(g GitHub) string { return g.Ref }},
	{"EventName", false, func(g GitHub) string { return g.EventName }},
	{"BaseRef", false, func(g GitHub) string { return g.BaseRef }},
	{"HeadRef", false, func(g GitHub) string { return g.HeadRef }},
	{"RunId", false, func(g GitHub) string { return g.RunID }},
	{"Job", false, func(g GitHub) string { return g.Job }},
	{"TriggeringActor", false, func(g GitHub) string { return g.TriggeringActor }},
}

// ProtectedTagKey reports whether key is one of the action's own session tag
// keys, which custom-tags may not set: a workflow author could otherwise
// claim another repository or branch to a policy that trusts
// aws:PrincipalTag. STS treats tag keys case-insensitively, so the check does
// too (configure-aws-credentials compares case-sensitively).
func ProtectedTagKey(key string) bool {
	for _, d := range defaultTags {
		if strings.EqualFold(d.key, key) {
			return true
		}
	}
	return false
}

// ProtectedTagKeys lists the protected keys, for messages.
func ProtectedTagKeys() []string {
	keys := make([]string, len(defaultTags))
	for i, d := range defaultTags {
		keys[i] = d.key
	}
	return keys
}

// DefaultTagCount is how many of the action's own tags this job sends (tags
// with an empty value are left out), which custom tags must leave room for
// within STS's limit of 50.
func DefaultTagCount(gh GitHub) int {
	required, optional := SessionTags(gh, nil)
	return len(required) + len(optional)
}

// SessionTags returns the tags sent with AssumeRole: the action's required
// ones first, then the optional ones that are dropped when STS answers
// PackedPolicyTooLarge, then the custom tags (whose keys the caller has
// checked with ProtectedTagKey).
func SessionTags(gh GitHub, custom []Tag) (required, optional []Tag) {
	for _, d := range defaultTags {
		v := sanitizeTagValue(d.value(gh))
		if v == "" {
			continue
		}
		if d.required {
			required = append(required, Tag{Key: d.key, Value: v})
		} else {
			optional = append(optional, Tag{Key: d.key, Value: v})
		}
	}
	return append(required, custom...), optional
}
