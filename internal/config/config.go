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
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/cfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/profile"
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
	// STSEndpoint is the sts-endpoint input; nil when not set.
	STSEndpoint *url.URL
	// Proxy is the proxy for every call (AWS and the OIDC token): the
	// http-proxy input, else HTTPS_PROXY, else HTTP_PROXY (either case, as
	// configure-aws-credentials uses one proxy for both schemes); nil for
	// none. NoProxy is the no-proxy input, else NO_PROXY: hosts reached
	// directly in every case.
	Proxy   *url.URL
	NoProxy string
	// UseExisting is use-existing-credentials: when the SDK's default chain
	// already holds valid credentials, the step stops there.
	UseExisting bool
	// DefaultChain is how to load the SDK's default credential chain, for
	// the sources that use it and for UseExisting.
	DefaultChain DefaultChain
	// Warnings are shown before anything runs; Notes too, as plain lines.
	Warnings []string
	Notes    []string
}

// DefaultChain configures the SDK's default credential chain.
type DefaultChain struct {
	// IgnoreEnvKeys skips AWS_ACCESS_KEY_ID and friends
	// (unset-current-credentials, as configure-aws-credentials blanks them
	// before loading the chain).
	IgnoreEnvKeys bool
	// CredentialsFile and ConfigFile are the shared files as this step sees
	// them ("" for the SDK's default under HOME): a path an earlier step
	// exported for the runner host is turned into the container's.
	CredentialsFile, ConfigFile string
}

// Export is what the step hands to later steps.
type Export struct {
	// Env writes the credentials and region to GITHUB_ENV
	// (output-env-credentials; default true, false with aws-profile).
	Env bool
	// UnsetCurrent blanks the credential variables for later steps when
	// the step exports none of its own; it does nothing when Env is false,
	// as in configure-aws-credentials.
	UnsetCurrent bool
	// Credentials also sets them as step outputs.
	Credentials bool
	// Profile is the named profile to write (aws-profile), or nil.
	Profile *Profile
}

// Profile is a named profile to write into the shared files.
type Profile struct {
	Name      string
	Overwrite bool
	// Files are the shared files as this step sees them.
	Files profile.Files
	// ExportFiles are the paths later steps on the runner host need in
	// AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE; empty fields need
	// no export (they already find the files there).
	ExportFiles profile.Files
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
	// Declared are the input names action.yml declares (ParseActionInputs);
	// with Environ, every other INPUT_ variable is refused. Empty skips the
	// check.
	Declared []string
	// Environ is the step's environment as KEY=VALUE lines (os.Environ).
	Environ []string
	// HTTPClient fetches https parameter files; default: a client through
	// http-proxy or the environment's proxy.
	HTTPClient *http.Client
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
	l.checkUnknownInputs()
	l.loadTimeout(start)
	l.loadRegion()
	l.loadExport()
	l.loadCredentials()
	l.loadProxy()
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
	from := ""
	// A deploy step without aws-region is an aws-cloudformation-github-deploy
	// step after a credentials step: like that action (and the SDK), it takes
	// the job's region. A credentials step never does: a region left by an
	// earlier step must not silently become its region.
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if r == "" && l.deployRequested() {
			if r = strings.TrimSpace(l.env(k)); r != "" {
				from = " (from " + k + ")"
				l.plan.Notes = append(l.plan.Notes, fmt.Sprintf("aws-region is not set: using %s from %s, as aws-cloudformation-github-deploy does", r, k))
			}
		}
	}
	l.plan.Region = r
	switch {
	case r == "":
		l.p.add("aws-region", "is required (GitHub does not enforce `required: true`); set it, e.g. `aws-region: us-east-1`")
	case regionRe.MatchString(r):
	case anyRegionRe.MatchString(r) && !zoneRe.MatchString(r) && l.customEndpoint():
		// An STS-compatible service (LocalStack, MinIO, an emulator) may
		// name its regions as it likes; configure-aws-credentials accepts
		// any ^[a-z0-9-]+$.
	case from != "":
		l.p.add("aws-region", "is not set, and %s%s is not an AWS region; set aws-region, e.g. `aws-region: us-east-1`", show(r), from)
	default:
		hint := ""
		if zoneRe.MatchString(r) {
			hint = " (that looks like an availability zone; drop the last letter)"
		}
		l.p.add("aws-region", "%s is not an AWS region%s; use a region code such as us-east-1 or ap-northeast-1 (other names of lower-case letters, digits and - are accepted with sts-endpoint or AWS_ENDPOINT_URL set, for STS-compatible services)", show(r), hint)
	}
}

// customEndpoint reports an STS endpoint other than AWS's: region names are
// then the service's business.
func (l *loader) customEndpoint() bool {
	return l.get("sts-endpoint") != "" || l.env("AWS_ENDPOINT_URL_STS") != "" || l.env("AWS_ENDPOINT_URL") != ""
}

