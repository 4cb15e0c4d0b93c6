package cfn

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// Change is one resource change of a change set. Its texts come from AWS
// and are untrusted; secret values are masked before a Change is built.
type Change struct {
	Action       string
	LogicalID    string
	PhysicalID   string
	ResourceType string
	// Replacement is True, False or Conditional for modifications.
	Replacement string
	// Stack is the path of logical ids of the nested stack the change
	// belongs to ("Network/Subnets"); empty for the stack itself.
	Stack string
	// Scope lists the attributes that change (Properties, Tags, ...).
	Scope []string
	// Details are the property-level changes (DescribeChangeSet with
	// IncludePropertyValues).
	Details []ChangeDetail
	// BeforeContext and AfterContext are the resource's properties as
	// JSON before and after; empty when AWS gave none or they are withheld.
	BeforeContext, AfterContext string
	// PolicyAction is what happens to the physical resource (Delete,
	// Retain, ReplaceAndDelete, ...).
	PolicyAction string
	// ChangeSetID is the nested change set of an AWS::CloudFormation::Stack.
	ChangeSetID string
}

// ChangeDetail is one property-level change.
type ChangeDetail struct {
	Attribute, Name, Path string
	// RequiresRecreation is Never, Conditionally or Always.
	RequiresRecreation string
	// BeforeValue and AfterValue are nil when AWS gave none or they are
	// withheld.
	BeforeValue, AfterValue *string
	AttributeChangeType     string
	// ChangeSource and CausingEntity say why it changes: a parameter
	// (ParameterReference and its name), another resource, a direct edit.
	ChangeSource, CausingEntity, Evaluation string
}

// masked replaces secret values in change texts.
const masked = "****"

// maxNestedChangeSets bounds how many nested change sets are described.
const maxNestedChangeSets = 20

// secrets masks NoEcho parameter values in the changes of a change set.
type secrets struct {
	// names are the NoEcho parameter names.
	names map[string]bool
	// values are the NoEcho values this deploy knows (the overrides).
	values []string
	// withhold drops every property value of the change set: it has a
	// NoEcho parameter whose value this deploy does not know (kept from
	// the previous deploy, or in a nested stack), so it cannot be masked.
	withhold bool
	// reason says why values are withheld, for the summary.
	reason string
}

// newSecrets derives the masking rules of one change set: its parameters
// (AWS shows NoEcho values as asterisks), the template's NoEcho names and
// the values given for them.
func newSecrets(noEcho []string, given []Parameter, csParams []types.Parameter, nested bool) *secrets {
	s := &secrets{names: map[string]bool{}}
	for _, n := range noEcho {
		s.names[n] = true
	}
	for _, p := range csParams {
		if v := aws.ToString(p.ParameterValue); v != "" && strings.Trim(v, "*") == "" {
			s.names[aws.ToString(p.ParameterKey)] = true
		}
	}
	known := map[string]bool{}
	if !nested {
		for _, p := range given {
			if s.names[p.Key] && !p.UsePrevious {
				known[p.Key] = true
				if p.Value != "" {
					s.values = append(s.values, p.Value)
				}
			}
		}
	}
	var unknown []string
	for k := range s.names {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		s.withhold = true
		s.reason = "the NoEcho parameter(s) " + strings.Join(slices.Compact(unknown), ", ") + " have values this deploy did not give, so it cannot mask them"
	}
	// Longest first, so a value containing another is masked whole.
	slices.SortFunc(s.values, func(a, b string) int { return len(b) - len(a) })
	return s
}

// mask replaces every known secret value in s.
func (s *secrets) mask(text string) string {
	for _, v := range s.values {
		text = strings.ReplaceAll(text, v, masked)
	}
	return text
}

func (s *secrets) maskPtr(p *string) *string {
	if p == nil || s.withhold {
		return nil
	}
	return aws.String(s.mask(*p))
}

