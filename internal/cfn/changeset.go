package cfn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// changeSetNotFoundGrace is how many polls may answer ChangeSetNotFound
// right after CreateChangeSet before it counts as an error (eventual
// consistency).
const changeSetNotFoundGrace = 4

// waitChangeSet polls the change set until CloudFormation has computed it.
func (r *run) waitChangeSet(ctx context.Context) (*cloudformation.DescribeChangeSetOutput, error) {
	p := r.d.newPoller(r.deadline)
	status := "CREATE_PENDING"
	for missing := 0; ; {
		// IncludePropertyValues: the response that finds the change set
		// complete is also the first page of its changes.
		out, err := r.d.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(r.csID), StackName: r.stackRef(), IncludePropertyValues: aws.Bool(true)})
		switch {
		case err != nil && isChangeSetMissing(err) && missing < changeSetNotFoundGrace:
			missing++
		case err != nil && transient(ctx, err):
			p.throttled()
			r.log().Debugf("Polling change set %s: %s; retrying", r.o.ChangeSetName, fault.Message(err))
		case err != nil:
			return nil, wrapAWS(err, "polling change set %s", r.o.ChangeSetName)
		default:
			p.ok()
			status = string(out.Status)
			switch out.Status {
			case types.ChangeSetStatusCreatePending, types.ChangeSetStatusCreateInProgress:
			default:
				return out, nil
			}
		}
		if err := p.sleep(ctx); errors.Is(err, errDeadline) {
			return nil, fmt.Errorf("change set %s is still %s after the %s timeout: CloudFormation is slow or the template is very large; raise timeout-in-minutes and re-run", r.o.ChangeSetName, status, r.o.Timeout)
		} else if err != nil {
			return nil, err
		}
	}
}

func (r *run) stackRef() *string {
	if r.stackID != "" {
		return aws.String(r.stackID)
	}
	return aws.String(r.o.StackName)
}

// emptyReasons are the StatusReason fragments of a change set without
// changes (the AWS CLI and CFN-GHA match the same strings).
var emptyReasons = []string{"didn't contain changes", "No updates are to be performed"}

// isEmptyRefusal reports a CreateChangeSet refused because nothing changed:
// moto does that, and so does CloudFormation for some no-op updates.
func isEmptyRefusal(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, s := range emptyReasons {
		if strings.Contains(ae.ErrorMessage(), s) {
			return true
		}
	}
	return false
}

// inspectChangeSet handles the computed change set: empty, failed, or
// ready with changes (which are then listed page by page).
func (r *run) inspectChangeSet(ctx context.Context, cs *cloudformation.DescribeChangeSetOutput) error {
	reason := aws.ToString(cs.StatusReason)
	r.csCreated = aws.ToTime(cs.CreationTime)
	r.res.ChangeSetStatus, r.res.ChangeSetExecutionStatus = string(cs.Status), string(cs.ExecutionStatus)
	r.res.ChangeSetStatusReason = reason
	r.res.ChangeSetCreated = r.csCreated
	if cs.Status != types.ChangeSetStatusCreateComplete {
		for _, s := range emptyReasons {
			if strings.Contains(reason, s) {
				return r.emptyChangeSet(ctx)
			}
		}
		return r.failedChangeSet(ctx, cs)
	}
	if err := r.listChanges(ctx, cs); err != nil {
		return err
	}
	r.res.HasChanges = true
	return nil
}

func (r *run) logChanges() {
	r.log().Infof("Change set %s has %d change(s):", r.res.ChangeSetName, r.res.ChangesCount)
	for _, c := range r.res.Changes {
		id := c.LogicalID
		if c.Stack != "" {
			id = c.Stack + "/" + id
		}
		line := fmt.Sprintf("  %-8s %-36s %s", c.Action, c.ResourceType, id)
		if c.Replacement == string(types.ReplacementTrue) || c.Replacement == string(types.ReplacementConditional) {
			line += "  (replacement: " + c.Replacement + ")"
		}
		r.log().Infof("%s", line)
		for _, d := range c.Details {
			r.log().Infof("             %s", detailLine(d))
		}
	}
	if r.res.ValuesWithheld != "" {
		r.log().Infof("Property values are withheld: %s.", r.res.ValuesWithheld)
	}
}

