package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/cfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
)

// deployInputs need stack-name; set without it they are a mistake.
var deployInputs = []string{"template", "cloudformation-role-arn", "parameter-overrides", "change-set-name", "s3-bucket"}

// loadDeploy builds the deploy options: every name, list and file parsed
// and checked, the template loaded. ctx bounds the template's loading.
func (l *loader) loadDeploy(ctx context.Context) {
	name := l.get("stack-name")
	if name == "" {
		for _, in := range deployInputs {
			if l.get(in) != "" {
				l.p.add(in, "is set but stack-name is empty; set stack-name to deploy, or remove the deploy inputs")
			}
		}
		return
	}
	o := &cfn.Options{
		StackName:             name,
		RoleARN:               l.get("cloudformation-role-arn"),
		S3Bucket:              l.get("s3-bucket"),
		S3Prefix:              strings.Trim(l.get("s3-prefix"), "/"),
		ChangeSetName:         l.get("change-set-name"),
		Region:                l.plan.Region,
		FailOnEmpty:           l.boolean("fail-on-empty-changeset", false),
		Execute:               l.boolean("execute-changeset", true),
		DeleteFailedChangeSet: l.boolean("delete-failed-changeset", true),
		DisableRollback:       l.boolean("disable-rollback", false),
		TerminationProtection: l.boolean("termination-protection", false),
	}
	l.plan.Deploy = o
	// Matrix jobs share the run and job: the stack and region tell their
	// sessions apart.
	l.plan.Auth.SessionDiscriminator = name + "-" + l.plan.Region

	if err := cfn.ValidStackName(name); err != nil {
		l.p.add("stack-name", "%v", err)
	}
	if o.ChangeSetName == "" {
		j := l.o.Runner.Job
		o.ChangeSetName = cfn.DefaultChangeSetName(j.RunID, j.RunAttempt, j.Job, l.o.Now())
	} else if err := cfn.ValidChangeSetName(o.ChangeSetName); err != nil {
		l.p.add("change-set-name", "%v", err)
	}
	o.ClientToken = o.ChangeSetName

	caps := l.get("capabilities")
	if caps == "" {
		caps = "CAPABILITY_IAM" // aws-cloudformation-github-deploy's default
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
	o.Timeout = cfn.DefaultTimeout
	if v := l.get("timeout-in-minutes"); v != "" {
		n, ok := wholeNumber(v)
		if !ok || n < 1 || n > 24*60 {
			l.p.add("timeout-in-minutes", "%s must be a whole number of minutes from 1 to 1440", show(v))
		} else {
			o.Timeout = time.Duration(n) * time.Minute
		}
	}
	if o.RoleARN == "" {
		l.plan.Warnings = append(l.plan.Warnings, "cloudformation-role-arn is not set: CloudFormation will act with the deploy role's own permissions (or the stack's existing service role). Pass the CloudFormation service role so the deploy role can stay minimal.")
	} else if m := roleARNRe.FindStringSubmatch(o.RoleARN); m == nil || len(m[4]) > 64 {
		l.p.add("cloudformation-role-arn", "%s is not an IAM role ARN: %s", show(o.RoleARN), explainARN(o.RoleARN))
	} else if l.regionValid() && m[1] != awsauth.PartitionOf(l.plan.Region) {
		l.p.add("cloudformation-role-arn", "is in partition %s but aws-region is %s; use a role of the region's partition", m[1], l.plan.Region)
	}
	if o.S3Bucket != "" && !bucketRe.MatchString(o.S3Bucket) {
		l.p.add("s3-bucket", "%s is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)", show(o.S3Bucket))
	}

	l.loadTemplate(ctx, o)
	params, err := cfn.ParseParameterOverrides(l.get("parameter-overrides"), l.readInWorkspace)
	if err != nil {
		l.p.add("parameter-overrides", "%v", err)
	} else {
		o.Parameters = params
		if err := o.Template.CheckOverrides(params); err != nil && o.Template.Body != "" {
			l.p.add("parameter-overrides", "%v", err)
		}
	}
	if o.Tags, err = cfn.ParseTags(l.get("tags")); err != nil {
		l.p.add("tags", "%v", err)
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

// readInWorkspace reads a parameter file the user named, under the
// workspace rule.
func (l *loader) readInWorkspace(p string) ([]byte, error) {
	real, err := l.o.Runner.Workspace.Resolve(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s not found (paths are relative to the repository root)", p)
		}
		if errors.Is(err, gha.ErrOutsideWorkspace) {
			return nil, fmt.Errorf("%s resolves to a file outside the workspace; give a path inside the repository", p)
		}
		return nil, err
	}
	return l.o.ReadFile(real)
}
