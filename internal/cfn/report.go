package cfn

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ReportOptions say what a report adds to the Result and how long it may
// be.
type ReportOptions struct {
	// Commit is the commit the change set was computed for; shown with
	// its first 7 hex digits.
	Commit string
	// Err is the error the deploy ended with, if any; its text is shown.
	Err error
	// MaxLen bounds the report in bytes; zero means no bound. The change
	// table is cut first, then the sections after it, and a note says so.
	MaxLen int
	// Limit names MaxLen in that note ("GitHub's comment limit").
	Limit string
	// Redact lists values the report never shows (the account id with
	// mask-aws-account-id): each becomes "***", and the console links,
	// which hold the stack's ARN, are left out.
	Redact []string
}

// Markdown renders the result for people: the step summary and a pull
// request's comment share it. It opens with one status line (an icon, the
// stack, the region, the final status), then links the stack in the AWS
// console of its partition and region, then the details, the counts by
// action, replacement warnings, the root cause of a failure, the change
// table and the output keys. Output values are left out, because a template
// may output something sensitive. All text from AWS is escaped (markdownCell):
// it cannot add markup, HTML, links or mentions.
func (r *Result) Markdown(o ReportOptions) string {
	var redact []string
	for _, v := range o.Redact {
		if len(v) >= 4 { // shorter would blank out ordinary text
			redact = append(redact, v)
		}
	}
	if len(redact) == 0 {
		return r.markdown(o, false)
	}
	out := r.markdown(o, true)
	for _, v := range redact {
		out = strings.ReplaceAll(out, v, "***")
	}
	return out
}

func (r *Result) markdown(o ReportOptions, noLinks bool) string {
	head := r.reportHead(o, noLinks)
	section := r.changeSection()
	tail := r.reportTail()
	if o.MaxLen <= 0 || len(head)+len(section)+len(tail) <= o.MaxLen {
		return head + section + tail
	}
	// Too long: keep the head, as many whole lines of the change section
	// as fit (a table cut after a row is still a table), and the tail if
	// it fits too, with a note saying what was left out.
	limit := o.Limit
	if limit == "" {
		limit = fmt.Sprintf("the %d-byte limit", o.MaxLen)
	}
	lines := strings.SplitAfter(section, "\n")
	note := func(left []string, tailLeft bool) string {
		var parts []string
		if n := tableRowsIn(left); n > 0 {
			parts = append(parts, fmt.Sprintf("%d more row(s) of the change table", n))
		} else if len(left) > 0 {
			parts = append(parts, "the rest of the change table")
		}
		if tailLeft {
			parts = append(parts, "the sections after it")
		}
		return fmt.Sprintf("\n_Truncated to stay within %s: %s not shown; the full change set is in the AWS console and the job's step summary._\n", markdownCell(limit), strings.Join(parts, " and "))
	}
	keepTail := len(head)+len(tail)+len(note(lines, false)) <= o.MaxLen
	budget := o.MaxLen - len(head) - len(note(lines, !keepTail))
	if keepTail {
		budget -= len(tail)
	}
	var b strings.Builder
	b.WriteString(head)
	n := 0
	for _, line := range lines {
		if len(line) > budget {
			break
		}
		budget -= len(line)
		b.WriteString(line)
		n++
	}
	b.WriteString(note(lines[n:], !keepTail))
	if keepTail {
		b.WriteString(tail)
	}
	return cutBytes(b.String(), o.MaxLen)
}

// tableRowsIn counts the body rows of Markdown tables among lines.
func tableRowsIn(lines []string) int {
	n := 0
	for i, l := range lines {
		switch {
		case !strings.HasPrefix(l, "|"), strings.HasPrefix(l, "|-"):
		case i+1 < len(lines) && strings.HasPrefix(lines[i+1], "|-"): // a header row
		default:
			n++
		}
	}
	return n
}

