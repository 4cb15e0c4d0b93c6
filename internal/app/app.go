// Package app wires the action together: inputs, credentials, deploy, and the
// runner's file commands, in that order, writing nothing unless all succeed.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	githubactions "github.com/sethvargo/go-githubactions"
	"golang.org/x/net/http/httpproxy"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/cfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/github"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/profile"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/version"
)

// Deps are the outside world. main fills them with the real thing; tests
// with fakes.
type Deps struct {
	Getenv func(string) string
	// Environ lists the step's environment (os.Environ), to find INPUT_
	// variables action.yml does not declare.
	Environ func() []string
	// Inputs are the input names action.yml declares; main reads them
	// from the embedded file, so the two cannot drift.
	Inputs   []string
	Stdout   io.Writer
	ReadFile func(string) ([]byte, error)
	Now      func() time.Time
	Sleep    func(context.Context, time.Duration) error
	// LoadAWSConfig builds the SDK base configuration (endpoints from the
	// standard AWS_ENDPOINT_URL* settings, the region, the HTTP client), with
	// the shared files of c as this step sees them.
	LoadAWSConfig func(ctx context.Context, region string, hc aws.HTTPClient, c config.DefaultChain) (aws.Config, error)
	// LoadDefaultChain returns the SDK's default credential chain
	// (environment, shared profile, web identity, container credentials,
	// instance metadata). It is called only when a source or
	// use-existing-credentials needs it.
	LoadDefaultChain func(ctx context.Context, region string, hc aws.HTTPClient, c config.DefaultChain) (aws.CredentialsProvider, error)
}

// Run executes the action once. The returned error is for the user; main
// prints it exactly once.
func Run(ctx context.Context, d Deps) (err error) {
	runner := gha.ReadRunner(d.Getenv)
	log := gha.NewLog(d.Stdout)
	inputs := githubactions.New(githubactions.WithGetenv(d.Getenv))

	maskGiven(log, inputs.GetInput, d.Getenv)
	log.Debugf("aws-assume-deploy %s", version.Version)

	plan, err := prepare(ctx, inputs.GetInput, runner, d)
	if err != nil {
		return err
	}
	for _, n := range plan.Notes {
		log.Infof("%s", n)
	}
	for _, w := range plan.Warnings {
		log.Warningf("%s", w)
	}
	// action-timeout-s is the run's one deadline; config computed it.
	if !plan.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, plan.Deadline)
		defer cancel()
	}

	proxy := proxyFunc(plan)
	// A BuildableClient, not a plain http.Client: the SDK must still be able
	// to add AWS_CA_BUNDLE's certificates to it.
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.Proxy = proxy })
	base, err := d.LoadAWSConfig(ctx, plan.Region, hc, plan.DefaultChain)
	if err != nil {
		return fmt.Errorf("loading the AWS SDK configuration: %w", err)
	}
	var chain aws.CredentialsProvider
	if plan.Auth.Source.FromChain() || plan.UseExisting {
		if d.LoadDefaultChain == nil {
			return errors.New("the SDK's default credential chain is not available here")
		}
		if chain, err = d.LoadDefaultChain(ctx, plan.Region, hc, plan.DefaultChain); err != nil {
			return fault.New("loading the SDK's default credential chain", err, "check AWS_PROFILE, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE of the step")
		}
	}
	assumer := newAssumer(d, log, base, plan, runner, proxy, chain)
	if plan.UseExisting {
		if c, ok := assumer.Existing(ctx, plan.Auth); ok {
			log.Noticef("Pre-existing credentials are valid. No need to generate new ones.")
			return finishExisting(ctx, d, log, base, plan, runner, c)
		}
		log.Noticef("No valid credentials exist. Running as normal.")
	}
	end := log.Group("Credentials: " + plan.Auth.Source.String())
	creds, err := assumer.Run(ctx, plan.Auth)
	end()
	if err != nil {
		return err
	}

	outputs := credentialOutputs(plan, creds)
	if plan.Deploy != nil {
		res, derr := deploy(ctx, d, log, base, creds, *plan.Deploy)
		var cerr error
		if res != nil {
			outputs = append(outputs, deployOutputs(res)...)
			cerr = reportDeploy(ctx, d, log, plan, runner, res, derr, creds.Account, proxy)
		}
		if derr != nil {
			if cerr != nil {
				log.Warningf("%v", cerr) // the deploy's error comes first
			}
			if plan.ActionTimeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// Name the limit that stopped the deploy: the cfn error
				// only says it was cancelled.
				return fault.New("", derr, fmt.Sprintf("action-timeout-s (%d s) ran out during the deploy; raise it, or set it to 0 and bound the deploy with timeout-in-minutes", int(plan.ActionTimeout/time.Second)))
			}
			return derr
		}
		if cerr != nil {
			return cerr
		}
	}

	return export(log, runner, plan, creds, outputs)
}

