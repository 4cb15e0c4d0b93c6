// Package app wires the action together: inputs, credentials, deploy, and the
// runner's file commands, in that order, writing nothing unless all succeed.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/cfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/version"
)

// Deps are the outside world. main fills them with the real thing; tests
// with fakes.
type Deps struct {
	Getenv   func(string) string
	Stdout   io.Writer
	ReadFile func(string) ([]byte, error)
	Now      func() time.Time
	Sleep    func(context.Context, time.Duration) error
	// LoadAWSConfig builds the SDK base configuration (endpoints from the
	// standard AWS_ENDPOINT_URL* settings, the region, the HTTP client).
	LoadAWSConfig func(ctx context.Context, cfg *config.Config, hc aws.HTTPClient) (aws.Config, error)
	// Backoff overrides the SDK's jitter for tests; nil in production.
	Backoff retry.BackoffDelayer
	// Budget overrides the credential phase's time budget; zero: defaults.
	Budget awsauth.Budget
}

// Run executes the action once. The returned error is for the user; main
// prints it exactly once.
func Run(ctx context.Context, d Deps) (err error) {
	debug := d.Getenv("RUNNER_DEBUG") == "1" || strings.EqualFold(d.Getenv("ACTIONS_STEP_DEBUG"), "true")
	log := gha.NewLog(d.Stdout, debug)
	inputs := githubactions.New(githubactions.WithGetenv(d.Getenv))

	maskGiven(log, inputs.GetInput, d.Getenv)
	log.Debugf("aws-assume-deploy %s", version.Version)

	plan, err := prepare(inputs.GetInput, d)
	if err != nil {
		return err
	}
	cfg := plan.cfg
	for _, w := range cfg.Warnings {
		log.Warningf("%s", w)
	}
	if cfg.ActionTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.ActionTimeout)
		defer cancel()
	}

	proxy, err := proxyFunc(cfg.HTTPProxy)
	if err != nil {
		return err
	}
	// A BuildableClient, not a plain http.Client: the SDK must still be able
	// to add AWS_CA_BUNDLE's certificates to it.
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.Proxy = proxy })
	base, err := d.LoadAWSConfig(ctx, cfg, hc)
	if err != nil {
		return fmt.Errorf("loading the AWS SDK configuration: %w", err)
	}
	end := log.Group("Credentials: " + cfg.Source.String())
	assumer := newAssumer(d, log, base, cfg, proxy)
	creds, err := assumer.Run(ctx, cfg)
	end()
	if err != nil {
		return err
	}

	outputs := credentialOutputs(cfg, creds)

	if plan.deploy != nil {
		res, derr := deploy(ctx, d, log, base, cfg, creds, plan)
		if res != nil {
			outputs = append(outputs, deployOutputs(res)...)
			if p := d.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
				if serr := (gha.FileWriter{}).AppendSummary(p, res.SummaryMarkdown()); serr != nil {
					log.Warningf("writing the step summary: %v", serr)
				}
			}
		}
		if derr != nil {
			if cfg.ActionTimeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// Name the limit that stopped the deploy: the cfn error
				// only says it was cancelled.
				return fmt.Errorf("%w. To fix: action-timeout-s (%d s) ran out during the deploy; raise it, or set it to 0 and bound the deploy with timeout-in-minutes", derr, int(cfg.ActionTimeout/time.Second))
			}
			return derr
		}
	}

	// Everything succeeded: write outputs, then the environment.
	fw := gha.FileWriter{}
	if err := fw.WriteOutput(d.Getenv("GITHUB_OUTPUT"), outputs); err != nil {
		return err
	}
	if env := envPairs(cfg, creds); len(env) > 0 {
		if err := fw.WriteEnv(d.Getenv("GITHUB_ENV"), env); err != nil {
			return err
		}
		log.Infof("Exported %s to later steps", keysOf(env))
	}
	return nil
}

// maskGiven masks the secrets the step was handed, before anything is printed.
func maskGiven(log *gha.Log, input, env func(string) string) {
	for _, s := range []string{input("aws-secret-access-key"), input("aws-session-token"), input("aws-access-key-id"), env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")} {
		log.Mask(s)
	}
	if strings.EqualFold(input("role-chaining"), "true") {
		log.Mask(env("AWS_SECRET_ACCESS_KEY"))
		log.Mask(env("AWS_SESSION_TOKEN"))
	}
}

