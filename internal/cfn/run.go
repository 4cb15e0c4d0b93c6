package cfn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// run is the state of one Deploy.
type run struct {
	d        *Deployer
	o        Options
	res      *Result
	start    time.Time
	deadline time.Time

	stack   *types.Stack // nil when the stack does not exist
	stackID string
	csID    string
	// csCreated is the change set's creation time on AWS's clock.
	csCreated time.Time
	// csSettled is true once our change set was executed, deleted or is
	// deliberately kept, or when it is not ours (execute-only), so cleanup
	// must not delete it.
	csSettled bool
	// throttleNoted is set once throttling was reported.
	throttleNoted bool
	// names decides which parameter names may be printed; logger applies
	// it to every line.
	names  *paramNames
	logger Logger
	// sec masks NoEcho values in the stack's own changes.
	sec *secrets
}

// wrapAWS adds one layer of context to an AWS error ("what: message
// (code)") and the fix for the errors users hit most.
func wrapAWS(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fault.New(what, err, "")
	}
	return fault.New(what, apiText{err}, fixFor(fault.Code(err), fault.Message(err)))
}

// apiText shows an AWS error as "message (code)" instead of the SDK's
// "operation error ..., https response error StatusCode: ..." chain.
type apiText struct{ err error }

func (a apiText) Error() string {
	msg := fault.Message(a.err)
	if msg == "" {
		msg = fault.Code(a.err)
	}
	if code := fault.Code(a.err); code != "" && !strings.Contains(msg, code) {
		msg += " (" + code + ")"
	}
	var ex *exhausted
	if errors.As(a.err, &ex) && fault.Code(a.err) != "" {
		msg += ex.suffix()
	}
	return msg
}

func (a apiText) Unwrap() error { return a.err }

// fixFor says what to do about the CloudFormation errors users hit most.
func fixFor(code, msg string) string {
	switch {
	case code == "AccessDenied" && strings.Contains(msg, "iam:PassRole"):
		return "the deploy role may not pass the CloudFormation service role. Allow iam:PassRole on exactly cloudformation-role-arn with the condition iam:PassedToService = cloudformation.amazonaws.com (iam/bootstrap.yaml does this)"
	case code == "AccessDenied" && strings.Contains(msg, "cloudformation:CreateChangeSet"):
		return "the deploy role may not create change sets here. Its policy must allow cloudformation:CreateChangeSet on arn:aws:cloudformation:REGION:ACCOUNT:stack/STACK/*, and when it pins cloudformation:RoleArn, cloudformation-role-arn must be set to exactly that role"
	case code == "AccessDenied":
		return "the deploy role lacks the permission named above; add it to the deploy role's policy, scoped to this stack"
	case code == "InsufficientCapabilitiesException" || strings.Contains(msg, "Requires capabilities"):
		return "add the capabilities named above to the capabilities input (e.g. capabilities: CAPABILITY_IAM,CAPABILITY_NAMED_IAM)"
	case strings.Contains(msg, "is invalid or cannot be assumed"):
		return "the CloudFormation service role must exist and trust cloudformation.amazonaws.com; check cloudformation-role-arn"
	case code == "ExpiredToken":
		return "the deploy role's session expired during the deploy; raise role-duration-seconds"
	case throttleCodes[code]:
		return "CloudFormation's API rate limit is shared by every job deploying in the account and region, and it stayed exhausted for minutes: deploy fewer stacks at once (strategy.max-parallel in a matrix) and re-run"
	case code == "AlreadyExistsException":
		return "a change set of that name already exists on the stack: delete it, or give a new change-set-name (the default is unique per run)"
	}
	return ""
}

func (r *run) log() Logger { return r.logger }

