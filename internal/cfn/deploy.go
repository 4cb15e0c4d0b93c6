// Package cfn deploys a CloudFormation stack through a change set, the way a
// least-privilege deploy role should: CreateChangeSet with the CloudFormation
// service role (RoleARN), wait, report the changes, ExecuteChangeSet, stream
// the stack events, and report the root cause of a failure first. It never
// calls CreateStack or UpdateStack.
//
// The package also owns CloudFormation's formats and rules (template,
// parameter overrides, tags, names) that the action's input handling calls
// before any network call.
package cfn

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// API is the subset of *cloudformation.Client the deployer uses.
type API interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error)
	DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error)
	ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error)
	DeleteChangeSet(ctx context.Context, in *cloudformation.DeleteChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error)
	ListChangeSets(ctx context.Context, in *cloudformation.ListChangeSetsInput, optFns ...func(*cloudformation.Options)) (*cloudformation.ListChangeSetsOutput, error)
	DeleteStack(ctx context.Context, in *cloudformation.DeleteStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
	DescribeStackEvents(ctx context.Context, in *cloudformation.DescribeStackEventsInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error)
	UpdateTerminationProtection(ctx context.Context, in *cloudformation.UpdateTerminationProtectionInput, optFns ...func(*cloudformation.Options)) (*cloudformation.UpdateTerminationProtectionOutput, error)
	GetTemplateSummary(ctx context.Context, in *cloudformation.GetTemplateSummaryInput, optFns ...func(*cloudformation.Options)) (*cloudformation.GetTemplateSummaryOutput, error)
}

// Uploader is the subset of *s3.Client used to upload large templates.
type Uploader interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Logger is where the deployer reports progress. The implementation escapes
// every line (AWS text is untrusted), so the deployer prints it as it is.
type Logger interface {
	Infof(format string, args ...any)
	Debugf(format string, args ...any)
	Warningf(format string, args ...any)
	// Mask registers a secret (a NoEcho parameter value) with the runner,
	// so the job log hides it wherever it would appear.
	Mask(secret string)
	// Group starts a collapsible log group; the returned func ends it.
	Group(title string) (end func())
}

// Deployer runs change-set deploys. Build it with NewDeployer.
type Deployer struct {
	cfn API
	log Logger
	o   DeployerOptions
}

// DeployerOptions are the Deployer's replaceable parts; NewDeployer fills
// every zero field with the real thing.
type DeployerOptions struct {
	// S3 uploads templates over MaxTemplateBodySize.
	S3 Uploader
	// Now is the clock used for deadlines and timings.
	Now func() time.Time
	// Sleep waits for d or until ctx is done, then returns ctx.Err().
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for poll jitter.
	Rand func() float64
}

// NewDeployer returns a Deployer calling api and reporting to log.
func NewDeployer(api API, log Logger, optFns ...func(*DeployerOptions)) *Deployer {
	o := DeployerOptions{}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = fault.Sleep
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	return &Deployer{cfn: api, log: log, o: o}
}

// NewRetryer is the retryer for the CloudFormation and S3 clients: the SDK's
// standard classification and jittered backoff for a few quick retries of
// connection errors and server faults, but not of throttling. A throttled
// call comes back to the deployer at once, which paces it with the deploy's
// own clock: polls slow down (poller) and mutating calls back off with a
// longer, bounded budget (mutate). Retrying throttling in the SDK as well
// would multiply the calls of every tick exactly when the account's rate
// limit is exhausted. The SDK's client-side retry quota is off: the
// deployer's loops are bounded by themselves, and a quota spent by polls
// would otherwise fail a CreateChangeSet outright.
func NewRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.MaxBackoff = 2 * time.Second
		o.RateLimiter = ratelimit.None
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if isThrottle(err) {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})}, o.Retryables...)
	})
}

// cleanupTimeout bounds the calls made after cancellation or a timeout.
const cleanupTimeout = 10 * time.Second

// Options describes one deploy.
type Options struct {
	StackName string
	Template  Template
	// RoleARN is the CloudFormation service role, sent on every change set.
	RoleARN string
	// Parameters are the overrides; parameters left out keep their previous
	// value on update.
	Parameters       []Parameter
	Capabilities     []string
	Tags             []Tag
	NotificationARNs []string
	// FailOnEmpty makes a change set without changes an error.
	FailOnEmpty bool
	// Execute executes the change set; false leaves it for review.
	Execute bool
	// DeleteFailedChangeSet deletes a change set that failed to create.
	DeleteFailedChangeSet bool
	// DisableRollback is sent on ExecuteChangeSet.
	DisableRollback bool
	// TerminationProtection enables (never disables) termination
	// protection.
	TerminationProtection bool
	// Timeout bounds the whole deploy, waits included; exceeding it is an
	// error (CloudFormation carries on with a started operation). Zero
	// means no limit of the deployer's own: the caller's context (the
	// job's timeout-minutes) bounds it.
	Timeout time.Duration
	// S3Bucket and S3Prefix receive templates over MaxTemplateBodySize;
	// S3Prefix must pass ValidS3Prefix.
	S3Bucket, S3Prefix string
	// BucketOwner is the account that must own S3Bucket (the deploy role's),
	// sent as PutObject's ExpectedBucketOwner; empty sends none.
	BucketOwner string
	// ChangeSetName must be unique for the stack; see DefaultChangeSetName.
	ChangeSetName string
	// ClientToken, when set, is CreateChangeSet's idempotency token.
	ClientToken string
	// ExecuteChangeSet, when set, is the id or name of an existing change
	// set of the stack to execute instead of creating one (the
	// execute-only mode); Template, Parameters and the other change set
	// settings are then unused.
	ExecuteChangeSet string
	// IncludeNestedStacks creates change sets for nested stacks too, and
	// lists their changes.
	IncludeNestedStacks bool
	// DeploymentMode is CreateChangeSet's DeploymentMode (REVERT_DRIFT);
	// CloudFormation accepts it on updates only, so a create leaves it out.
	DeploymentMode string
	// Region builds the S3 URL of an uploaded template and the console
	// links of the report.
	Region string
	// Preview, when set, makes the change set a pull request's preview:
	// it is never executed, and the pull request's earlier previews of the
	// stack are deleted first, so that they do not pile up (CloudFormation
	// limits the change sets of a stack). ChangeSetName must be
	// PreviewChangeSetName's.
	Preview *Preview
}

