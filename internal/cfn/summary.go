package cfn

import (
	"fmt"
	"strings"
	"time"
)

// SummaryMarkdown renders the result for GITHUB_STEP_SUMMARY: the outcome
// with timings, the root cause of a failure, the change set as
// ChangesMarkdown renders it (the review artifact when the change set is
// not executed) and the output keys. Output values are left
// out, because a template may output something sensitive. All AWS text is
// escaped for markdown.
func (r *Result) SummaryMarkdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### CloudFormation stack %s\n\n", markdownCell(r.StackName))
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, v)
		}
	}
	row("Status", markdownCell(r.StackStatus))
	row("Change set", markdownCell(strings.TrimSpace(r.ChangeSetName+" "+paren(r.ChangeSetType))))
	switch {
	case r.ChangeSetID == "":
	case !r.HasChanges:
		row("Changes", "none: the stack is up to date")
	case r.Executed:
		row("Changes", fmt.Sprintf("%d, executed", r.ChangesCount))
	default:
		row("Changes", fmt.Sprintf("%d, **not executed** (ready for review)", r.ChangesCount))
	}
	if r.Recreated != "" {
		row("Recreated", "deleted a "+markdownCell(r.Recreated)+" stack before creating it")
	}
	row("Template", markdownCell(r.TemplateURL))
	var timings []string
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"change set", r.ChangeSetDuration}, {"execution", r.ExecutionDuration}, {"total", r.Elapsed}} {
		if t.d > 0 {
			timings = append(timings, fmt.Sprintf("%s %s", t.name, t.d.Round(100*time.Millisecond)))
		}
	}
	row("Timings", strings.Join(timings, ", "))

	if len(r.Failures) > 0 {
		b.WriteString("\n#### Root cause\n\n| Time | Logical ID | Type | Status | Reason |\n|---|---|---|---|---|\n")
		for _, f := range r.Failures {
			id := markdownCell(f.LogicalID)
			if f.StackID != "" {
				id += " (nested stack " + markdownCell(f.StackID) + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", f.Time.UTC().Format("15:04:05"), id,
				markdownCell(f.ResourceType), markdownCell(f.Status), markdownCell(f.Reason))
		}
	}
	if r.ChangeSetID != "" && r.HasChanges {
		b.WriteString("\n")
		b.WriteString(r.ChangesMarkdown())
	}
	if len(r.Outputs) > 0 {
		b.WriteString("\n#### Outputs\n\n| Key | Description |\n|---|---|\n")
		for _, o := range r.Outputs {
			fmt.Fprintf(&b, "| %s | %s |\n", markdownCell(o.Key), markdownCell(o.Description))
		}
	}
	return b.String()
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}