// newAssumer wires the credential flow to the SDK and the runner.
func newAssumer(d Deps, log *gha.Log, base aws.Config, cfg *config.Config, proxy func(*http.Request) (*url.URL, error)) *awsauth.Assumer {
	return &awsauth.Assumer{
		NewSTS: func(creds aws.CredentialsProvider) awsauth.STSAPI {
			return sts.NewFromConfig(base, func(o *sts.Options) {
				o.Retryer = aws.NopRetryer{} // awsauth drives retries itself
				if creds == nil {
					o.Credentials = aws.AnonymousCredentials{}
				} else {
					o.Credentials = creds
				}
				if cfg.STSEndpoint != "" {
					o.BaseEndpoint = aws.String(cfg.STSEndpoint)
				}
			})
		},
		Tokens: &gha.IDTokenClient{RequestURL: cfg.IDTokenRequestURL, RequestToken: cfg.IDTokenRequestToken,
			HTTP: oidcClient(proxy), Mask: log.Mask},
		ReadFile:             d.ReadFile,
		Log:                  log,
		Sleep:                d.Sleep,
		Now:                  d.Now,
		Backoff:              d.Backoff,
		Budget:               d.Budget,
		GitHub:               awsauth.GitHubFromEnv(d.Getenv),
		Workspace:            d.Getenv("GITHUB_WORKSPACE"),
		SessionDiscriminator: discriminator(cfg),
	}
}

// credentialOutputs are the step outputs of the credential phase; the
// credentials themselves only on request.
func credentialOutputs(cfg *config.Config, c *awsauth.Credentials) []gha.KV {
	out := []gha.KV{
		{Key: "aws-account-id", Value: c.Account},
		{Key: "authenticated-arn", Value: c.ARN},
	}
	if !c.Expiration.IsZero() {
		out = append(out, gha.KV{Key: "aws-expiration", Value: c.Expiration.UTC().Format(time.RFC3339)})
	}
	if cfg.OutputCredentials {
		out = append(out,
			gha.KV{Key: "aws-access-key-id", Value: c.AccessKeyID},
			gha.KV{Key: "aws-secret-access-key", Value: c.SecretAccessKey},
			gha.KV{Key: "aws-session-token", Value: c.SessionToken})
	}
	return out
}

// plan is the validated input of one run, ready before any network call.
type plan struct {
	cfg    *config.Config
	deploy *cfn.Options
}

// prepare validates every input and the file-command paths, reporting all
// problems together.
func prepare(get func(string) string, d Deps) (*plan, error) {
	cfg, err := config.Load(get, d.Getenv)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	p := &plan{cfg: cfg}
	if cfg != nil && cfg.Deploy != nil {
		opts, derrs := deployOptions(cfg, d)
		errs = append(errs, derrs...)
		p.deploy = opts
	}
	writesEnv := cfg == nil || cfg.OutputEnv || cfg.UnsetCurrentCredentials
	if writesEnv {
		if err := gha.CheckFile("GITHUB_ENV", d.Getenv("GITHUB_ENV")); err != nil {
			errs = append(errs, err)
		}
	}
	if err := gha.CheckFile("GITHUB_OUTPUT", d.Getenv("GITHUB_OUTPUT")); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, &InputError{Errs: errs}
	}
	return p, nil
}

// InputError lists every problem found before any network call.
type InputError struct{ Errs []error }

func (e *InputError) Error() string {
	var b strings.Builder
	n := 0
	for _, err := range e.Errs {
		for _, line := range strings.Split(err.Error(), "\n") {
			if line != "" {
				n++
				fmt.Fprintf(&b, "\n  - %s", line)
			}
		}
	}
	return fmt.Sprintf("%d problem(s) with the inputs; nothing was called or written:%s", n, b.String())
}

func deployOptions(cfg *config.Config, d Deps) (*cfn.Options, []error) {
	dc := cfg.Deploy
	var errs []error
	bad := func(input string, err error) { errs = append(errs, fmt.Errorf("input %s: %w", input, err)) }
	ws := d.Getenv("GITHUB_WORKSPACE")
	readInWorkspace := func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(ws, p)
		}
		return d.ReadFile(p)
	}
	o := &cfn.Options{
		StackName: dc.StackName, RoleARN: dc.RoleARN, Capabilities: dc.Capabilities, NotificationARNs: dc.NotificationARNs,
		FailOnEmpty: dc.FailOnEmpty, Execute: dc.Execute, DeleteFailedChangeSet: dc.DeleteFailedChangeSet,
		DisableRollback: dc.DisableRollback, TerminationProtection: dc.TerminationProtection, Timeout: dc.Timeout,
		S3Bucket: dc.S3Bucket, S3Prefix: dc.S3Prefix, ChangeSetName: dc.ChangeSetName, Region: cfg.Region,
	}
	if dc.Template != "" {
		t, err := cfn.LoadTemplate(ws, dc.Template, d.ReadFile)
		if err != nil {
			bad("template", err)
		} else {
			o.Template = t
			if t.NeedsUpload() && dc.S3Bucket == "" {
				bad("template", fmt.Errorf("%s is %d bytes, over CloudFormation's 51,200-byte limit for inline templates; set s3-bucket (and s3-prefix) so the action uploads it, or pass an https:// S3 URL", t.Path, t.Size))
			}
		}
	}
	params, err := cfn.ParseParameterOverrides(dc.ParameterOverrides, readInWorkspace)
	if err != nil {
		bad("parameter-overrides", err)
	} else {
		o.Parameters = params
		if err := o.Template.CheckOverrides(params); err != nil && o.Template.Body != "" {
			bad("parameter-overrides", err)
		}
	}
	tags, err := cfn.ParseTags(dc.Tags)
	if err != nil {
		bad("tags", err)
	}
	o.Tags = tags
	if o.ChangeSetName == "" {
		o.ChangeSetName = cfn.DefaultChangeSetName(d.Getenv("GITHUB_RUN_ID"), d.Getenv("GITHUB_RUN_ATTEMPT"), d.Getenv("GITHUB_JOB"), d.Now())
	}
	o.ClientToken = o.ChangeSetName
	return o, errs
}

