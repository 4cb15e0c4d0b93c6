package awsauth

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
)

// GitHub is the part of the job's context that names sessions and tags them.
type GitHub struct {
	RunID, RunAttempt, Job, Repository, Workflow, Action, Actor     string
	SHA, Ref, RefName, EventName, BaseRef, HeadRef, TriggeringActor string
}

// GitHubFromEnv reads the runner's default variables.
func GitHubFromEnv(env func(string) string) GitHub {
	return GitHub{
		RunID: env("GITHUB_RUN_ID"), RunAttempt: env("GITHUB_RUN_ATTEMPT"), Job: env("GITHUB_JOB"),
		Repository: env("GITHUB_REPOSITORY"), Workflow: env("GITHUB_WORKFLOW"), Action: env("GITHUB_ACTION"),
		Actor: env("GITHUB_ACTOR"), SHA: env("GITHUB_SHA"), Ref: env("GITHUB_REF"), RefName: env("GITHUB_REF_NAME"),
		EventName: env("GITHUB_EVENT_NAME"), BaseRef: env("GITHUB_BASE_REF"), HeadRef: env("GITHUB_HEAD_REF"),
		TriggeringActor: env("GITHUB_TRIGGERING_ACTOR"),
	}
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

// SessionTags returns the tags sent with AssumeRole: required ones first, then
// the optional ones that are dropped when STS answers PackedPolicyTooLarge,
// then custom tags (which override defaults with the same key).
func SessionTags(gh GitHub, custom []config.Tag) (required, optional []config.Tag) {
	branch := gh.RefName
	if branch == "" {
		branch = strings.TrimPrefix(strings.TrimPrefix(gh.Ref, "refs/heads/"), "refs/tags/")
	}
	add := func(dst []config.Tag, k, v string) []config.Tag {
		if v = sanitizeTagValue(v); v == "" {
			return dst
		}
		return append(dst, config.Tag{Key: k, Value: v})
	}
	required = add(required, "GitHub", "Actions")
	required = add(required, "Repository", gh.Repository)
	required = add(required, "Workflow", gh.Workflow)
	required = add(required, "Action", gh.Action)
	required = add(required, "Actor", gh.Actor)
	required = add(required, "Commit", gh.SHA)
	required = add(required, "Branch", branch)
	optional = add(optional, "EventName", gh.EventName)
	optional = add(optional, "BaseRef", gh.BaseRef)
	optional = add(optional, "HeadRef", gh.HeadRef)
	optional = add(optional, "RunId", gh.RunID)
	optional = add(optional, "Job", gh.Job)
	optional = add(optional, "TriggeringActor", gh.TriggeringActor)
	override := map[string]bool{}
	for _, t := range custom {
		override[strings.ToLower(t.Key)] = true
	}
	drop := func(ts []config.Tag) []config.Tag {
		out := ts[:0:0]
		for _, t := range ts {
			if !override[strings.ToLower(t.Key)] {
				out = append(out, t)
			}
		}
		return out
	}
	required = append(drop(required), custom...)
	return required, drop(optional)
}