func (r *run) deploy(ctx context.Context) error {
	o := r.o
	r.maskSecrets()
	if o.ExecuteChangeSet != "" {
		return r.executeExisting(ctx)
	}
	end := r.log().Group(fmt.Sprintf("Change set %s for stack %s", o.ChangeSetName, o.StackName))
	csStart := r.d.now()
	err := r.prepareChangeSet(ctx)
	r.res.ChangeSetDuration = r.d.now().Sub(csStart)
	end()
	if err != nil || !r.res.HasChanges {
		return err
	}
	r.logChanges()
	if !o.Execute {
		r.csSettled = true
		if r.stack != nil {
			r.res.Outputs = outputs(r.stack.Outputs)
		}
		if o.Preview != nil {
			r.log().Infof("Preview change set %s is ready for review. It is never executed: merging the pull request deploys through the deploy role.", o.ChangeSetName)
			return nil
		}
		r.log().Infof("Change set %s is ready for review and was not executed (execute-changeset: false).", o.ChangeSetName)
		r.log().Infof("Execute it with: aws cloudformation execute-change-set --change-set-name %s", r.csID)
		return nil
	}
	return r.execute(ctx)
}

// prepareChangeSet settles the stack, uploads the template if needed,
// creates the change set and waits for it.
func (r *run) prepareChangeSet(ctx context.Context) error {
	if err := r.settleStack(ctx); err != nil {
		return err
	}
	if r.o.Preview != nil {
		r.deletePreviews(ctx)
	}
	if r.o.Template.URL != "" && !r.o.Template.ParametersKnown {
		if err := r.summarizeTemplate(ctx); err != nil {
			return err
		}
	}
	in, err := r.changeSetInput(ctx)
	if err != nil {
		return err
	}
	out, err := r.createChangeSet(ctx, in)
	if err != nil && isEmptyRefusal(err) {
		r.log().Infof("CloudFormation refused change set %s because nothing changed (%s).", r.o.ChangeSetName, fault.Message(err))
		return r.emptyChangeSet(ctx)
	}
	if err != nil {
		return wrapAWS(err, "creating change set %s", r.o.ChangeSetName)
	}
	r.csID = aws.ToString(out.Id)
	r.res.ChangeSetID = r.csID
	if id := aws.ToString(out.StackId); id != "" {
		r.stackID = id
		r.res.StackID = id
	}
	if r.stack == nil {
		// A CREATE change set makes an empty stack awaiting review.
		r.res.StackStatus = string(types.StackStatusReviewInProgress)
	}
	r.log().Infof("Created %s change set %s; waiting for CloudFormation to compute it.", in.ChangeSetType, r.o.ChangeSetName)
	cs, err := r.waitChangeSet(ctx)
	if err != nil {
		return err
	}
	return r.inspectChangeSet(ctx, cs)
}

// settleStack decides between create and update, waiting for an operation
// in progress and deleting a stack that cannot be updated but has nothing
// to keep.
func (r *run) settleStack(ctx context.Context) error {
	for {
		st, err := r.describeStack(ctx, r.o.StackName)
		if err != nil {
			return err
		}
		r.stack = st
		if st == nil {
			r.log().Infof("Stack %s does not exist: creating it.", r.o.StackName)
			return nil
		}
		r.stackID = aws.ToString(st.StackId)
		r.res.StackID = r.stackID
		for _, sp := range st.Parameters {
			r.names.learn(aws.ToString(sp.ParameterKey))
		}
		r.res.StackStatus = string(st.StackStatus)
		status := st.StackStatus
		switch {
		case status == types.StackStatusReviewInProgress:
			// A stack that a change set created and nobody executed (a
			// preview of a new stack, most often): it holds no resources,
			// and CloudFormation takes another CREATE change set for it.
			// Deleting it would need DeleteStack and throw away the
			// other pull requests' previews.
			r.log().Infof("Stack %s is %s (created for a change set that was never executed): creating it.", r.o.StackName, string(status))
			r.stack = nil
			return nil
		case status == types.StackStatusRollbackComplete || status == types.StackStatusCreateFailed:
			if err := r.deleteStack(ctx, st); err != nil {
				return err
			}
			r.stack, r.stackID = nil, ""
			return nil
		case strings.HasSuffix(string(status), "_IN_PROGRESS"):
			if err := r.waitSettled(ctx, st); err != nil {
				return err
			}
		case strings.HasSuffix(string(status), "_FAILED") && status != types.StackStatusUpdateFailed:
			return stuckError(r.o.StackName, st)
		default:
			r.log().Infof("Stack %s exists (%s): updating it.", r.o.StackName, string(status))
			return nil
		}
	}
}

