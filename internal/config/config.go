// Package config is the only place that turns the action's inputs into a
// typed plan: the credential request for awsauth, the deploy options for cfn
// (template loaded and checked), and what to write for later steps. It
// validates every input before any network call and reports all problems
// together, each naming the input, what is wrong and how to fix it.
package config

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/cfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
)

// Plan is the validated input of one run.
type Plan struct {
	Region string
	// Auth is the credential flow.
	Auth awsauth.Request
	// Deploy is nil when the step only configures credentials.
	Deploy *cfn.Options
	// Review is set with pr-comment: the pull request whose sticky comment
	// reports the change set.
	Review *Review
	// Commit is the commit the change set is computed for, as the reports
	// name it: the pull request's head on a pull request (the one its
	// author pushed), GITHUB_SHA otherwise.
	Commit string
	// Export says what later steps get.
	Export Export
	// ActionTimeout is action-timeout-s; zero means no limit beyond the
	// phases' own budgets. Deadline is when it runs out, zero without one.
	ActionTimeout time.Duration
	Deadline      time.Time
	// STSEndpoint and Proxy are the sts-endpoint and http-proxy inputs;
	// nil when not set.
	STSEndpoint, Proxy *url.URL
	// Warnings are shown before anything runs.
	Warnings []string
}

// Export is what the step hands to later steps.
type Export struct {
	// Env writes the credentials and region to GITHUB_ENV.
	Env bool
	// UnsetCurrent blanks the credential variables when Env is false.
	UnsetCurrent bool
	// Credentials also sets them as step outputs.
	Credentials bool
}

// Getter returns a raw input value by its action.yml name (e.g. "aws-region").
type Getter func(name string) string

// Env returns an environment variable of the job.
type Env func(key string) string

// Options are Load's replaceable parts; zero fields take the real thing.
type Options struct {
	// Runner is the runner contract; default: read from env.
	Runner *gha.Runner
	// ReadFile reads files the user named (after workspace resolution).
	ReadFile func(string) ([]byte, error)
	// Now is the clock for the deadline and default names.
	Now func() time.Time
}

// MaxFileSize bounds the files the action reads (template, parameter and
// token files): CloudFormation reads at most 1 MB from S3.
const MaxFileSize = 2 << 20

// Load reads and validates every input. The error joins all problems;
// secret values never appear in it. The Plan is valid only when the error
// is nil. ctx bounds template loading together with action-timeout-s.
func Load(ctx context.Context, in Getter, env Env, optFns ...func(*Options)) (*Plan, error) {
	o := Options{}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Runner == nil {
		r := gha.ReadRunner(env)
		o.Runner = &r
	}
	if o.ReadFile == nil {
		o.ReadFile = func(p string) ([]byte, error) { return gha.ReadFile(p, MaxFileSize) }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &loader{in: in, env: env, o: o, p: &problems{}, plan: &Plan{}}
	l.load(ctx)
	if len(l.p.errs) > 0 {
		return nil, errors.Join(l.p.errs...)
	}
	return l.plan, nil
}

// loader carries one Load.
type loader struct {
	in   Getter
	env  Env
	o    Options
	p    *problems
	plan *Plan
}

// get returns an input with surrounding white space removed.
func (l *loader) get(name string) string { return strings.TrimSpace(l.in(name)) }

func (l *loader) boolean(name string, def bool) bool {
	return parseBool(l.p, name, l.get(name), def)
}

func (l *loader) load(ctx context.Context) {
	start := l.o.Now()
	l.loadTimeout(start)
	l.loadRegion()
	l.loadCredentials()
	l.loadExport()
	if l.plan.Deadline.IsZero() {
		l.loadDeploy(ctx)
	} else {
		dctx, cancel := context.WithDeadline(ctx, l.plan.Deadline)
		defer cancel()
		l.loadDeploy(dctx)
	}
	l.loadReview()
}

// loadTimeout turns action-timeout-s into the run's one deadline.
func (l *loader) loadTimeout(start time.Time) {
	v := l.get("action-timeout-s")
	if v == "" {
		return
	}
	n, ok := wholeNumber(v)
	if !ok || n < 0 || n > 6*3600 {
		l.p.add("action-timeout-s", "%s must be a whole number of seconds from 0 (no limit) to 21600", show(v))
		return
	}
	if n > 0 {
		l.plan.ActionTimeout = time.Duration(n) * time.Second
		l.plan.Deadline = start.Add(l.plan.ActionTimeout)
	}
}

func (l *loader) loadRegion() {
	r := l.get("aws-region")
	l.plan.Region = r
	switch {
	case r == "":
		l.p.add("aws-region", "is required (GitHub does not enforce `required: true`); set it, e.g. `aws-region: us-east-1`")
	case !regionRe.MatchString(r):
		hint := ""
		if zoneRe.MatchString(r) {
			hint = " (that looks like an availability zone; drop the last letter)"
		}
		l.p.add("aws-region", "%s is not an AWS region%s; use a region code such as us-east-1 or ap-northeast-1", show(r), hint)
	}
}

// regionValid reports whether the region is usable for partition checks.
func (l *loader) regionValid() bool { return regionRe.MatchString(l.plan.Region) }

func (l *loader) loadExport() {
	e := &l.plan.Export
	e.Credentials = l.boolean("output-credentials", false)
	e.Env = l.boolean("output-env-credentials", true)
	e.UnsetCurrent = l.boolean("unset-current-credentials", false)
}

// problems collects every input error so the user can fix them in one go.
type problems struct{ errs []error }

func (p *problems) add(input, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("input %s: "+format, append([]any{input}, args...)...))
}