// detailLine renders a property change for the log: the property, its
// values (shortened) and what forces it.
func detailLine(d ChangeDetail) string {
	line := detailName(d)
	if d.BeforeValue != nil || d.AfterValue != nil {
		line += ": " + shorten(valueOr(d.BeforeValue, "(none)"), logValueLen) + " -> " + shorten(valueOr(d.AfterValue, "(none)"), logValueLen)
	}
	if d.RequiresRecreation != "" && d.RequiresRecreation != string(types.RequiresRecreationNever) {
		line += "  (requires recreation: " + d.RequiresRecreation + ")"
	}
	if d.CausingEntity != "" {
		line += "  (caused by " + d.CausingEntity + ")"
	}
	return line
}

// logValueLen bounds a property value in a log line.
const logValueLen = 120

func detailName(d ChangeDetail) string {
	name := d.Attribute
	switch {
	case d.Path != "":
		name = d.Path
	case d.Name != "":
		name += "." + d.Name
	}
	return name
}

func valueOr(p *string, none string) string {
	if p == nil {
		return none
	}
	return *p
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// emptyChangeSet deletes a change set without changes; the deploy succeeds
// unless FailOnEmpty.
func (r *run) emptyChangeSet(ctx context.Context) error {
	r.res.HasChanges, r.res.Empty = false, true
	if r.stack != nil {
		r.res.StackStatus = string(r.stack.StackStatus)
		r.res.Outputs = outputs(r.stack.Outputs)
	}
	r.deleteChangeSet(ctx, "empty")
	if r.o.FailOnEmpty {
		return fmt.Errorf("change set %s contains no changes and fail-on-empty-changeset is true: the stack is already up to date", r.o.ChangeSetName)
	}
	r.log().Infof("No changes to deploy: stack %s is up to date.", r.o.StackName)
	return nil
}

// failedChangeSet reports the reason CloudFormation gave.
func (r *run) failedChangeSet(ctx context.Context, cs *cloudformation.DescribeChangeSetOutput) error {
	reason := aws.ToString(cs.StatusReason)
	if reason == "" {
		reason = "no reason given"
	}
	kept := ""
	if r.o.DeleteFailedChangeSet {
		r.deleteChangeSet(ctx, "failed")
	} else {
		r.csSettled = true
		kept = fmt.Sprintf(" (kept for inspection: delete-failed-changeset is false; delete it with `aws cloudformation delete-change-set --change-set-name %s`)", r.csID)
	}
	return fmt.Errorf("change set %s %s: %s: fix the template, parameters or capabilities and re-run%s", r.o.ChangeSetName, string(cs.Status), reason, kept)
}

// deleteChangeSet deletes our change set and waits until it is gone, so a
// re-run finds a clean stack. It only warns on failure: the deploy outcome
// does not depend on it.
func (r *run) deleteChangeSet(ctx context.Context, what string) {
	r.csSettled = true
	if r.csID == "" {
		return // CloudFormation refused to create it; nothing to delete
	}
	r.removeChangeSet(ctx, r.csID, r.o.ChangeSetName, what, true)
}

// removeChangeSet deletes the change set id (named name, described as
// what) and, with wait, polls until it is gone. It reports whether the
// deletion was accepted; failures only warn.
func (r *run) removeChangeSet(ctx context.Context, id, name, what string, wait bool) bool {
	if err := r.deleteChangeSetCall(ctx, id, r.deadline); err != nil {
		r.log().Warningf("Could not delete the %s change set %s: %s", what, name, fault.Message(err))
		return false
	}
	if !wait {
		r.log().Infof("Deleted the %s change set %s.", what, name)
		return true
	}
	p := r.d.newPoller(r.deadline)
	for {
		out, err := r.d.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(id), StackName: r.stackRef()})
		switch {
		case isChangeSetMissing(err) || err == nil && out.Status == types.ChangeSetStatusDeleteComplete:
			r.log().Infof("Deleted the %s change set %s.", what, name)
			return true
		case err != nil && !transient(ctx, err):
			r.log().Warningf("Could not confirm the deletion of the %s change set %s: %s", what, name, fault.Message(err))
			return true
		case err != nil:
			p.throttled()
		}
		if err := p.sleep(ctx); err != nil {
			r.log().Warningf("Did not see the %s change set %s disappear before stopping: %v", what, name, err)
			return true
		}
	}
}

