package config

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/cfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
)

// deployInputs need a stack name; set without one they are a mistake.
// Inputs with a default in action.yml cannot be told apart from unset ones
// and are left out.
var deployInputs = []string{
	"template", "cloudformation-role-arn", "role-arn", "parameter-overrides", "tags", "notification-arns",
	"change-set-name", "s3-bucket", "s3-prefix", "timeout-in-minutes", "mode", "execute-change-set-id", "deployment-mode",
	"execute-changeset", "no-execute-changeset", "delete-failed-changeset", "no-delete-failed-changeset",
	"fail-on-empty-changeset", "no-fail-on-empty-changeset",
}

// Modes of aws-cloudformation-github-deploy's mode input.
const (
	modeCreateAndExecute = "create-and-execute"
	modeCreateOnly       = "create-only"
	modeExecuteOnly      = "execute-only"
)

// cfd names aws-cloudformation-github-deploy in messages about its inputs.
const cfd = "aws-cloudformation-github-deploy"

// either reads an input that also has an aws-cloudformation-github-deploy
// name (stack-name and name); both set to different values is an error.
// from is the input the value came from, for messages about it.
func (l *loader) either(ours, theirs string) (value, from string) {
	a, b := l.get(ours), l.get(theirs)
	if a != "" && b != "" && a != b {
		l.p.add(ours, "and %s are both set, to different values: %s is %s's name for %s; keep one", theirs, theirs, cfd, ours)
	}
	if a != "" || b == "" {
		return a, ours
	}
	return b, theirs
}

// setting is a boolean and the input that set it ("" for the default).
type setting struct {
	value bool
	from  string
}

// flag reads a boolean with an inverted aws-cloudformation-github-deploy
// name (execute-changeset and no-execute-changeset); the two set to
// contradicting values is an error.
func (l *loader) flag(ours, theirs string, def bool) setting {
	a := l.get(ours)
	b := l.get(theirs)
	s := setting{value: def}
	var va, vb bool
	if a != "" {
		va = parseBool(l.p, ours, a, def)
	}
	if b != "" {
		vb = !parseBool(l.p, theirs, b, !def)
	}
	switch {
	case a != "" && b != "" && va != vb:
		l.p.add(ours, "contradicts %s: %s is %s's inverted name for %s, and the two say opposite things; keep one", theirs, theirs, cfd, ours)
	case a != "":
		s = setting{va, ours}
	case b != "":
		s = setting{vb, theirs}
	}
	return s
}