// describeStack returns the stack, or nil when it does not exist. Throttling
// is retried until the deadline.
func (r *run) describeStack(ctx context.Context, name string) (*types.Stack, error) {
	var st *types.Stack
	err := r.retry(ctx, "describing stack "+name, func() error {
		out, err := r.d.cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if isStackMissing(err) {
			st = nil
			return nil
		}
		if err != nil {
			return err
		}
		st = nil
		if len(out.Stacks) > 0 && out.Stacks[0].StackStatus != types.StackStatusDeleteComplete {
			st = &out.Stacks[0]
		}
		return nil
	})
	return st, err
}

// retry runs a read-only call, retrying transient errors (throttling after
// the SDK retryer gave up) with the poll schedule until the deadline.
func (r *run) retry(ctx context.Context, what string, call func() error) error {
	p := r.d.newPoller(r.deadline)
	for {
		err := call()
		if err == nil || !transient(ctx, err) {
			return wrapAWS(err, "%s", what)
		}
		p.throttled()
		r.log().Debugf("%s: %s; retrying", what, fault.Message(err))
		if serr := p.sleep(ctx); serr != nil {
			if errors.Is(serr, errDeadline) {
				return wrapAWS(err, "%s (still failing at the %s deadline)", what, r.o.Timeout)
			}
			return fmt.Errorf("%s: %w", what, serr)
		}
	}
}

func stuckError(name string, st *types.Stack) error {
	status := string(st.StackStatus)
	reason := ""
	if s := aws.ToString(st.StackStatusReason); s != "" {
		reason = " (" + s + ")"
	}
	var fix string
	switch st.StackStatus {
	case types.StackStatusUpdateRollbackFailed:
		fix = fmt.Sprintf("run `aws cloudformation continue-update-rollback --stack-name %s` (with --resources-to-skip for resources that cannot roll back), wait for UPDATE_ROLLBACK_COMPLETE, then re-run", name)
	case types.StackStatusRollbackFailed, types.StackStatusDeleteFailed:
		fix = fmt.Sprintf("delete it with `aws cloudformation delete-stack --stack-name %s` (with --retain-resources for resources that cannot be deleted), then re-run", name)
	default:
		fix = "resolve the failed resources (see the stack events in the CloudFormation console), then re-run"
	}
	return fmt.Errorf("stack %s is %s%s and cannot be updated: %s", name, status, reason, fix)
}

// deleteStack removes a stack that holds nothing worth keeping (a review
// stack or a failed create) and waits until it is gone.
func (r *run) deleteStack(ctx context.Context, st *types.Stack) error {
	name, id, status := r.o.StackName, aws.ToString(st.StackId), string(st.StackStatus)
	why := "a create that failed, with nothing to keep"
	r.log().Infof("Stack %s is %s (%s): deleting it before a fresh create.", name, status, why)
	r.res.Recreated = status
	in := &cloudformation.DeleteStackInput{StackName: aws.String(id)}
	if r.o.RoleARN != "" {
		in.RoleARN = aws.String(r.o.RoleARN)
	}
	err := r.mutate(ctx, "DeleteStack", r.deadline, func(int) error {
		_, err := r.d.cfn.DeleteStack(ctx, in, noSDKRetry)
		return err
	})
	if err != nil {
		return wrapAWS(err, "deleting %s stack %s (disable its termination protection if it is on)", status, name)
	}
	last, err := r.pollStack(ctx, id, nil, nil)
	if errors.Is(err, errDeadline) {
		return fmt.Errorf("deleting %s stack %s: still %s after the %s timeout: wait for the deletion, or raise timeout-in-minutes", status, name, string(last.StackStatus), r.o.Timeout)
	}
	if err != nil {
		return err
	}
	if last.StackStatus != types.StackStatusDeleteComplete {
		return fmt.Errorf("deleting %s stack %s ended in %s%s: delete it by hand (retaining what cannot be deleted), then re-run", status, name, string(last.StackStatus), statusReason(last))
	}
	r.log().Infof("Deleted stack %s.", name)
	return nil
}