// cutBytes is the last resort when even the head is over max: cut at a
// character boundary.
func cutBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !isRuneStart(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0x80 {
		s = s[:len(s)-1] // the start byte of the cut character
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// outcome is the icon and the final status of the status line.
func (r *Result) outcome() (icon, status string) {
	failedCS := r.ChangeSetStatus == "FAILED" && !r.HasChanges && !r.Empty
	switch {
	case failedCS:
		return "❌", "change set FAILED"
	case r.Executed && (r.StackStatus == "CREATE_COMPLETE" || r.StackStatus == "UPDATE_COMPLETE" || r.StackStatus == "IMPORT_COMPLETE"):
		return "✅", r.StackStatus
	case r.Executed && strings.HasSuffix(r.StackStatus, "_IN_PROGRESS"):
		return "⏳", r.StackStatus
	case r.Executed:
		return "❌", r.StackStatus
	case r.Empty:
		return "✅", "no changes"
	case r.HasChanges && len(r.Changes) == 0:
		return "📝", "no resource changes, not executed"
	case r.HasChanges:
		return "📝", fmt.Sprintf("%s to review, not executed", plural(r.ChangesCount, "change"))
	case r.StackStatus != "":
		return "❌", "change set not created (stack " + r.StackStatus + ")"
	}
	return "❌", "change set not created"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// reportHead is everything before the change table: blocks, each ending
// in a line break, separated by a blank line.
func (r *Result) reportHead(o ReportOptions, noLinks bool) string {
	var blocks []string
	icon, status := r.outcome()
	region := r.Region
	if !safeRegion.MatchString(region) {
		region = "unknown region"
	}
	blocks = append(blocks, fmt.Sprintf("### %s %s · %s · %s\n", icon, markdownCell(r.StackName), region, markdownCell(status)))

	var links []string
	if u := consoleURL(r.StackID, r.Region, "stacks/stackinfo", url.Values{"stackId": {r.StackID}}); u != "" {
		links = append(links, "[Stack in the AWS console]("+u+")")
	}
	if r.ChangeSetID != "" && !r.Empty && !r.Executed && r.ChangeSetStatus != "FAILED" {
		if u := consoleURL(r.StackID, r.Region, "stacks/changesets/changes", url.Values{"stackId": {r.StackID}, "changeSetId": {r.ChangeSetID}}); u != "" {
			links = append(links, "[change set]("+u+")")
		}
	}
	if len(links) > 0 && !noLinks {
		blocks = append(blocks, strings.Join(links, " · ")+"\n")
	}

	var details strings.Builder
	if r.ChangeSetName != "" {
		d := "Change set: " + markdownCell(r.ChangeSetName)
		if r.ChangeSetType != "" {
			d += " (" + markdownCell(r.ChangeSetType) + ")"
		}
		if r.Preview {
			d += ", a pull-request preview: never executed"
		}
		details.WriteString("- " + d + "\n")
	}
	if c := shortCommit(o.Commit); c != "" {
		details.WriteString("- Commit: " + c + "\n")
	}
	if r.Recreated != "" {
		details.WriteString("- Recreated: deleted a " + markdownCell(r.Recreated) + " stack before creating it\n")
	}
	if r.TemplateURL != "" {
		details.WriteString("- Template: " + markdownCell(r.TemplateURL) + "\n")
	}
	var timings []string
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"change set", r.ChangeSetDuration}, {"execution", r.ExecutionDuration}, {"total", r.Elapsed}} {
		if t.d > 0 {
			timings = append(timings, fmt.Sprintf("%s %s", t.name, t.d.Round(100*time.Millisecond)))
		}
	}
	if len(timings) > 0 {
		details.WriteString("- Timings: " + strings.Join(timings, ", ") + "\n")
	}
	if details.Len() > 0 {
		blocks = append(blocks, details.String())
	}

	failedCS := r.ChangeSetStatus == "FAILED" && !r.HasChanges && !r.Empty
	switch {
	case r.Empty:
		blocks = append(blocks, "**No changes:** the stack is already up to date with this template and these parameters.\n")
	case failedCS:
		reason := r.ChangeSetStatusReason
		if reason == "" {
			reason = "no reason given"
		}
		blocks = append(blocks, "**The change set failed:** "+markdownCell(reason)+"\n")
	case r.HasChanges && len(r.Changes) == 0:
		blocks = append(blocks, "**No resource changes:** the change set changes only stack settings (outputs, parameters, tags, notifications).\n")
	}
	if o.Err != nil && !failedCS {
		var b strings.Builder
		b.WriteString("**Error:**\n\n")
		for _, line := range strings.Split(strings.TrimSpace(o.Err.Error()), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				b.WriteString("- " + markdownCell(line) + "\n")
			}
		}
		blocks = append(blocks, b.String())
	}
	if len(r.Failures) > 0 {
		var b strings.Builder
		b.WriteString("#### Root cause\n\n| Time | Logical ID | Type | Status | Reason |\n|---|---|---|---|---|\n")
		for _, f := range r.Failures {
			id := markdownCell(f.LogicalID)
			if f.StackID != "" {
				id += " (nested stack " + markdownCell(f.StackID) + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", f.Time.UTC().Format("15:04:05"), id,
				markdownCell(f.ResourceType), markdownCell(f.Status), markdownCell(f.Reason))
		}
		blocks = append(blocks, b.String())
	}
	return strings.Join(blocks, "\n")
}