// loadDeploy builds the deploy options: every name, list and file parsed
// and checked, the template loaded. ctx bounds the template's loading.
func (l *loader) loadDeploy(ctx context.Context) {
	name, nameInput := l.either("stack-name", "name")
	if name == "" {
		for _, in := range deployInputs {
			if l.get(in) != "" {
				l.p.add(in, "is set but stack-name (name) is empty; set stack-name to deploy, or remove the deploy inputs")
			}
		}
		return
	}
	o := &cfn.Options{
		StackName:             name,
		Region:                l.plan.Region,
		DisableRollback:       l.boolean("disable-rollback", false),
		TerminationProtection: l.boolean("termination-protection", false),
	}
	l.plan.Deploy = o
	// Matrix jobs share the run and job: the stack and region tell their
	// sessions apart.
	l.plan.Auth.SessionDiscriminator = name + "-" + l.plan.Region
	if err := cfn.ValidStackName(name); err != nil {
		l.p.add(nameInput, "%v", err)
	}
	if v := l.get("timeout-in-minutes"); v != "" {
		n, ok := wholeNumber(v)
		if !ok || n < 1 || n > maxTimeoutMinutes {
			l.p.add("timeout-in-minutes", "%s must be a whole number of minutes from 1 to %d, or empty for no limit of the action's own (the job's timeout-minutes still applies)", show(v), maxTimeoutMinutes)
		} else {
			o.Timeout = time.Duration(n) * time.Minute
		}
	}
	// mode and no-execute-changeset combine as in
	// aws-cloudformation-github-deploy: create-and-execute is its default
	// and no-execute-changeset true still creates only; create-only wins
	// over no-execute-changeset false. Only this action's own
	// execute-changeset can contradict a mode.
	mode := l.get("mode")
	execute := l.flag("execute-changeset", "no-execute-changeset", true)
	explicit := l.get("execute-changeset") != ""
	switch mode {
	case "", modeCreateAndExecute:
	case modeCreateOnly:
		if explicit && execute.value {
			l.p.add("mode", "create-only contradicts execute-changeset, which says to execute; keep one")
		}
		execute = setting{false, "mode"}
	case modeExecuteOnly:
		if execute.from != "" && !execute.value {
			l.p.add("mode", "execute-only contradicts %s, which says not to execute; keep one", execute.from)
		}
		l.loadExecuteOnly(o)
		return
	default:
		l.p.add("mode", "%s is not a mode; use create-and-execute (the default), create-only (create the change set for review) or execute-only (execute the change set given in execute-change-set-id)", show(mode))
	}
	if l.get("execute-change-set-id") != "" {
		l.p.add("execute-change-set-id", "is only used with mode: execute-only; set mode: execute-only to execute that change set, or remove it")
	}
	o.Execute = execute.value
	o.FailOnEmpty = l.flag("fail-on-empty-changeset", "no-fail-on-empty-changeset", false).value
	o.DeleteFailedChangeSet = l.flag("delete-failed-changeset", "no-delete-failed-changeset", true).value
	o.IncludeNestedStacks = l.boolean("include-nested-stacks-change-set", false)
	switch dm := l.get("deployment-mode"); dm {
	case "":
	case "REVERT_DRIFT":
		o.DeploymentMode = dm
	default:
		l.p.add("deployment-mode", "%s is not a deployment mode; the only one is REVERT_DRIFT (a change set that reverts drift), or leave it empty", show(dm))
	}
	var roleInput string
	o.RoleARN, roleInput = l.either("cloudformation-role-arn", "role-arn")
	o.S3Bucket = l.get("s3-bucket")
	o.S3Prefix = strings.Trim(l.get("s3-prefix"), "/")
	o.ChangeSetName = l.get("change-set-name")
	if o.ChangeSetName == "" {
		j := l.o.Runner.Job
		o.ChangeSetName = cfn.DefaultChangeSetName(j.RunID, j.RunAttempt, j.Job, l.o.Now())
	} else if err := cfn.ValidChangeSetName(o.ChangeSetName); err != nil {
		l.p.add("change-set-name", "%v", err)
	}
	o.ClientToken = o.ChangeSetName

	caps := l.get("capabilities")
	if caps == "" {
		caps = cfn.CapabilityIAM // aws-cloudformation-github-deploy's default
	}
	var err error
	if o.Capabilities, err = cfn.ParseCapabilities(caps); err != nil {
		l.p.add("capabilities", "%v", err)
	}
	for _, a := range splitList(l.get("notification-arns")) {
		if !snsARNRe.MatchString(a) {
			l.p.add("notification-arns", "%s is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC)", show(a))
			continue
		}
		o.NotificationARNs = append(o.NotificationARNs, a)
	}
	if len(o.NotificationARNs) > 5 {
		l.p.add("notification-arns", "lists %d topics; CloudFormation allows at most 5", len(o.NotificationARNs))
	}
	if o.RoleARN == "" {
		l.plan.Warnings = append(l.plan.Warnings, "cloudformation-role-arn (role-arn) is not set: CloudFormation will act with the deploy role's own permissions (or the stack's existing service role). Pass the CloudFormation service role so the deploy role can stay minimal.")
	} else if m := roleARNRe.FindStringSubmatch(o.RoleARN); m == nil || len(m[4]) > 64 {
		l.p.add(roleInput, "%s is not an IAM role ARN: %s", show(o.RoleARN), explainARN(o.RoleARN))
	} else if l.regionValid() && m[1] != awsauth.PartitionOf(l.plan.Region) {
		l.p.add(roleInput, "is in partition %s but aws-region is %s; use a role of the region's partition", m[1], l.plan.Region)
	}
	if o.S3Bucket != "" && !bucketRe.MatchString(o.S3Bucket) {
		l.p.add("s3-bucket", "%s is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)", show(o.S3Bucket))
	}

	l.loadTemplate(ctx, o)
	params, err := cfn.ParseParameterOverrides(l.get("parameter-overrides"), func(ref string) ([]byte, error) { return l.readParameterFile(ctx, ref) })
	switch {
	case err != nil && errors.Is(err, cfn.ErrItemWithoutEquals) && o.Template.ParametersKnown:
		l.p.add("parameter-overrides", "%v (the template declares: %s)", err, declared(o.Template))
	case err != nil:
		l.p.add("parameter-overrides", "%v", err)
	default:
		o.Parameters = params
		if err := o.Template.CheckOverrides(params); err != nil && o.Template.Body != "" {
			for _, line := range strings.Split(err.Error(), "\n") {
				l.p.add("parameter-overrides", "%s", line)
			}
		}
	}
	if o.Tags, err = cfn.ParseTags(l.get("tags")); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			l.p.add("tags", "%s", line)
		}
	}
}

// maxTimeoutMinutes is five days, the longest a self-hosted runner's job
// may run.
const maxTimeoutMinutes = 5 * 24 * 60

func declared(t cfn.Template) string {
	if len(t.Parameters) == 0 {
		return "none"
	}
	return strings.Join(t.Parameters, ", ")
}