// waitSettled waits for another operation on the stack to finish.
func (r *run) waitSettled(ctx context.Context, st *types.Stack) error {
	name, status := r.o.StackName, string(st.StackStatus)
	r.log().Infof("Stack %s is %s: waiting for that operation to finish first.", name, status)
	last, err := r.pollStack(ctx, aws.ToString(st.StackId), nil, nil)
	if errors.Is(err, errDeadline) {
		return fmt.Errorf("stack %s is still %s after waiting the %s timeout: another deployment is probably running; wait for it to finish or raise timeout-in-minutes, then re-run", name, string(last.StackStatus), r.o.Timeout)
	}
	if err != nil {
		return err
	}
	r.log().Infof("Stack %s is now %s.", name, string(last.StackStatus))
	return nil
}

func statusReason(st types.Stack) string {
	if s := aws.ToString(st.StackStatusReason); s != "" {
		return " (" + s + ")"
	}
	return ""
}

// pollStack polls the stack by ID until it is no longer *_IN_PROGRESS, or
// gone (reported as DELETE_COMPLETE). With events it also streams new
// stack events after each status poll. started tells whether a terminal
// status belongs to the current operation; nil accepts any. It returns the
// last stack seen; on errDeadline that is the status at the deadline.
func (r *run) pollStack(ctx context.Context, id string, events *eventStream, started func(types.Stack) bool) (types.Stack, error) {
	p := r.d.newPoller(r.deadline)
	last := types.Stack{StackId: aws.String(id), StackStatus: types.StackStatus("UNKNOWN")}
	streamWarned := false
	var described time.Time
	for {
		// One call per tick: the event fetch, or the status check when it
		// is due (first tick, the events say the stack settled, or every
		// statusRecheck in case events lag). Events missed on a status
		// tick come with the next fetch.
		recheck := !described.IsZero() && r.d.now().Sub(described) >= statusRecheck
		if events != nil && !events.broken && !recheck {
			err := events.poll(ctx)
			switch {
			case err != nil && transient(ctx, err):
				p.throttled()
			case err != nil && ctx.Err() == nil:
				events.broken = true
				if !streamWarned {
					streamWarned = true
					r.log().Warningf("Not streaming stack events: %s", fault.Message(err))
				}
			case err == nil:
				p.ok()
			}
			// The stack's own events carry its status: while they say the
			// operation runs, skip DescribeStacks (half the calls).
			if !events.broken && !events.stackSettled() && !described.IsZero() {
				if err := p.sleep(ctx); err != nil {
					return last, err
				}
				continue
			}
		}
		out, err := r.d.cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(id)})
		described = r.d.now()
		switch {
		case isStackMissing(err):
			last.StackStatus = types.StackStatusDeleteComplete
			return last, nil
		case err != nil && transient(ctx, err):
			p.throttled()
			r.log().Debugf("Polling stack %s: %s; retrying", r.o.StackName, fault.Message(err))
		case err != nil:
			return last, wrapAWS(err, "polling stack %s", r.o.StackName)
		case len(out.Stacks) == 0:
			last.StackStatus = types.StackStatusDeleteComplete
			return last, nil
		default:
			p.ok()
			prev := last.StackStatus
			last = out.Stacks[0]
			if events == nil && last.StackStatus != prev && prev != "UNKNOWN" {
				r.log().Infof("Stack %s: %s", r.o.StackName, string(last.StackStatus))
			}
			done := !strings.HasSuffix(string(last.StackStatus), "_IN_PROGRESS")
			if done && (started == nil || started(last)) {
				if events != nil {
					// Print the final events that arrived with the status.
					_ = events.poll(ctx)
				}
				return last, nil
			}
		}
		if err := p.sleep(ctx); err != nil {
			return last, err
		}
	}
}