// regionValid reports whether the region is usable for partition checks.
func (l *loader) regionValid() bool { return regionRe.MatchString(l.plan.Region) }

func (l *loader) loadExport() {
	e := &l.plan.Export
	name := l.get("aws-profile")
	e.Credentials = l.boolean("output-credentials", false)
	// configure-aws-credentials: with aws-profile the credentials go to the
	// profile, not the environment, unless asked for.
	e.Env = l.boolean("output-env-credentials", name == "")
	e.UnsetCurrent = l.boolean("unset-current-credentials", false)
	overwrite := l.boolean("overwrite-aws-profile", false)
	l.plan.UseExisting = l.boolean("use-existing-credentials", false)
	r := l.o.Runner
	l.plan.DefaultChain = DefaultChain{
		IgnoreEnvKeys:   e.UnsetCurrent && e.Env,
		CredentialsFile: r.LocalPath(l.env("AWS_SHARED_CREDENTIALS_FILE")),
		ConfigFile:      r.LocalPath(l.env("AWS_CONFIG_FILE")),
	}
	if name == "" {
		if overwrite {
			l.plan.Warnings = append(l.plan.Warnings, "overwrite-aws-profile is ignored without aws-profile")
		}
		return
	}
	if err := profile.ValidateName(name); err != nil {
		l.p.add("aws-profile", "%s %v; use a name such as dev or prod", show(name), err)
		return
	}
	files, ok := l.sharedFiles()
	if !ok {
		return
	}
	exists, err := files.Exists(name)
	switch {
	case err != nil:
		l.p.add("aws-profile", "cannot use the shared files: %v", err)
		return
	case exists && !overwrite:
		l.p.add("aws-profile", "profile %q already exists in %s or %s; set overwrite-aws-profile: true to replace it, or choose another name", name, files.Credentials, files.Config)
		return
	}
	pr := &Profile{Name: name, Overwrite: overwrite, Files: files}
	if h := r.HostPath(files.Credentials); h != files.Credentials {
		pr.ExportFiles.Credentials = h
	}
	if h := r.HostPath(files.Config); h != files.Config {
		pr.ExportFiles.Config = h
	}
	e.Profile = pr
}

// sharedFiles are the shared credentials and config files as this step
// sees them: AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE (an earlier
// step's host path turned into the container's), else ~/.aws.
func (l *loader) sharedFiles() (profile.Files, bool) {
	c, f := l.plan.DefaultChain.CredentialsFile, l.plan.DefaultChain.ConfigFile
	home := l.o.Runner.Home
	if (c == "" || f == "") && home == "" {
		l.p.add("aws-profile", "needs HOME (or AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE) to know where the shared files are")
		return profile.Files{}, false
	}
	if c == "" {
		c = filepath.Join(home, ".aws", "credentials")
	}
	if f == "" {
		f = filepath.Join(home, ".aws", "config")
	}
	for _, p := range []string{c, f} {
		if !filepath.IsAbs(p) {
			l.p.add("aws-profile", "the shared file %s is not an absolute path; set AWS_SHARED_CREDENTIALS_FILE/AWS_CONFIG_FILE to absolute paths", show(p))
			return profile.Files{}, false
		}
	}
	return profile.Files{Credentials: c, Config: f}, true
}

// loadProxy decides the proxy as configure-aws-credentials does: the
// http-proxy input, else HTTPS_PROXY, else HTTP_PROXY (or their lower-case
// forms), for every scheme; no-proxy, else NO_PROXY, bypasses it.
func (l *loader) loadProxy() {
	v, from := l.get("http-proxy"), "input http-proxy"
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		if v != "" {
			break
		}
		v, from = strings.TrimSpace(l.env(k)), k
	}
	if v != "" {
		if !strings.Contains(v, "://") {
			v = "http://" + v // as curl and Go read a bare host:port
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") || u.Host == "" {
			l.p.errs = append(l.p.errs, fmt.Errorf("%s: %s is not a proxy URL; write e.g. http://proxy.example.com:3128", from, show(redactURL(v))))
		} else {
			l.plan.Proxy = u
		}
	}
	np := l.get("no-proxy")
	for _, k := range []string{"NO_PROXY", "no_proxy"} {
		if np == "" {
			np = strings.TrimSpace(l.env(k))
		}
	}
	// configure-aws-credentials splits on commas and white space.
	l.plan.NoProxy = strings.Join(strings.FieldsFunc(np, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }), ",")
}

// problems collects every input error so the user can fix them in one go.
type problems struct{ errs []error }

func (p *problems) add(input, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("input %s: "+format, append([]any{input}, args...)...))
}