// finishExisting ends a run whose credentials were already valid
// (use-existing-credentials): a deploy uses them; nothing about them is
// written, as in configure-aws-credentials, only the region.
func finishExisting(ctx context.Context, d Deps, log *gha.Log, base aws.Config, plan *config.Plan, runner gha.Runner, c *awsauth.Credentials) error {
	var outputs []gha.KV
	if plan.Deploy != nil {
		res, err := deploy(ctx, d, log, base, c, *plan.Deploy)
		var cerr error
		if res != nil {
			outputs = deployOutputs(res)
			cerr = reportDeploy(ctx, d, log, plan, runner, res, err, c.Account, proxyFunc(plan))
		}
		if err != nil {
			if cerr != nil {
				log.Warningf("%v", cerr)
			}
			return err
		}
		if cerr != nil {
			return cerr
		}
	}
	if err := (gha.FileWriter{}).WriteOutput(runner.OutputFile, outputs); err != nil {
		return err
	}
	if plan.Export.Env {
		return (gha.FileWriter{}).WriteEnv(runner.EnvFile, []gha.KV{{Key: "AWS_REGION", Value: plan.Region}, {Key: "AWS_DEFAULT_REGION", Value: plan.Region}})
	}
	return nil
}

// export writes what later steps get once everything succeeded: the profile,
// the outputs, then the environment.
func export(log *gha.Log, runner gha.Runner, plan *config.Plan, creds *awsauth.Credentials, outputs []gha.KV) error {
	fw := gha.FileWriter{}
	if pr := plan.Export.Profile; pr != nil {
		if creds.Ambient {
			log.Warningf("aws-profile %s is not written: without role-to-assume or keys the credentials come from the SDK's default chain and stay there", pr.Name)
		} else {
			if err := writeProfile(log, runner, pr, plan.Region, creds); err != nil {
				return err
			}
		}
	}
	if err := fw.WriteOutput(runner.OutputFile, outputs); err != nil {
		return err
	}
	if env := envPairs(plan, creds); len(env) > 0 {
		if err := fw.WriteEnv(runner.EnvFile, env); err != nil {
			return err
		}
		log.Infof("Exported %s to later steps", keysOf(env))
	}
	return nil
}

// writeProfile writes the named profile and records it for the post step,
// which removes it at the end of the job.
func writeProfile(log *gha.Log, runner gha.Runner, pr *config.Profile, region string, c *awsauth.Credentials) error {
	log.Infof("Writing profile %s to %s and %s", pr.Name, pr.Files.Credentials, pr.Files.Config)
	err := pr.Files.Write(pr.Name, profile.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, region, pr.Overwrite)
	if err != nil {
		return fmt.Errorf("writing aws-profile %s: %w", pr.Name, err)
	}
	written := []writtenProfile{{Name: pr.Name, Credentials: pr.Files.Credentials, Config: pr.Files.Config}}
	state, _ := json.Marshal(written)
	if runner.StateFile == "" {
		log.Warningf("GITHUB_STATE is not set: the post step cannot remove profile %s at the end of the job", pr.Name)
		return nil
	}
	return (gha.FileWriter{}).WriteState(runner.StateFile, []gha.KV{{Key: profilesState, Value: string(state)}})
}