func deploy(ctx context.Context, d Deps, log *gha.Log, base aws.Config, cfg *config.Config, creds *awsauth.Credentials, p *plan) (*cfn.Result, error) {
	std := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 5
			o.MaxBackoff = 5 * time.Second
		})
	}
	client := cloudformation.NewFromConfig(base, func(o *cloudformation.Options) {
		o.Credentials = creds.Provider()
		o.Retryer = std()
	})
	uploader := s3.NewFromConfig(base, func(o *s3.Options) {
		o.Credentials = creds.Provider()
		o.Retryer = std()
		// A custom endpoint (emulator, VPC endpoint) rarely has wildcard DNS.
		o.UsePathStyle = base.BaseEndpoint != nil || d.Getenv("AWS_ENDPOINT_URL_S3") != ""
	})
	dep := &cfn.Deployer{CFN: client, S3: uploader, Log: log, Now: d.Now, Sleep: d.Sleep}
	return dep.Deploy(ctx, *p.deploy)
}

func deployOutputs(r *cfn.Result) []gha.KV {
	out := []gha.KV{
		{Key: "stack-id", Value: r.StackID},
		{Key: "stack-status", Value: r.StackStatus},
		{Key: "change-set-id", Value: r.ChangeSetID},
		{Key: "change-set-name", Value: r.ChangeSetName},
		{Key: "has-changes", Value: strconv.FormatBool(r.HasChanges)},
		{Key: "changes-count", Value: strconv.Itoa(r.ChangesCount)},
	}
	for _, o := range r.Outputs {
		out = append(out, gha.KV{Key: o.Key, Value: o.Value})
	}
	return out
}

// envPairs are the variables later steps see.
func envPairs(cfg *config.Config, c *awsauth.Credentials) []gha.KV {
	if !cfg.OutputEnv {
		if cfg.UnsetCurrentCredentials {
			return []gha.KV{{Key: "AWS_ACCESS_KEY_ID"}, {Key: "AWS_SECRET_ACCESS_KEY"}, {Key: "AWS_SESSION_TOKEN"}, {Key: "AWS_REGION"}, {Key: "AWS_DEFAULT_REGION"}}
		}
		return nil
	}
	// AWS_SESSION_TOKEN is always written, empty for static keys, so a stale
	// token from an earlier step cannot pair with new keys.
	return []gha.KV{
		{Key: "AWS_ACCESS_KEY_ID", Value: c.AccessKeyID},
		{Key: "AWS_SECRET_ACCESS_KEY", Value: c.SecretAccessKey},
		{Key: "AWS_SESSION_TOKEN", Value: c.SessionToken},
		{Key: "AWS_REGION", Value: cfg.Region},
		{Key: "AWS_DEFAULT_REGION", Value: cfg.Region},
	}
}

func keysOf(kv []gha.KV) string {
	ks := make([]string, len(kv))
	for i, p := range kv {
		ks[i] = p.Key
	}
	return strings.Join(ks, ", ")
}

// discriminator tells matrix jobs apart in the default session name.
func discriminator(cfg *config.Config) string {
	if cfg.Deploy != nil {
		return cfg.Deploy.StackName + "-" + cfg.Region
	}
	return ""
}

// proxyFunc is the http-proxy input, or the standard proxy variables.
func proxyFunc(proxy string) (func(*http.Request) (*url.URL, error), error) {
	if proxy == "" {
		return http.ProxyFromEnvironment, nil
	}
	u, err := url.Parse(proxy)
	if err != nil {
		return nil, errors.New("input http-proxy: not a URL")
	}
	return http.ProxyURL(u), nil
}

// oidcClient fetches GitHub tokens; the runner answers in well under 10 s.
func oidcClient(proxy func(*http.Request) (*url.URL, error)) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = proxy
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// ReadFile is os.ReadFile with a size cap, so a wrong path to a huge file
// fails fast instead of exhausting memory.
func ReadFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 2<<20))
}
