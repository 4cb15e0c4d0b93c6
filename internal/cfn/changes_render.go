package cfn

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// markdownValueLen bounds a property value in a table cell.
const markdownValueLen = 200

// ChangesMarkdown renders the change set for people: the count by action,
// a table of resource changes with replacement warnings, and a table of
// property changes with their values before and after and whether they
// force a replacement. Nested stacks' changes carry the nested stack's
// path in the logical id. It is the step summary's change section and the
// changes-markdown output (for a pull request comment). All AWS text is
// escaped; NoEcho values were masked or withheld when the changes were read.
func (r *Result) ChangesMarkdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### Changes to stack %s", markdownCell(r.StackName))
	if r.ChangeSetName != "" {
		fmt.Fprintf(&b, " (change set %s)", markdownCell(r.ChangeSetName))
	}
	b.WriteString("\n\n")
	if len(r.Changes) == 0 {
		b.WriteString("No changes: the stack is up to date.\n")
		return b.String()
	}
	b.WriteString(changeCounts(r.Changes) + "\n\n")
	b.WriteString("| Action | Logical ID | Type | Replacement |\n|---|---|---|---|\n")
	var details []string
	for _, c := range r.Changes {
		id := markdownCell(joinStack(c.Stack, c.LogicalID))
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", markdownCell(c.Action), id, markdownCell(c.ResourceType), replacementCell(c))
		for _, d := range c.Details {
			details = append(details, fmt.Sprintf("| %s | %s | %s | %s | %s |", id, markdownCell(detailName(d)),
				valueCell(d.BeforeValue), valueCell(d.AfterValue), recreationCell(d)))
		}
	}
	if len(details) > 0 {
		b.WriteString("\n| Logical ID | Property | Before | After | Recreation |\n|---|---|---|---|---|\n")
		b.WriteString(strings.Join(details, "\n") + "\n")
	}
	if r.ValuesWithheld != "" {
		fmt.Fprintf(&b, "\nProperty values are withheld: %s.\n", markdownCell(r.ValuesWithheld))
	}
	return b.String()
}

// changeCounts summarises the changes: "3 changes: 1 to add, 1 to modify
// (1 replaced), 1 to remove".
func changeCounts(cs []Change) string {
	count := map[string]int{}
	replaced := 0
	for _, c := range cs {
		count[c.Action]++
		if c.Replacement == string(types.ReplacementTrue) {
			replaced++
		}
	}
	var parts []string
	for _, a := range []struct{ action, verb string }{{"Add", "to add"}, {"Modify", "to modify"}, {"Remove", "to remove"}, {"Import", "to import"}, {"Dynamic", "dynamic"}, {"SyncWithActual", "to sync"}} {
		if n := count[a.action]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a.verb))
		}
	}
	s := fmt.Sprintf("%d change(s): %s", len(cs), strings.Join(parts, ", "))
	if replaced > 0 {
		s += fmt.Sprintf(". **⚠️ %d resource(s) will be replaced** (a new physical resource; the old one is deleted)", replaced)
	}
	return s
}

func replacementCell(c Change) string {
	switch c.Replacement {
	case string(types.ReplacementTrue):
		return "**True** ⚠️ will be replaced"
	case string(types.ReplacementConditional):
		return "Conditional ⚠️ may be replaced"
	}
	return markdownCell(c.Replacement)
}

func recreationCell(d ChangeDetail) string {
	switch d.RequiresRecreation {
	case string(types.RequiresRecreationAlways):
		return "⚠️ **Always**"
	case string(types.RequiresRecreationConditionally):
		return "⚠️ Conditionally"
	}
	return markdownCell(d.RequiresRecreation)
}

func valueCell(v *string) string {
	if v == nil {
		return ""
	}
	return markdownCell(shorten(*v, markdownValueLen))
}

// maxSummaryChanges bounds the changes in the changes-summary output, as
// aws-cloudformation-github-deploy does: step outputs are limited in size.
const maxSummaryChanges = 50