// maskGiven masks the secrets the step was handed, before anything is printed.
func maskGiven(log *gha.Log, input, env func(string) string) {
	// The environment's keys too: the default chain or use-existing may
	// pick them up, and earlier steps may have exported them unmasked.
	for _, s := range []string{input("aws-secret-access-key"), input("aws-session-token"), input("aws-access-key-id"), env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
		env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"), input("github-token")} {
		log.Mask(s)
	}
	// A proxy's password, wherever the proxy comes from.
	for _, v := range []string{input("http-proxy"), env("HTTPS_PROXY"), env("https_proxy"), env("HTTP_PROXY"), env("http_proxy")} {
		if u, err := url.Parse(strings.TrimSpace(v)); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok {
				log.Mask(pw)
			}
		}
	}
	// mask-aws-account-id: the account is in the role ARNs before any
	// call names it; mask it before the first line, even if the inputs
	// turn out invalid.
	if mask, _ := config.ParseBool(strings.TrimSpace(input("mask-aws-account-id"))); mask {
		for _, name := range []string{"role-to-assume", "cloudformation-role-arn", "role-arn"} {
			if m := accountInARN.FindStringSubmatch(input(name)); m != nil {
				log.Mask(m[1])
			}
		}
	}
}

// accountInARN finds the account of an IAM ARN.
var accountInARN = regexp.MustCompile(`^\s*arn:[\w-]+:iam::(\d{12}):`)

// newAssumer wires the credential flow to the SDK and the runner.
func newAssumer(d Deps, log *gha.Log, base aws.Config, plan *config.Plan, runner gha.Runner, proxy func(*http.Request) (*url.URL, error), chain aws.CredentialsProvider) *awsauth.Assumer {
	newSTS := func(creds aws.CredentialsProvider) awsauth.STSAPI {
		return sts.NewFromConfig(base, func(o *sts.Options) {
			o.Retryer = aws.NopRetryer{} // awsauth drives retries itself
			o.Credentials = creds
			if creds == nil {
				o.Credentials = aws.AnonymousCredentials{}
			}
			if plan.STSEndpoint != nil {
				o.BaseEndpoint = aws.String(plan.STSEndpoint.String())
			}
		})
	}
	return awsauth.New(newSTS, log, func(o *awsauth.Options) {
		o.Tokens = &gha.IDTokenClient{RequestURL: runner.IDTokenURL, RequestToken: runner.IDTokenToken, HTTP: oidcClient(proxy), Mask: log.Mask}
		o.ReadFile = d.ReadFile
		o.Sleep = d.Sleep
		o.Now = d.Now
		o.DefaultChain = chain
	})
}

// credentialOutputs are the step outputs of the credential phase; the
// credentials themselves only on request.
func credentialOutputs(plan *config.Plan, c *awsauth.Credentials) []gha.KV {
	out := []gha.KV{
		{Key: "aws-account-id", Value: c.Account},
		{Key: "authenticated-arn", Value: c.ARN},
	}
	if !c.Expiration.IsZero() {
		out = append(out, gha.KV{Key: "aws-expiration", Value: c.Expiration.UTC().Format(time.RFC3339)})
	}
	if plan.Export.Credentials {
		out = append(out,
			gha.KV{Key: "aws-access-key-id", Value: c.AccessKeyID},
			gha.KV{Key: "aws-secret-access-key", Value: c.SecretAccessKey},
			gha.KV{Key: "aws-session-token", Value: c.SessionToken})
	}
	return out
}

// prepare validates every input and the file-command paths, reporting all
// problems together.
func prepare(ctx context.Context, get func(string) string, runner gha.Runner, d Deps) (*config.Plan, error) {
	if len(d.Inputs) == 0 || d.Environ == nil {
		return nil, errors.New("internal error: the inputs of action.yml are not wired in")
	}
	plan, err := config.Load(ctx, get, d.Getenv, func(o *config.Options) {
		o.Runner = &runner
		o.ReadFile = d.ReadFile
		o.Now = d.Now
		o.Declared = d.Inputs
		o.Environ = d.Environ()
	})
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if plan == nil || plan.Export.Env || plan.Export.Profile != nil {
		if err := gha.CheckFile("GITHUB_ENV", runner.EnvFile); err != nil {
			errs = append(errs, err)
		}
	}
	if err := gha.CheckFile("GITHUB_OUTPUT", runner.OutputFile); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, &InputError{Errs: errs}
	}
	return plan, nil
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

