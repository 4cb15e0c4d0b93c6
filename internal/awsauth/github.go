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

// defaultTags are the session tags sent with AssumeRole, in order. Required
// ones stay when STS answers PackedPolicyTooLarge; the others are dropped.
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
	{"Branch", true, branchOf},
	{"EventName", false, func(g GitHub) string { return g.EventName }},
	{"BaseRef", false, func(g GitHub) string { return g.BaseRef }},
	{"HeadRef", false, func(g GitHub) string { return g.HeadRef }},
	{"RunId", false, func(g GitHub) string { return g.RunID }},
	{"Job", false, func(g GitHub) string { return g.Job }},
	{"TriggeringActor", false, func(g GitHub) string { return g.TriggeringActor }},
}

// RequiredTagCount is how many of the action's own tags always reach STS,
// which custom tags must leave room for.
func RequiredTagCount() int {
	n := 0
	for _, t := range defaultTags {
		if t.required {
			n++
		}
	}
	return n
}

func branchOf(g GitHub) string {
	if g.RefName != "" {
		return g.RefName
	}
	return strings.TrimPrefix(strings.TrimPrefix(g.Ref, "refs/heads/"), "refs/tags/")
}

// SessionTags returns the tags sent with AssumeRole: required ones first, then
// the optional ones that are dropped when STS answers PackedPolicyTooLarge,
// then custom tags (which override defaults with the same key).
func SessionTags(gh GitHub, custom []Tag) (required, optional []Tag) {
	override := map[string]bool{}
	for _, t := range custom {
		override[strings.ToLower(t.Key)] = true
	}
	for _, d := range defaultTags {
		v := sanitizeTagValue(d.value(gh))
		if v == "" || override[strings.ToLower(d.key)] {
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