// changeSection is the change table as ChangesMarkdown renders it, the one
// rendering that the changes-markdown output shares: counts by action,
// replacement warnings, property values before and after.
func (r *Result) changeSection() string {
	if !r.HasChanges || len(r.Changes) == 0 {
		return ""
	}
	return "\n" + r.ChangesMarkdown()
}

// reportTail is everything after the change table.
func (r *Result) reportTail() string {
	var b strings.Builder
	if len(r.Outputs) > 0 {
		b.WriteString("\n#### Outputs\n\n| Key | Description |\n|---|---|\n")
		for _, o := range r.Outputs {
			fmt.Fprintf(&b, "| %s | %s |\n", markdownCell(o.Key), markdownCell(o.Description))
		}
	}
	if r.Preview {
		b.WriteString("\n_This preview change set is never executed: merging the pull request deploys through the deploy role._\n")
	}
	return b.String()
}

// safeRegion is a region as it may appear in a URL host.
var safeRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)

// consoleHosts are the CloudFormation consoles by partition; partitions
// without a public console get no link.
var consoleHosts = map[string]string{
	"aws":        "https://%s.console.aws.amazon.com",
	"aws-cn":     "https://%s.console.amazonaws.cn",
	"aws-us-gov": "https://console.amazonaws-us-gov.com",
}

// consoleURL links a page of the CloudFormation console for the stack. The
// partition comes from the stack's ARN, as CloudFormation gave it; the
// region is the deploy's. Every value is query-escaped, so AWS text cannot
// change where the link goes.
func consoleURL(stackID, region, page string, q url.Values) string {
	parts := strings.SplitN(stackID, ":", 4)
	if len(parts) < 4 || parts[0] != "arn" || parts[2] != "cloudformation" || !safeRegion.MatchString(region) {
		return ""
	}
	host, ok := consoleHosts[parts[1]]
	if !ok {
		return ""
	}
	if strings.Contains(host, "%s") {
		host = fmt.Sprintf(host, region)
	}
	return host + "/cloudformation/home?region=" + region + "#/" + page + "?" + q.Encode()
}

// shortCommit is a commit's first 7 hex digits, or "".
func shortCommit(sha string) string {
	if len(sha) < 7 {
		return ""
	}
	for i := 0; i < len(sha); i++ {
		c := sha[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return ""
		}
	}
	return strings.ToLower(sha[:7])
}