func deploy(ctx context.Context, d Deps, log *gha.Log, base aws.Config, creds *awsauth.Credentials, o cfn.Options) (*cfn.Result, error) {
	client := cloudformation.NewFromConfig(base, func(co *cloudformation.Options) {
		co.Credentials = creds.Provider()
		co.Retryer = cfn.NewRetryer()
	})
	uploader := s3.NewFromConfig(base, func(so *s3.Options) {
		so.Credentials = creds.Provider()
		so.Retryer = cfn.NewRetryer()
		// A custom endpoint (emulator, VPC endpoint; the SDK has already
		// read AWS_ENDPOINT_URL_S3 into BaseEndpoint) rarely has wildcard
		// DNS.
		so.UsePathStyle = so.BaseEndpoint != nil
	})
	// The template bucket must belong to the deploy role's account.
	o.BucketOwner = creds.Account
	dep := cfn.NewDeployer(client, log, func(do *cfn.DeployerOptions) {
		do.S3 = uploader
		do.Now = d.Now
		do.Sleep = d.Sleep
	})
	return dep.Deploy(ctx, o)
}

func deployOutputs(r *cfn.Result) []gha.KV {
	out := []gha.KV{
		{Key: "stack-id", Value: r.StackID},
		{Key: "stack-status", Value: r.StackStatus},
		{Key: "change-set-id", Value: r.ChangeSetID},
		{Key: "change-set-name", Value: r.ChangeSetName},
		{Key: "has-changes", Value: strconv.FormatBool(r.HasChanges)},
		{Key: "changes-count", Value: strconv.Itoa(r.ChangesCount)},
		{Key: "changes-summary", Value: r.ChangesSummaryJSON()},
		{Key: "changes-markdown", Value: r.ChangesMarkdown()},
	}
	for _, o := range r.Outputs {
		out = append(out, gha.KV{Key: o.Key, Value: o.Value})
	}
	return out
}

// envPairs are the variables later steps see. With output-env-credentials
// false nothing but a profile's file paths is written, as in
// configure-aws-credentials (which writes nothing at all, but runs on the
// host: a Docker action's profile files need their host paths exported).
func envPairs(plan *config.Plan, c *awsauth.Credentials) []gha.KV {
	var out []gha.KV
	if pr := plan.Export.Profile; pr != nil && !c.Ambient {
		if pr.ExportFiles.Credentials != "" {
			out = append(out, gha.KV{Key: "AWS_SHARED_CREDENTIALS_FILE", Value: pr.ExportFiles.Credentials})
		}
		if pr.ExportFiles.Config != "" {
			out = append(out, gha.KV{Key: "AWS_CONFIG_FILE", Value: pr.ExportFiles.Config})
		}
	}
	if !plan.Export.Env {
		return out
	}
	switch {
	case !c.Ambient:
		// AWS_SESSION_TOKEN is always written, empty for static keys, so a
		// stale token from an earlier step cannot pair with new keys.
		out = append(out,
			gha.KV{Key: "AWS_ACCESS_KEY_ID", Value: c.AccessKeyID},
			gha.KV{Key: "AWS_SECRET_ACCESS_KEY", Value: c.SecretAccessKey},
			gha.KV{Key: "AWS_SESSION_TOKEN", Value: c.SessionToken})
	case plan.Export.UnsetCurrent:
		out = append(out, gha.KV{Key: "AWS_ACCESS_KEY_ID"}, gha.KV{Key: "AWS_SECRET_ACCESS_KEY"}, gha.KV{Key: "AWS_SESSION_TOKEN"})
	}
	out = append(out, gha.KV{Key: "AWS_REGION", Value: plan.Region}, gha.KV{Key: "AWS_DEFAULT_REGION", Value: plan.Region})
	if pr := plan.Export.Profile; pr != nil && !c.Ambient {
		out = append(out, gha.KV{Key: "AWS_PROFILE", Value: pr.Name})
	}
	return out
}

func keysOf(kv []gha.KV) string {
	ks := make([]string, len(kv))
	for i, p := range kv {
		ks[i] = p.Key
	}
	return strings.Join(ks, ", ")
}

