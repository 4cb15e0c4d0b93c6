package cfn

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// maskSecrets registers the NoEcho values this deploy sends with the log,
// so the runner hides them wherever they would appear.
func (r *run) maskSecrets() {
	for _, p := range r.o.Parameters {
		if !p.UsePrevious && slices.Contains(r.o.Template.NoEcho, p.Key) {
			r.log().Mask(p.Value)
		}
	}
}

// summarizeTemplate reads the declared parameters of a URL template with
// GetTemplateSummary, so that, as for a local file, parameters left out
// keep their previous values only when the template still declares them,
// unknown override keys are refused before any change set, and NoEcho
// values are masked. When the call fails the deploy goes on as before
// (every stack parameter kept, unknown keys left to CloudFormation).
func (r *run) summarizeTemplate(ctx context.Context) error {
	var out *cloudformation.GetTemplateSummaryOutput
	err := r.retry(ctx, "reading the template's parameters", func() error {
		var err error
		out, err = r.d.cfn.GetTemplateSummary(ctx, &cloudformation.GetTemplateSummaryInput{TemplateURL: aws.String(r.o.Template.URL)})
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		r.log().Warningf("Could not read the template's parameters with GetTemplateSummary (%s): every parameter of the stack left out keeps its previous value, and unknown parameter names are left to CloudFormation. The deploy role needs cloudformation:GetTemplateSummary and read access to the template URL.", fault.Message(err))
		return nil
	}
	t := &r.o.Template
	t.Parameters, t.NoEcho = nil, nil
	for _, p := range out.Parameters {
		k := aws.ToString(p.ParameterKey)
		t.Parameters = append(t.Parameters, k)
		if aws.ToBool(p.NoEcho) {
			t.NoEcho = append(t.NoEcho, k)
		}
	}
	slices.Sort(t.Parameters)
	slices.Sort(t.NoEcho)
	t.ParametersKnown = true
	r.maskSecrets()
	if err := t.CheckOverrides(r.o.Parameters); err != nil {
		return fmt.Errorf("parameter-overrides: %w", err)
	}
	return nil
}

// executeExisting is the execute-only mode: it checks that the given change
// set exists, belongs to the stack and can be executed, then executes it
// and follows the stack as a normal deploy does. It never creates or
// deletes a change set.
func (r *run) executeExisting(ctx context.Context) error {
	o := r.o
	r.csSettled = true // not ours: cleanup must never delete it
	end := r.log().Group(fmt.Sprintf("Change set %s for stack %s", o.ExecuteChangeSet, o.StackName))
	start := r.d.now()
	err := r.checkExisting(ctx)
	r.res.ChangeSetDuration = r.d.now().Sub(start)
	end()
	if err != nil {
		return err
	}
	r.logChanges()
	return r.execute(ctx)
}

func (r *run) checkExisting(ctx context.Context) error {
	o := r.o
	ref := o.ExecuteChangeSet
	var cs *cloudformation.DescribeChangeSetOutput
	err := r.retry(ctx, "describing change set "+ref, func() error {
		in := &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(ref), IncludePropertyValues: aws.Bool(true)}
		if !strings.HasPrefix(ref, "arn:") {
			in.StackName = aws.String(o.StackName)
		}
		var err error
		cs, err = r.d.cfn.DescribeChangeSet(ctx, in)
		return err
	})
	if err != nil && (isChangeSetMissing(err) || isStackMissing(err)) {
		return fmt.Errorf("change set %s of stack %s does not exist: it was executed, deleted, or never created there; run the create-only step again and pass its change-set-id output to execute-change-set-id", ref, o.StackName)
	}
	if err != nil {
		return err
	}
	name, stackID := aws.ToString(cs.StackName), aws.ToString(cs.StackId)
	if name != o.StackName && stackID != o.StackName {
		return fmt.Errorf("change set %s belongs to stack %s, not %s: pass a change set of stack %s, or set the stack name to %s", ref, name, o.StackName, o.StackName, name)
	}
	r.csID, r.stackID = aws.ToString(cs.ChangeSetId), stackID
	r.o.ChangeSetName = aws.ToString(cs.ChangeSetName)
	r.res.ChangeSetID, r.res.ChangeSetName, r.res.StackID = r.csID, r.o.ChangeSetName, stackID
	if cs.Status == types.ChangeSetStatusCreatePending || cs.Status == types.ChangeSetStatusCreateInProgress {
		r.log().Infof("Change set %s is %s: waiting for CloudFormation to compute it.", r.o.ChangeSetName, string(cs.Status))
		if cs, err = r.waitChangeSet(ctx); err != nil {
			return err
		}
	}
	r.csCreated = aws.ToTime(cs.CreationTime)
	r.res.ChangeSetStatus, r.res.ChangeSetExecutionStatus = string(cs.Status), string(cs.ExecutionStatus)
	r.res.ChangeSetCreated = r.csCreated
	if err := existingStatusError(r.o.ChangeSetName, o.StackName, cs); err != nil {
		return err
	}
	st, err := r.describeStack(ctx, stackID)
	if err != nil {
		return err
	}
	switch {
	case st == nil:
		return fmt.Errorf("stack %s of change set %s no longer exists: create a new change set", o.StackName, r.o.ChangeSetName)
	case st.StackStatus == types.StackStatusReviewInProgress:
		// A CREATE change set: executing it creates the stack.
		r.res.ChangeSetType = string(types.ChangeSetTypeCreate)
	case strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS"):
		return fmt.Errorf("stack %s is %s: another operation is running; wait for it to finish, then create and review a new change set (this one will be out of date)", o.StackName, string(st.StackStatus))
	default:
		r.stack = st
		r.res.ChangeSetType = string(types.ChangeSetTypeUpdate)
	}
	r.res.StackStatus = string(st.StackStatus)
	if err := r.listChanges(ctx, cs); err != nil {
		return err
	}
	r.res.HasChanges = true
	r.log().Infof("Change set %s (%s) of stack %s is ready: created %s.", r.o.ChangeSetName, r.res.ChangeSetType, o.StackName, r.csCreated.UTC().Format("2006-01-02 15:04:05 UTC"))
	return nil
}