// executeOnlyIgnored are the inputs that shape a new change set; in
// execute-only mode the existing change set already fixes them.
var executeOnlyIgnored = []string{
	"template", "parameter-overrides", "tags", "notification-arns", "cloudformation-role-arn", "role-arn",
	"change-set-name", "s3-bucket", "s3-prefix", "deployment-mode",
}

// loadExecuteOnly reads the execute-only mode: execute the change set
// execute-change-set-id names (the change-set-id or change-set-name output
// of a create-only run).
func (l *loader) loadExecuteOnly(o *cfn.Options) {
	o.Execute = true
	id := l.get("execute-change-set-id")
	switch {
	case id == "":
		l.p.add("execute-change-set-id", "is required with mode: execute-only: give the change set's id or name (the change-set-id output of the create-only run)")
	case strings.HasPrefix(id, "arn:"):
		if !changeSetARNRe.MatchString(id) {
			l.p.add("execute-change-set-id", "%s is not a change set ARN (arn:aws:cloudformation:REGION:ACCOUNT:changeSet/NAME/ID) or name", show(id))
		}
	default:
		if err := cfn.ValidChangeSetName(id); err != nil {
			l.p.add("execute-change-set-id", "%v", err)
		}
	}
	o.ExecuteChangeSet = id
	for _, in := range executeOnlyIgnored {
		if l.get(in) != "" {
			l.plan.Warnings = append(l.plan.Warnings, in+" is ignored with mode: execute-only: the change set "+id+" already fixes it")
		}
	}
	if c := l.get("capabilities"); c != "" && c != cfn.CapabilityIAM {
		l.plan.Warnings = append(l.plan.Warnings, "capabilities is ignored with mode: execute-only: the change set "+id+" already fixes it")
	}
	// The change-set booleans do nothing here either; they are read (and
	// checked) but not worth a warning: aws-cloudformation-github-deploy's
	// examples set them everywhere.
	l.flag("fail-on-empty-changeset", "no-fail-on-empty-changeset", false)
	l.flag("delete-failed-changeset", "no-delete-failed-changeset", true)
	if l.boolean("include-nested-stacks-change-set", false) {
		l.plan.Warnings = append(l.plan.Warnings, "include-nested-stacks-change-set is ignored with mode: execute-only: the change set "+id+" already fixes it")
	}
}

// loadTemplate reads and parses the template input within ctx: parsing runs
// before any other deadline exists, so action-timeout-s must bound it.
func (l *loader) loadTemplate(ctx context.Context, o *cfn.Options) {
	v := l.get("template")
	if v == "" {
		l.p.add("template", "is required with stack-name: give a template file in the repository (e.g. infra/app.yaml) or an https:// S3 URL")
		return
	}
	path := v
	if !hasScheme(v) {
		if path = l.resolve("template", strings.TrimPrefix(v, "file://")); path == "" {
			return
		}
	}
	type result struct {
		t   cfn.Template
		err error
	}
	done := make(chan result, 1)
	go func() {
		t, err := cfn.LoadTemplate(path, l.o.ReadFile)
		done <- result{t, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			l.p.add("template", "%s", strings.Replace(r.err.Error(), path, v, 1))
			return
		}
		o.Template = r.t
	case <-ctx.Done():
		l.p.add("template", "%s was still loading when action-timeout-s (%s) ran out; shorten the template or raise action-timeout-s", show(v), l.plan.ActionTimeout)
		return
	}
	if o.Template.NeedsUpload() && o.S3Bucket == "" {
		l.p.add("template", "%s is %d bytes, over CloudFormation's 51,200-byte limit for inline templates; set s3-bucket (and s3-prefix) so the action uploads it, or pass an https:// S3 URL", show(v), o.Template.Size)
	}
}

// hasScheme reports a URL-looking template value; cfn decides which schemes
// it accepts.
func hasScheme(v string) bool {
	i := strings.Index(v, "://")
	return i > 0 && !strings.EqualFold(v[:i], "file")
}

// readParameterFile reads a parameter file the user named: an https URL is
// fetched, anything else is read under the workspace rule.
func (l *loader) readParameterFile(ctx context.Context, ref string) ([]byte, error) {
	if strings.HasPrefix(strings.ToLower(ref), "https://") {
		return l.fetch(ctx, ref)
	}
	real, err := l.o.Runner.Workspace.Resolve(ref)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("not found (paths are relative to the repository root; check it out first)")
		}
		if errors.Is(err, gha.ErrOutsideWorkspace) {
			return nil, errors.New("it resolves to a file outside the workspace; give a path inside the repository")
		}
		return nil, err
	}
	return l.o.ReadFile(real)
}

// deployRequested reports a stack to deploy, under either of its names.
func (l *loader) deployRequested() bool { return l.get("stack-name") != "" || l.get("name") != "" }