// statusRecheck bounds how long the status poll trusts the event stream.
const statusRecheck = 30 * time.Second

// changeSetInput builds CreateChangeSet's input, uploading the template to
// S3 first when it is too large to send inline.
func (r *run) changeSetInput(ctx context.Context) (*cloudformation.CreateChangeSetInput, error) {
	o := r.o
	in := &cloudformation.CreateChangeSetInput{
		StackName:     aws.String(o.StackName),
		ChangeSetName: aws.String(o.ChangeSetName),
		ChangeSetType: types.ChangeSetTypeUpdate,
		Description:   aws.String("Created by aws-assume-deploy at " + r.d.now().UTC().Format(time.RFC3339)),
		Parameters:    r.parameters(),
	}
	if r.stack == nil {
		in.ChangeSetType = types.ChangeSetTypeCreate
	}
	r.res.ChangeSetType = string(in.ChangeSetType)
	switch {
	case o.Template.URL != "":
		in.TemplateURL = aws.String(o.Template.URL)
	case o.Template.NeedsUpload():
		u, err := r.upload(ctx)
		if err != nil {
			return nil, err
		}
		in.TemplateURL = aws.String(u)
	default:
		in.TemplateBody = aws.String(o.Template.Body)
	}
	if o.RoleARN != "" {
		in.RoleARN = aws.String(o.RoleARN)
	}
	if o.ClientToken != "" {
		in.ClientToken = aws.String(o.ClientToken)
	}
	if o.IncludeNestedStacks {
		in.IncludeNestedStacks = aws.Bool(true)
	}
	switch {
	case o.DeploymentMode == "":
	case r.stack == nil:
		r.log().Warningf("deployment-mode %s is left out: the stack %s does not exist yet, and CloudFormation accepts a deployment mode only when updating a stack.", o.DeploymentMode, o.StackName)
	default:
		in.DeploymentMode = types.DeploymentMode(o.DeploymentMode)
	}
	for _, c := range o.Capabilities {
		in.Capabilities = append(in.Capabilities, types.Capability(c))
	}
	// Nil, not empty, slices: an empty list would remove the stack's
	// existing tags and notification ARNs.
	for _, t := range o.Tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	if len(o.NotificationARNs) > 0 {
		in.NotificationARNs = slices.Clone(o.NotificationARNs)
	}
	return in, nil
}