// ChangesSummaryJSON renders the changes-summary output in the shape of
// aws-cloudformation-github-deploy v2: the stack's own changes (the first
// 50) in DescribeChangeSet's member names, totalChanges, truncated, the
// change set's status, execution status and creation time; plus
// nestedChanges for nested stacks and valuesWithheld when property values
// were left out.
func (r *Result) ChangesSummaryJSON() string {
	s := jsonSummary{
		Changes:         []jsonChange{},
		TotalChanges:    r.ChangesCount,
		Status:          r.ChangeSetStatus,
		ExecutionStatus: r.ChangeSetExecutionStatus,
		ValuesWithheld:  r.ValuesWithheld,
	}
	if !r.ChangeSetCreated.IsZero() {
		t := r.ChangeSetCreated.UTC()
		s.CreationTime = &t
	}
	n := 0
	for _, c := range r.Changes {
		if n == maxSummaryChanges {
			s.Truncated = true
			break
		}
		n++
		if c.Stack == "" {
			s.Changes = append(s.Changes, toJSONChange(c))
		} else {
			s.NestedChanges = append(s.NestedChanges, toJSONChange(c))
		}
	}
	out, err := json.MarshalIndent(s, "", "  ")
	if err == nil && len(out) > maxSummaryBytes {
		// The resource contexts are the bulk; the details keep the values.
		for _, list := range [][]jsonChange{s.Changes, s.NestedChanges} {
			for i := range list {
				list[i].ResourceChange.BeforeContext, list[i].ResourceChange.AfterContext = "", ""
			}
		}
		s.Truncated = true
		out, err = json.MarshalIndent(s, "", "  ")
	}
	if err != nil {
		return "{}" // cannot happen: plain strings and numbers
	}
	return string(out)
}

// maxSummaryBytes keeps changes-summary well under GitHub's 1 MB limit for
// a step output.
const maxSummaryBytes = 512 << 10

type jsonSummary struct {
	Changes         []jsonChange `json:"changes"`
	TotalChanges    int          `json:"totalChanges"`
	Truncated       bool         `json:"truncated"`
	ExecutionStatus string       `json:"executionStatus,omitempty"`
	Status          string       `json:"status,omitempty"`
	CreationTime    *time.Time   `json:"creationTime,omitempty"`
	NestedChanges   []jsonChange `json:"nestedChanges,omitempty"`
	ValuesWithheld  string       `json:"valuesWithheld,omitempty"`
}

type jsonChange struct {
	Type           string             `json:"Type"`
	NestedStack    string             `json:"NestedStack,omitempty"`
	ResourceChange jsonResourceChange `json:"ResourceChange"`
}

type jsonResourceChange struct {
	Action             string       `json:"Action,omitempty"`
	LogicalResourceId  string       `json:"LogicalResourceId,omitempty"`
	PhysicalResourceId string       `json:"PhysicalResourceId,omitempty"`
	ResourceType       string       `json:"ResourceType,omitempty"`
	Replacement        string       `json:"Replacement,omitempty"`
	Scope              []string     `json:"Scope,omitempty"`
	Details            []jsonDetail `json:"Details,omitempty"`
	BeforeContext      string       `json:"BeforeContext,omitempty"`
	AfterContext       string       `json:"AfterContext,omitempty"`
	PolicyAction       string       `json:"PolicyAction,omitempty"`
	ChangeSetId        string       `json:"ChangeSetId,omitempty"`
}

type jsonDetail struct {
	Target        jsonTarget `json:"Target"`
	Evaluation    string     `json:"Evaluation,omitempty"`
	ChangeSource  string     `json:"ChangeSource,omitempty"`
	CausingEntity string     `json:"CausingEntity,omitempty"`
}

type jsonTarget struct {
	Attribute           string  `json:"Attribute,omitempty"`
	Name                string  `json:"Name,omitempty"`
	Path                string  `json:"Path,omitempty"`
	RequiresRecreation  string  `json:"RequiresRecreation,omitempty"`
	BeforeValue         *string `json:"BeforeValue,omitempty"`
	AfterValue          *string `json:"AfterValue,omitempty"`
	AttributeChangeType string  `json:"AttributeChangeType,omitempty"`
}

func toJSONChange(c Change) jsonChange {
	rc := jsonResourceChange{
		Action: c.Action, LogicalResourceId: c.LogicalID, PhysicalResourceId: c.PhysicalID, ResourceType: c.ResourceType,
		Replacement: c.Replacement, Scope: c.Scope, BeforeContext: c.BeforeContext, AfterContext: c.AfterContext,
		PolicyAction: c.PolicyAction, ChangeSetId: c.ChangeSetID,
	}
	for _, d := range c.Details {
		rc.Details = append(rc.Details, jsonDetail{
			Target: jsonTarget{
				Attribute: d.Attribute, Name: d.Name, Path: d.Path, RequiresRecreation: d.RequiresRecreation,
				BeforeValue: d.BeforeValue, AfterValue: d.AfterValue, AttributeChangeType: d.AttributeChangeType,
			},
			Evaluation: d.Evaluation, ChangeSource: d.ChangeSource, CausingEntity: d.CausingEntity,
		})
	}
	return jsonChange{Type: "Resource", NestedStack: c.Stack, ResourceChange: rc}
}