// existingStatusError refuses a change set that cannot be executed, saying
// why and what to do.
func existingStatusError(name, stack string, cs *cloudformation.DescribeChangeSetOutput) error {
	reason := aws.ToString(cs.StatusReason)
	if cs.Status == types.ChangeSetStatusFailed {
		for _, s := range emptyReasons {
			if strings.Contains(reason, s) {
				return fmt.Errorf("change set %s has no changes (%s): there is nothing to execute; the stack is already up to date", name, reason)
			}
		}
		if reason == "" {
			reason = "no reason given"
		}
		return fmt.Errorf("change set %s is FAILED: %s: it cannot be executed; fix the cause and create a new change set", name, reason)
	}
	if cs.Status != types.ChangeSetStatusCreateComplete {
		return fmt.Errorf("change set %s is %s and cannot be executed: create a new change set", name, string(cs.Status))
	}
	switch cs.ExecutionStatus {
	case types.ExecutionStatusAvailable:
		return nil
	case types.ExecutionStatusObsolete:
		return fmt.Errorf("change set %s is stale (OBSOLETE): stack %s changed after it was created, so CloudFormation will not execute it; create and review a new change set", name, stack)
	case types.ExecutionStatusExecuteComplete:
		return fmt.Errorf("change set %s was already executed: there is nothing left to execute", name)
	case types.ExecutionStatusExecuteInProgress:
		return fmt.Errorf("change set %s is being executed already: follow stack %s in the console", name, stack)
	case types.ExecutionStatusExecuteFailed:
		return fmt.Errorf("change set %s was executed and failed: fix the cause and create a new change set", name)
	}
	return fmt.Errorf("change set %s cannot be executed (execution status %s): create a new change set", name, string(cs.ExecutionStatus))
}