// parameters merges the overrides with the stack's current parameters. On
// update every declared parameter left out keeps its previous value when the
// stack has it (otherwise the template default applies); for a URL template,
// whose parameters are unknown here, that holds for every current stack
// parameter, so a value is never silently reset to a default. On create
// nothing uses the previous value. Only keys are logged.
func (r *run) parameters() []types.Parameter {
	var out []types.Parameter
	var given, kept []string
	overridden := map[string]bool{}
	for _, p := range r.o.Parameters {
		overridden[p.Key] = true
		switch {
		case p.UsePrevious && r.stack == nil:
			continue
		case p.UsePrevious:
			out = append(out, types.Parameter{ParameterKey: aws.String(p.Key), UsePreviousValue: aws.Bool(true)})
			kept = append(kept, r.names.show(p.Key))
		default:
			out = append(out, types.Parameter{ParameterKey: aws.String(p.Key), ParameterValue: aws.String(p.Value)})
			given = append(given, r.names.show(p.Key))
		}
	}
	if r.stack != nil {
		var previous []string
		for _, sp := range r.stack.Parameters {
			k := aws.ToString(sp.ParameterKey)
			if !overridden[k] && r.o.Template.Declares(k) {
				previous = append(previous, k)
			}
		}
		slices.Sort(previous)
		for _, k := range previous {
			out = append(out, types.Parameter{ParameterKey: aws.String(k), UsePreviousValue: aws.Bool(true)})
		}
		kept = append(kept, previous...)
	}
	if len(given) > 0 {
		note := ""
		if !r.names.allKnown() {
			note = " (names neither the template nor the stack declares are shown by position: they may be pieces of a value split at a comma, '=' or line break)"
		}
		r.log().Infof("Parameters given: %s%s", strings.Join(given, ", "), note)
	}
	if len(kept) > 0 {
		r.log().Infof("Parameters keeping their previous value: %s", strings.Join(kept, ", "))
	}
	return out
}

// upload puts the template into S3 under a content-addressed key, so
// re-runs reuse the object, and returns its URL.
func (r *run) upload(ctx context.Context) (string, error) {
	o := r.o
	if r.d.o.S3 == nil {
		return "", errors.New("uploading the template: no S3 client configured")
	}
	sum := sha256.Sum256([]byte(o.Template.Body))
	key, err := templateKey(o.S3Prefix, o.StackName, sum[:16])
	if err != nil {
		return "", fmt.Errorf("uploading the template: %w", err)
	}
	in := &s3.PutObjectInput{
		Bucket:      aws.String(o.S3Bucket),
		Key:         aws.String(key),
		ContentType: aws.String("text/plain; charset=utf-8"),
	}
	if o.BucketOwner != "" {
		// S3 refuses the upload unless this account owns the bucket: a
		// mistyped bucket name, or one deleted and re-created by someone
		// else, must not receive the template CloudFormation then runs
		// with the service role.
		in.ExpectedBucketOwner = aws.String(o.BucketOwner)
	}
	err = r.mutate(ctx, "PutObject", r.deadline, func(int) error {
		in.Body = bytes.NewReader([]byte(o.Template.Body)) // a fresh body per attempt
		_, err := r.d.o.S3.PutObject(ctx, in, noS3Retry)
		return err
	})
	if err != nil {
		what := fmt.Sprintf("uploading the template to s3://%s/%s", o.S3Bucket, key)
		if fault.Code(err) != "AccessDenied" || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return "", wrapAWS(err, "%s (the deploy role needs s3:PutObject there)", what)
		}
		owner := "the deploy role's account"
		if o.BucketOwner != "" {
			owner = "account " + o.BucketOwner + " (the deploy role's)"
		}
		return "", fault.New(what, apiText{err}, fmt.Sprintf("check that s3-bucket names a bucket owned by %s: the upload is refused for a bucket of any other account; and that the deploy role may s3:PutObject under s3-prefix", owner))
	}
	u := TemplateObjectURL(o.S3Bucket, o.Region, key)
	r.res.TemplateURL = u
	r.log().Infof("Uploaded the %d-byte template to %s", o.Template.Size, u)
	return u, nil
}

// TemplateObjectURL is the https URL CloudFormation reads an uploaded
// template from: virtual-hosted style with the region, or path style for
// bucket names with dots, which do not match S3's TLS certificate.
func TemplateObjectURL(bucket, region, key string) string {
	host := "s3.amazonaws.com"
	if region != "" {
		host = "s3." + region + ".amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			host += ".cn"
		}
	}
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	escaped := strings.Join(segs, "/")
	if strings.Contains(bucket, ".") {
		return "https://" + host + "/" + bucket + "/" + escaped
	}
	return "https://" + bucket + "." + host + "/" + escaped
}
