// Package cfn deploys a CloudFormation stack through a change set, the way a
// least-privilege deploy role should: CreateChangeSet with the CloudFormation
// service role (RoleARN), wait, report the changes, ExecuteChangeSet, stream
// the stack events, and report the root cause of a failure first. It never
// calls CreateStack or UpdateStack.
//
// The package also parses and validates the deploy inputs (template,
// parameter overrides, tags, names, capabilities) without any network call,
// so bad inputs are refused before the first AWS request.
package cfn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// API is the subset of *cloudformation.Client the deployer uses.
type API interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error)
	DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error)
	ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error)
	DeleteChangeSet(ctx context.Context, in *cloudformation.DeleteChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error)
	DeleteStack(ctx context.Context, in *cloudformation.DeleteStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
	DescribeStackEvents(ctx context.Context, in *cloudformation.DescribeStackEventsInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error)
	UpdateTerminationProtection(ctx context.Context, in *cloudformation.UpdateTerminationProtectionInput, optFns ...func(*cloudformation.Options)) (*cloudformation.UpdateTerminationProtectionOutput, error)
}

// Uploader is the subset of *s3.Client used to upload large templates.
type Uploader interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Logger is where the deployer reports progress. The implementation
// neutralises workflow commands in every line; AWS text is still passed
// through Untrusted first.
type Logger interface {
	Infof(format string, args ...any)
	Debugf(format string, args ...any)
	Warningf(format string, args ...any)
	// Group starts a collapsible log group; the returned func ends it.
	Group(title string) (end func())
}

// Deployer runs change-set deploys. CFN and Log are required; S3 only for
// templates over 51,200 bytes. Now, Sleep and Rand default to the real
// clock, a timer and math/rand; tests inject them.
type Deployer struct {
	CFN API
	S3  Uploader
	Log Logger
	// Now is the clock used for deadlines and timings.
	Now func() time.Time
	// Sleep waits for d or until ctx is done, then returns ctx.Err().
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for poll jitter.
	Rand func() float64
}

// DefaultTimeout bounds a deploy when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Minute

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
	// Timeout bounds the whole deploy, waits included; zero means
	// DefaultTimeout. Exceeding it is an error.
	Timeout time.Duration
	// S3Bucket and S3Prefix receive templates over MaxTemplateBodySize.
	S3Bucket, S3Prefix string
	// ChangeSetName must be unique for the stack; see DefaultChangeSetName.
	ChangeSetName string
	// ClientToken, when set, is CreateChangeSet's idempotency token.
	ClientToken string
	// Region builds the S3 URL of an uploaded template.
	Region string
}

// Change is one resource change of a change set.
type Change struct {
	Action       string
	LogicalID    string
	PhysicalID   string
	ResourceType string
	// Replacement is True, False or Conditional for modifications.
	Replacement string
}

// Output is one stack output. Value is untrusted text.
type Output struct {
	Key, Value, Description, ExportName string
}

// Result is what a deploy did. Deploy returns it, filled as far as the
// deploy got, also with an error, so the caller can write outputs and the
// step summary either way.
type Result struct {
	StackName         string
	StackID           string
	StackStatus       string
	StackStatusReason string
	ChangeSetID       string
	ChangeSetName     string
	// ChangeSetType is CREATE or UPDATE.
	ChangeSetType string
	HasChanges    bool
	ChangesCount  int
	Changes       []Change
	Outputs       []Output
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

func (d *Deployer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deployer) rand() float64 {
	if d.Rand != nil {
		return d.Rand()
	}
	return rand.Float64()
}

// sleep waits with the injected Sleep or a timer.
func (d *Deployer) sleep(ctx context.Context, dur time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, dur)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// validate checks what Deploy needs before its first call.
func (o Options) validate() error {
	var errs []error
	if err := ValidStackName(o.StackName); err != nil {
		errs = append(errs, err)
	}
	if err := ValidChangeSetName(o.ChangeSetName); err != nil {
		errs = append(errs, err)
	}
	switch {
	case o.Template.Body == "" && o.Template.URL == "":
		errs = append(errs, errors.New("no template: load one with LoadTemplate"))
	case o.Template.NeedsUpload() && o.S3Bucket == "":
		errs = append(errs, fmt.Errorf("the template is %d bytes, over CloudFormation's %d-byte limit for an inline template: set s3-bucket so it can be uploaded, or shrink it", o.Template.Size, MaxTemplateBodySize))
	}
	if err := o.Template.CheckOverrides(o.Parameters); err != nil {
		errs = append(errs, err)
	}
	if err := checkParameterKeys(o.Parameters); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Deploy creates a change set for the stack and, with Options.Execute,
// executes it and waits for the stack. It returns a non-nil Result also on
// error. Errors put the root cause first and say what to do next; all AWS
// text in them and in the log went through Untrusted. When ctx is
// cancelled it stops waiting, reports the stack status, deletes its own
// unexecuted change set and returns an error wrapping ctx.Err().
func (d *Deployer) Deploy(ctx context.Context, o Options) (*Result, error) {
	start := d.now()
	res := &Result{StackName: o.StackName, ChangeSetName: o.ChangeSetName}
	if err := o.validate(); err != nil {
		return res, err
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	r := &run{d: d, o: o, res: res, start: start, deadline: start.Add(o.Timeout)}
	// The poll loops watch the deadline on the injected clock; this real
	// one also stops an API call that hangs past it.
	hard, cancel := context.WithTimeout(ctx, o.Timeout+min(cleanupTimeout, o.Timeout/10))
	defer cancel()
	err := r.deploy(hard)
	if err != nil {
		err = r.cleanUp(ctx, hard, err)
	}
	res.Elapsed = d.now().Sub(start)
	return res, err
}
