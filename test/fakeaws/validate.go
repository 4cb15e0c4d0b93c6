package fakeaws

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// Constraints from botocore's sts/2011-06-15/service-2.json.
var (
	reSessionName = regexp.MustCompile(`^[\w+=,.@-]*$`)
	reExternalID  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	reTagKey      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	reTagValue    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	rePolicy      = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+$`)
)

// validator collects constraint violations into one ValidationError, worded
// as STS words them.
type validator struct{ msgs []string }

func (v *validator) add(format string, args ...any) {
	v.msgs = append(v.msgs, fmt.Sprintf(format, args...))
}

func (v *validator) required(field string, form url.Values, param string) {
	if _, ok := form[param]; !ok {
		v.add("Value null at '%s' failed to satisfy constraint: Member must not be null", field)
	}
}

// length checks an optional parameter's length, echoing its value.
func (v *validator) length(field string, form url.Values, param string, lo, hi int) {
	val, ok := form[param]
	if !ok {
		return
	}
	v.lengthOf(field, val[0], val[0], lo, hi)
}

// lengthRedacted checks a secret or bulky value without echoing it.
func (v *validator) lengthRedacted(field, val string, lo, hi int) {
	if val != "" || lo > 0 {
		v.lengthOf(field, "*****", val, lo, hi)
	}
}

func (v *validator) lengthOf(field, shown, val string, lo, hi int) {
	n := utf8.RuneCountInString(val)
	switch {
	case n < lo:
		v.add("Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", shown, field, lo)
	case n > hi:
		v.add("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", shown, field, hi)
	}
}

// pattern checks an optional parameter's length and pattern.
func (v *validator) pattern(field string, form url.Values, param string, lo, hi int, re *regexp.Regexp, reText string) {
	val, ok := form[param]
	if !ok {
		return
	}
	v.lengthOf(field, val[0], val[0], lo, hi)
	if !re.MatchString(val[0]) {
		v.add("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", val[0], field, reText)
	}
}

// common checks the parameters AssumeRole and AssumeRoleWithWebIdentity share.
func (v *validator) common(form url.Values) {
	if d, ok := form["DurationSeconds"]; ok {
		n, err := strconv.Atoi(d[0])
		switch {
		case err != nil:
			v.add("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be an integer", d[0])
		case n < 900:
			v.add("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", n)
		case n > 43200:
			v.add("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200", n)
		}
	}
	if p, ok := form["Policy"]; ok {
		v.lengthRedacted("policy", p[0], 1, 2048)
		if p[0] != "" && !rePolicy.MatchString(p[0]) {
			v.add("Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")
		}
	}
	arns := memberIndices(form, "PolicyArns.member.")
	if len(arns) > 10 {
		v.add("Value '[%d policy ARNs]' at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10", len(arns))
	}
	for _, i := range arns {
		v.length(fmt.Sprintf("policyArns.%d.member.arn", i), form, fmt.Sprintf("PolicyArns.member.%d.arn", i), 20, 2048)
	}
}

func (v *validator) err() *fakecore.APIError {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return errValidation("1 validation error detected: " + v.msgs[0])
	}
	return errValidation(fmt.Sprintf("%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; ")))
}

// validateAssumeRole checks AssumeRole's parameters and returns its session
// tags (key to value) and transitive tag keys.
func validateAssumeRole(form url.Values) (map[string]string, []string, *fakecore.APIError) {
	var v validator
	v.required("roleArn", form, "RoleArn")
	v.length("roleArn", form, "RoleArn", 20, 2048)
	v.required("roleSessionName", form, "RoleSessionName")
	v.pattern("roleSessionName", form, "RoleSessionName", 2, 64, reSessionName, `[\w+=,.@-]*`)
	v.pattern("externalId", form, "ExternalId", 2, 1224, reExternalID, `[\w+=,.@:\/-]*`)
	v.pattern("sourceIdentity", form, "SourceIdentity", 2, 64, reSessionName, `[\w+=,.@-]*`)
	v.common(form)

	idx := memberIndices(form, "Tags.member.")
	if len(idx) > 50 {
		v.add("Value '[%d tags]' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50", len(idx))
	}
	tags := map[string]string{}
	seen := map[string]bool{}
	dup := false
	for _, i := range idx {
		key := form.Get(fmt.Sprintf("Tags.member.%d.Key", i))
		val := form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
		kf, vf := fmt.Sprintf("tags.%d.member.key", i), fmt.Sprintf("tags.%d.member.value", i)
		v.lengthOf(kf, key, key, 1, 128)
		if key != "" && !reTagKey.MatchString(key) {
			v.add(`Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`, key, kf)
		}
		v.lengthOf(vf, val, val, 0, 256)
		if !reTagValue.MatchString(val) {
			v.add(`Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`, val, vf)
		}
		// Tag keys are case-insensitive in STS.
		if seen[strings.ToLower(key)] {
			dup = true
		}
		seen[strings.ToLower(key)] = true
		tags[key] = val
	}
	var transitive []string
	for _, i := range memberIndices(form, "TransitiveTagKeys.member.") {
		transitive = append(transitive, form.Get(fmt.Sprintf("TransitiveTagKeys.member.%d", i)))
	}
	if len(transitive) > 50 {
		v.add("Value '[%d keys]' at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50", len(transitive))
	}
	if apiErr := v.err(); apiErr != nil {
		return nil, nil, apiErr
	}
	if dup {
		return nil, nil, errValidation("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
	}
	return tags, transitive, nil
}

// memberIndices lists the N of every "prefixN" or "prefixN.field" parameter.
func memberIndices(form url.Values, prefix string) []int {
	var out []int
	for k := range form {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