// change converts an AWS change, masking secret values.
func (s *secrets) change(c types.Change, stack string) (Change, bool) {
	rc := c.ResourceChange
	if rc == nil {
		return Change{}, false
	}
	out := Change{
		Action:       string(rc.Action),
		LogicalID:    aws.ToString(rc.LogicalResourceId),
		PhysicalID:   aws.ToString(rc.PhysicalResourceId),
		ResourceType: aws.ToString(rc.ResourceType),
		Replacement:  string(rc.Replacement),
		Stack:        stack,
		PolicyAction: string(rc.PolicyAction),
		ChangeSetID:  aws.ToString(rc.ChangeSetId),
	}
	for _, sc := range rc.Scope {
		out.Scope = append(out.Scope, string(sc))
	}
	if !s.withhold {
		out.BeforeContext = s.mask(aws.ToString(rc.BeforeContext))
		out.AfterContext = s.mask(aws.ToString(rc.AfterContext))
	}
	for _, d := range rc.Details {
		cd := ChangeDetail{
			ChangeSource:  string(d.ChangeSource),
			CausingEntity: aws.ToString(d.CausingEntity),
			Evaluation:    string(d.Evaluation),
		}
		if t := d.Target; t != nil {
			cd.Attribute, cd.Name, cd.Path = string(t.Attribute), aws.ToString(t.Name), aws.ToString(t.Path)
			cd.RequiresRecreation, cd.AttributeChangeType = string(t.RequiresRecreation), string(t.AttributeChangeType)
			cd.BeforeValue, cd.AfterValue = s.maskPtr(t.BeforeValue), s.maskPtr(t.AfterValue)
			if d.ChangeSource == types.ChangeSourceParameterReference && s.names[cd.CausingEntity] {
				// Caused by a NoEcho parameter: the values are the secret
				// or built from it.
				cd.BeforeValue, cd.AfterValue = maskedIfSet(cd.BeforeValue), maskedIfSet(cd.AfterValue)
			}
		}
		out.Details = append(out.Details, cd)
	}
	return out, true
}

func maskedIfSet(p *string) *string {
	if p == nil {
		return nil
	}
	return aws.String(masked)
}

// listChanges reads every page of a change set's changes with property
// values, and then, for nested stacks (IncludeNestedStacks), their change
// sets too, up to maxNestedDepth levels. first is the page already read.
// Only the stack's own changes count (ChangesCount); nested ones are added
// to the list for the table.
func (r *run) listChanges(ctx context.Context, first *cloudformation.DescribeChangeSetOutput) error {
	root, err := r.changePages(ctx, first, "", false)
	if err != nil {
		return err
	}
	r.res.ChangesCount = len(root)
	r.res.Changes = root
	if r.sec.withhold {
		r.res.ValuesWithheld = r.sec.reason
	}
	type pending struct {
		id, path string
		depth    int
	}
	var queue []pending
	add := func(cs []Change, depth int) {
		for _, c := range cs {
			if c.ChangeSetID != "" && c.ResourceType == "AWS::CloudFormation::Stack" && depth < maxNestedDepth {
				queue = append(queue, pending{c.ChangeSetID, joinStack(c.Stack, c.LogicalID), depth})
			}
		}
	}
	add(root, 1)
	for described := 0; len(queue) > 0; described++ {
		n := queue[0]
		queue = queue[1:]
		if described == maxNestedChangeSets {
			r.log().Warningf("Not listing the changes of more than %d nested stacks.", maxNestedChangeSets)
			break
		}
		var page *cloudformation.DescribeChangeSetOutput
		err := r.retry(ctx, "describing the nested change set of "+n.path, func() error {
			var err error
			page, err = r.d.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(n.id), IncludePropertyValues: aws.Bool(true)})
			return err
		})
		if err != nil {
			// The stack's own changes are known; a nested listing is extra.
			r.log().Warningf("Could not list the changes of nested stack %s: %s", n.path, fault.Message(err))
			continue
		}
		nested, err := r.changePages(ctx, page, n.path, true)
		if err != nil {
			r.log().Warningf("Could not list the changes of nested stack %s: %s", n.path, fault.Message(err))
			continue
		}
		r.res.Changes = append(r.res.Changes, nested...)
		add(nested, n.depth+1)
	}
	return nil
}

// changePages converts first and the pages after it.
func (r *run) changePages(ctx context.Context, first *cloudformation.DescribeChangeSetOutput, stack string, nested bool) ([]Change, error) {
	noEcho := r.o.Template.NoEcho
	if nested {
		noEcho = nil // the root template's names say nothing about nested ones
	}
	sec := newSecrets(noEcho, r.o.Parameters, first.Parameters, nested)
	if !nested {
		r.sec = sec
	} else if sec.withhold && r.res.ValuesWithheld == "" {
		r.res.ValuesWithheld = "nested stack " + stack + ": " + sec.reason
	}
	// Known root secrets are masked in nested changes too: parents pass
	// them down.
	if nested && r.sec != nil {
		sec.values = append(sec.values, r.sec.values...)
	}
	var out []Change
	page := first
	for {
		for _, c := range page.Changes {
			if ch, ok := sec.change(c, stack); ok {
				out = append(out, ch)
			}
		}
		token := page.NextToken
		if token == nil {
			return out, nil
		}
		id := aws.ToString(first.ChangeSetId)
		err := r.retry(ctx, "listing the changes of change set "+aws.ToString(first.ChangeSetName), func() error {
			var err error
			page, err = r.d.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(id), NextToken: token, IncludePropertyValues: aws.Bool(true)})
			return err
		})
		if err != nil {
			return nil, err
		}
	}
}

func joinStack(parent, id string) string {
	if parent == "" {
		return id
	}
	return parent + "/" + id
}