// Preview identifies the pull request a preview change set belongs to.
type Preview struct {
	PullRequest int
}

// Output is one stack output. Value is untrusted text.
type Output struct {
	Key, Value, Description, ExportName string
}

// Result is what a deploy did. Deploy returns it, filled as far as the
// deploy got, also with an error, so the caller can write outputs and the
// step summary either way.
type Result struct {
	StackName string
	// Region is the stack's region (Options.Region).
	Region            string
	StackID           string
	StackStatus       string
	StackStatusReason string
	ChangeSetID       string
	ChangeSetName     string
	// ChangeSetType is CREATE or UPDATE.
	ChangeSetType string
	// ChangeSetStatus and ChangeSetExecutionStatus are the change set's
	// statuses when its changes were read (e.g. CREATE_COMPLETE, FAILED),
	// ChangeSetStatusReason CloudFormation's reason (untrusted text), and
	// ChangeSetCreated its creation time on AWS's clock.
	ChangeSetStatus, ChangeSetExecutionStatus string
	ChangeSetStatusReason                     string
	ChangeSetCreated                          time.Time
	// Preview is true for a pull request's preview change set.
	Preview bool
	// Empty is true when the change set had no changes: the stack is up
	// to date.
	Empty      bool
	HasChanges bool
	// ChangesCount counts the stack's own changes; Changes lists them,
	// then those of nested stacks (Change.Stack).
	ChangesCount int
	Changes      []Change
	// ValuesWithheld, when set, says why property values are left out of
	// Changes (NoEcho values the deploy cannot mask).
	ValuesWithheld string
	Outputs        []Output
	// Failures is the root cause of a failed operation, oldest first.
	Failures []Failure
	// TemplateURL is set when the template was uploaded to S3.
	TemplateURL string
	// Created is true when this deploy created the stack.
	Created bool
	// Executed is true once ExecuteChangeSet was accepted.
	Executed bool
	// Recreated names the status of a stack deleted before a fresh create.
	Recreated string
	// Timings.
	ChangeSetDuration time.Duration
	ExecutionDuration time.Duration
	Elapsed           time.Duration
}

func (d *Deployer) now() time.Time { return d.o.Now() }

func (d *Deployer) rand() float64 { return d.o.Rand() }

func (d *Deployer) sleep(ctx context.Context, dur time.Duration) error { return d.o.Sleep(ctx, dur) }

// validate catches programmer errors: the action's input handling has
// refused bad user input long before.
func (o Options) validate() error {
	switch {
	case o.StackName == "":
		return errors.New("cfn: Options need StackName")
	case o.ExecuteChangeSet != "":
		return nil
	case o.ChangeSetName == "":
		return errors.New("cfn: Options need ChangeSetName")
	case o.Template.Body == "" && o.Template.URL == "":
		return errors.New("cfn: Options need a loaded Template")
	case o.Template.NeedsUpload() && o.S3Bucket == "":
		return errors.New("cfn: a template over MaxTemplateBodySize needs S3Bucket")
	case o.Preview != nil && o.Execute:
		return errors.New("cfn: a preview change set is never executed")
	case o.Preview != nil && !strings.HasPrefix(o.ChangeSetName, previewPRPrefix(o.Preview.PullRequest)):
		return errors.New("cfn: a preview needs PreviewChangeSetName's name")
	}
	return nil
}

// Deploy creates a change set for the stack and, with Options.Execute,
// executes it and waits for the stack. It returns a non-nil Result also on
// error. Errors put the root cause first and say what to do next; all AWS
// text in them is shown as it came (the log escapes it), except parameter
// names and values that may be pieces of a secret (see paramNames). When ctx is
// cancelled it stops waiting, reports the stack status, deletes its own
// unexecuted change set and returns an error wrapping ctx.Err().
func (d *Deployer) Deploy(ctx context.Context, o Options) (*Result, error) {
	start := d.now()
	res := &Result{StackName: o.StackName, Region: o.Region, ChangeSetName: o.ChangeSetName, Preview: o.Preview != nil}
	if err := o.validate(); err != nil {
		return res, err
	}
	names := newParamNames(o.Parameters, o.Template)
	r := &run{d: d, o: o, res: res, start: start, names: names, logger: redactingLog{d.log, names}}
	hard := ctx
	if o.Timeout > 0 {
		r.deadline = start.Add(o.Timeout)
		// The poll loops watch the deadline on the injected clock; this
		// real one also stops an API call that hangs past it.
		var cancel context.CancelFunc
		hard, cancel = context.WithTimeout(ctx, o.Timeout+min(cleanupTimeout, o.Timeout/10))
		defer cancel()
	}
	err := r.deploy(hard)
	if err != nil {
		err = redactedError{r.cleanUp(ctx, hard, err), names}
		res.StackStatusReason = names.redact(res.StackStatusReason)
		for i := range res.Failures {
			res.Failures[i].Reason = names.redact(res.Failures[i].Reason)
		}
	}
	res.Elapsed = d.now().Sub(start)
	return res, err
}