// maxChangeSetPages bounds the listing of a stack's change sets.
const maxChangeSetPages = 20

// deletePreviews deletes the pull request's earlier preview change sets of
// the stack, never executing them. Failures only warn: the new preview
// does not depend on them, except on a change set of the very same name
// (a re-run at the same commit), which is waited for so that the name is
// free again.
func (r *run) deletePreviews(ctx context.Context) {
	if r.stackID == "" {
		return // no stack, no change sets
	}
	prefix := previewPRPrefix(r.o.Preview.PullRequest)
	var old []types.ChangeSetSummary
	var token *string
	for range maxChangeSetPages {
		var out *cloudformation.ListChangeSetsOutput
		err := r.retry(ctx, "listing the change sets of stack "+r.o.StackName, func() error {
			var err error
			out, err = r.d.cfn.ListChangeSets(ctx, &cloudformation.ListChangeSetsInput{StackName: aws.String(r.stackID), NextToken: token})
			return err
		})
		if err != nil {
			r.log().Warningf("Could not look for earlier previews of pull request #%d to delete (the role needs cloudformation:ListChangeSets): %s", r.o.Preview.PullRequest, fault.Message(err))
			return
		}
		for _, s := range out.Summaries {
			if strings.HasPrefix(aws.ToString(s.ChangeSetName), prefix) && deletable(s) {
				old = append(old, s)
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	for _, s := range old {
		name := aws.ToString(s.ChangeSetName)
		r.removeChangeSet(ctx, aws.ToString(s.ChangeSetId), name, "earlier preview", name == r.o.ChangeSetName)
	}
}

// deletable reports a change set that was never executed and is not
// already on its way out.
func deletable(s types.ChangeSetSummary) bool {
	switch s.ExecutionStatus {
	case types.ExecutionStatusExecuteInProgress, types.ExecutionStatusExecuteComplete, types.ExecutionStatusExecuteFailed:
		return false
	}
	switch s.Status {
	case types.ChangeSetStatusDeletePending, types.ChangeSetStatusDeleteInProgress, types.ChangeSetStatusDeleteComplete, types.ChangeSetStatusDeleteFailed:
		return false
	}
	return true
}

// execute runs the change set, streams events until the stack settles and
// collects the outputs, or the root cause of a failure.
func (r *run) execute(ctx context.Context) error {
	o := r.o
	if o.TerminationProtection && r.stack != nil && !aws.ToBool(r.stack.EnableTerminationProtection) {
		// Before executing, so the stack is protected during the update.
		if err := r.protect(ctx); err != nil {
			return err
		}
	}
	since := r.csCreated // AWS's clock, like the event timestamps
	if since.IsZero() {
		since = r.d.now()
	}
	in := &cloudformation.ExecuteChangeSetInput{
		ChangeSetName:   aws.String(r.csID),
		StackName:       r.stackRef(),
		DisableRollback: aws.Bool(o.DisableRollback),
		// Unique to this run and change set (a token derived from a fixed
		// change-set-name could make a later run's execution look like a
		// retry), and the same on every attempt.
		ClientRequestToken: aws.String(r.executeToken()),
	}
	execStart := r.d.now()
	if err := r.executeChangeSet(ctx, in); err != nil {
		return wrapAWS(err, "executing change set %s", o.ChangeSetName)
	}
	r.csSettled = true
	r.res.Executed = true
	r.res.Created = r.stack == nil
	r.log().Infof("Executing change set %s (disable-rollback: %t).", o.ChangeSetName, o.DisableRollback)

	end := r.log().Group("Stack events: " + o.StackName)
	events := newEventStream(r.d.cfn, r.stackID, since, func(ev types.StackEvent) { r.log().Infof("%s", formatEvent(ev)) })
	polled := 0
	final, err := r.pollStack(ctx, r.stackID, events, func(st types.Stack) bool {
		// Right after ExecuteChangeSet the stack may still show the status
		// of its previous operation; trust a terminal status once the
		// update has visibly started, or after a few polls.
		polled++
		return r.stack == nil || polled > 4 || !aws.ToTime(st.LastUpdatedTime).Before(since)
	})
	end()
	r.res.ExecutionDuration = r.d.now().Sub(execStart)
	r.res.StackStatus = string(final.StackStatus)
	r.res.StackStatusReason = aws.ToString(final.StackStatusReason)
	if err != nil {
		return r.executionError(ctx, events, final, err)
	}
	switch final.StackStatus {
	case types.StackStatusCreateComplete, types.StackStatusUpdateComplete, types.StackStatusImportComplete:
	default:
		return r.executionError(ctx, events, final, nil)
	}
	r.res.Outputs = outputs(final.Outputs)
	r.log().Infof("Stack %s is %s after %s.", o.StackName, string(final.StackStatus), r.res.ExecutionDuration.Round(100*time.Millisecond))
	if o.TerminationProtection && r.stack == nil {
		// After a successful create only: a protected ROLLBACK_COMPLETE
		// stack could not be deleted and re-created by the next run.
		return r.protect(ctx)
	}
	return nil
}

func (r *run) protect(ctx context.Context) error {
	err := r.mutate(ctx, "UpdateTerminationProtection", r.deadline, func(int) error {
		_, err := r.d.cfn.UpdateTerminationProtection(ctx, &cloudformation.UpdateTerminationProtectionInput{
			StackName:                   aws.String(r.stackID),
			EnableTerminationProtection: aws.Bool(true),
		}, noSDKRetry)
		return err
	})
	if err != nil {
		return wrapAWS(err, "enabling termination protection on stack %s (the deploy role needs cloudformation:UpdateTerminationProtection)", r.o.StackName)
	}
	r.log().Infof("Termination protection is on for stack %s.", r.o.StackName)
	return nil
}

// executionError builds the failure message: the root cause first, then
// the final status and what to do next. waitErr is the error that stopped
// the wait, if any.
func (r *run) executionError(ctx context.Context, events *eventStream, final types.Stack, waitErr error) error {
	if waitErr != nil && !errors.Is(waitErr, errDeadline) {
		return waitErr
	}
	r.res.Failures = rootCause(ctx, r.d.cfn, events.events, r.stackID, events.since, 0)
	var lines []string
	for _, f := range r.res.Failures {
		lines = append(lines, f.String())
	}
	name, status := r.o.StackName, string(final.StackStatus)
	if waitErr != nil {
		lines = append(lines, fmt.Sprintf("still %s after the %s timeout: CloudFormation continues the operation; follow it in the console, and raise timeout-in-minutes if it is expected to take this long", status, r.o.Timeout))
		return fmt.Errorf("stack %s: %s", name, strings.Join(lines, "\n"))
	}
	lines = append(lines, "final status "+status+statusReason(final), "next: "+nextStep(name, final.StackStatus))
	return fmt.Errorf("stack %s failed: %s", name, strings.Join(lines, "\n"))
}

// nextStep tells the user what to do after a failed operation.
func nextStep(name string, st types.StackStatus) string {
	switch st {
	case types.StackStatusRollbackComplete:
		return "the stack was rolled back; fix the cause above and re-run: the action deletes ROLLBACK_COMPLETE stacks before the next create"
	case types.StackStatusCreateFailed:
		return "rollback was disabled, so the failed resources are kept for debugging; fix the cause above and re-run: the action deletes CREATE_FAILED stacks before the next create"
	case types.StackStatusUpdateRollbackComplete:
		return "the update was rolled back and the stack is back at its previous state; fix the cause above and re-run"
	case types.StackStatusUpdateFailed:
		return fmt.Sprintf("rollback was disabled, so the stack keeps the partial update; fix the cause above and re-run, or roll back with `aws cloudformation rollback-stack --stack-name %s`", name)
	case types.StackStatusUpdateRollbackFailed:
		return fmt.Sprintf("the rollback failed too: run `aws cloudformation continue-update-rollback --stack-name %s` (skipping resources that cannot roll back), then re-run", name)
	case types.StackStatusRollbackFailed:
		return fmt.Sprintf("the rollback failed too: delete the stack with `aws cloudformation delete-stack --stack-name %s --retain-resources ...`, then re-run", name)
	}
	return "fix the cause above and re-run"
}

func outputs(os []types.Output) []Output {
	var out []Output
	for _, o := range os {
		out = append(out, Output{
			Key:         aws.ToString(o.OutputKey),
			Value:       aws.ToString(o.OutputValue),
			Description: aws.ToString(o.Description),
			ExportName:  aws.ToString(o.ExportName),
		})
	}
	return out
}

// cleanUp runs after a failed deploy: it deletes our unexecuted change set
// with a fresh short context and, on cancellation (ctx) or the hard
// deadline (hard), reports the stack status and says what stopped it.
func (r *run) cleanUp(ctx, hard context.Context, err error) error {
	cancelled := hard.Err() != nil
	if !cancelled && (r.csID == "" || r.csSettled) {
		return err
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var notes []string
	if r.csID != "" && !r.csSettled {
		r.csSettled = true
		// Its own budget: the deploy deadline may be what stopped the run.
		if derr := r.deleteChangeSetCall(bg, r.csID, r.d.now().Add(cleanupTimeout)); derr != nil {
			notes = append(notes, fmt.Sprintf("could not delete the unexecuted change set %s: %s", r.o.ChangeSetName, fault.Message(derr)))
		} else {
			notes = append(notes, fmt.Sprintf("deleted the unexecuted change set %s", r.o.ChangeSetName))
		}
	}
	if !cancelled {
		r.log().Infof("Cleanup: %s.", strings.Join(notes, "; "))
		return err
	}
	if r.stackID != "" || r.stack != nil {
		out, derr := r.d.cfn.DescribeStacks(bg, &cloudformation.DescribeStacksInput{StackName: r.stackRef()})
		if derr == nil && len(out.Stacks) > 0 {
			st := out.Stacks[0]
			r.res.StackStatus = string(st.StackStatus)
			note := "stack status " + string(st.StackStatus)
			if r.res.Executed && strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
				note += " (CloudFormation continues the started operation; it is not cancelled)"
			}
			notes = append(notes, note)
		}
	}
	msg := "deploying stack " + r.o.StackName + " cancelled"
	cause := ctx.Err()
	if cause == nil {
		msg = fmt.Sprintf("deploying stack %s timed out after %s (an AWS call did not return in time; raise timeout-in-minutes if the stack needs longer)", r.o.StackName, r.o.Timeout)
		cause = hard.Err()
	}
	if len(notes) > 0 {
		msg += " (" + strings.Join(notes, "; ") + ")"
	}
	return fmt.Errorf("%s: %w", msg, cause)
}