// reportDeploy shows the deploy's result to people: the step summary and,
// with pr-comment, the pull request's comment, one rendering for both. The
// returned error is the comment's; the summary only warns.
func reportDeploy(ctx context.Context, d Deps, log *gha.Log, plan *config.Plan, runner gha.Runner, res *cfn.Result, derr error, account string, proxy func(*http.Request) (*url.URL, error)) error {
	report := cfn.ReportOptions{Commit: plan.Commit, Err: derr}
	if plan.Auth.MaskAccountID {
		report.Redact = []string{account}
	}
	if runner.SummaryFile != "" {
		o := report
		o.MaxLen, o.Limit = gha.MaxSummary, "the step summary's 1 MiB limit"
		if err := (gha.FileWriter{}).AppendSummary(runner.SummaryFile, res.Markdown(o)); err != nil {
			log.Warningf("writing the step summary: %v", err)
		}
	}
	if plan.Review == nil {
		return nil
	}
	return comment(ctx, d, log, plan, res, report, proxy)
}

// commentKey names the sticky comment of a stack and region: one per pull
// request, stack and region.
func commentKey(stack, region string) string {
	return "preview stack=" + stack + " region=" + region
}

// comment keeps the pull request's sticky comment up to date with the
// report. A token that may not write (pull requests from forks get a
// read-only one) only warns: the preview is in the step summary either way.
func comment(ctx context.Context, d Deps, log *gha.Log, plan *config.Plan, res *cfn.Result, report cfn.ReportOptions, proxy func(*http.Request) (*url.URL, error)) error {
	rv := plan.Review
	key := commentKey(res.StackName, plan.Region)
	report.MaxLen, report.Limit = github.BodyLimit(key), "GitHub's 65,536-character comment limit"
	client := github.New(func(o *github.Options) {
		o.BaseURL, o.Token, o.UserAgent = rv.APIURL, rv.Token, "aws-assume-deploy/"+version.Version
		o.HTTP = githubClient(proxy)
		o.Sleep = d.Sleep
		o.Now = d.Now
	})
	end := log.Group(fmt.Sprintf("Comment on pull request #%d", rv.PullRequest.Number))
	defer end()
	out, err := client.UpsertComment(ctx, rv.PullRequest, key, res.Markdown(report))
	if out.Foreign > 0 {
		log.Infof("Left alone %d comment(s) that carry this stack's marker but were written by someone else.", out.Foreign)
	}
	switch {
	case err == nil && out.Created:
		log.Infof("Posted the pull-request comment: %s", out.Comment.HTMLURL)
	case err == nil:
		log.Infof("Updated the pull-request comment: %s", out.Comment.HTMLURL)
	case github.Forbidden(err):
		log.Warningf("Could not comment on pull request #%d (%v): the token may not write to pull requests. Give the job `permissions: pull-requests: write`; pull requests from forks only get a read-only token, so their preview is in the step summary only.", rv.PullRequest.Number, err)
		return nil
	default:
		return fault.New(fmt.Sprintf("commenting on pull request #%d", rv.PullRequest.Number), err, "GitHub did not take the comment; re-run the job (the preview is computed again). The preview is also in the step summary")
	}
	return nil
}

// githubClient calls the GitHub API; one request answers well within 30 s.
func githubClient(proxy func(*http.Request) (*url.URL, error)) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = proxy
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// proxyFunc applies the plan's proxy with Go's NO_PROXY rules
// (golang.org/x/net/http/httpproxy): no-proxy entries match a host and its
// subdomains, IP addresses and CIDR ranges, "*" matches everything, and
// loopback addresses and localhost are never proxied. Link-local addresses
// (instance metadata, the container credentials endpoints) never go through
// a proxy either: a remote proxy cannot reach them for this machine.
func proxyFunc(plan *config.Plan) func(*http.Request) (*url.URL, error) {
	if plan.Proxy == nil {
		return func(*http.Request) (*url.URL, error) { return nil, nil }
	}
	p := plan.Proxy.String()
	f := (&httpproxy.Config{HTTPProxy: p, HTTPSProxy: p, NoProxy: plan.NoProxy}).ProxyFunc()
	return func(r *http.Request) (*url.URL, error) {
		if ip := net.ParseIP(r.URL.Hostname()); ip != nil && (ip.IsLinkLocalUnicast() || ip.Equal(imdsIPv6)) {
			return nil, nil
		}
		return f(r.URL)
	}
}

// imdsIPv6 is the instance metadata service's IPv6 address.
var imdsIPv6 = net.ParseIP("fd00:ec2::254")

// oidcClient fetches GitHub tokens; the runner answers in well under 10 s.
func oidcClient(proxy func(*http.Request) (*url.URL, error)) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = proxy
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
