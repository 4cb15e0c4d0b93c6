package config

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	partitions     = `aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc`
	roleARNRe      = regexp.MustCompile(`^arn:(` + partitions + `):iam::(\d{12}):role/((?:[\x21-\x7e]*/)?)([\w+=,.@-]+)$`)
	anyARNRe       = regexp.MustCompile(`^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)$`)
	partitionRe    = regexp.MustCompile(`^(` + partitions + `)$`)
	regionRe       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	anyRegionRe    = regexp.MustCompile(`^[a-z0-9-]+$`)
	zoneRe         = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}[a-z]$`)
	accountRe      = regexp.MustCompile(`^\d{12}$`)
	roleNameRe     = newPattern(`^[\w+=,.@-]+$`, 1, 64)
	sessionNameRe  = newPattern(`^[\w+=,.@-]+$`, 2, 64)
	externalIDRe   = newPattern(`^[\w+=,.@:/-]+$`, 2, 1224)
	accessKeyRe    = newPattern(`^[A-Z0-9]+$`, 16, 128)
	tagKeyRe       = newPattern(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`, 1, 128)
	tagValueRe     = newPattern(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`, 0, 256)
	policyARNRe    = newPattern(`^arn:(`+partitions+`):iam::(\d{12}|aws):policy/[\w+=,.@/-]+$`, 20, 2048)
	snsARNRe       = newPattern(`^arn:(`+partitions+`):sns:[a-z0-9-]+:\d{12}:[\w-]+$`, 20, 2048)
	bucketRe       = newPattern(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`, 3, 63)
	changeSetARNRe = newPattern(`^arn:(`+partitions+`):cloudformation:[a-z0-9-]+:\d{12}:changeSet/[A-Za-z][-A-Za-z0-9]*/[-A-Za-z0-9]+$`, 20, 1600)
)

// pattern is a regexp plus length bounds in characters. Bounds are not
// written as {m,n}: RE2 expands such a repeat into n copies of the class,
// which cost milliseconds and megabytes at every start of the action.
type pattern struct {
	re       *regexp.Regexp
	min, max int
}

func newPattern(expr string, min, max int) pattern {
	return pattern{re: regexp.MustCompile(expr), min: min, max: max}
}

// MatchString reports whether s has an allowed length and matches.
func (p pattern) MatchString(s string) bool {
	n := utf8.RuneCountInString(s)
	return n >= p.min && n <= p.max && p.re.MatchString(s)
}

// ParseBool is the one reading of a boolean input: true or false in any
// case, or 1 and 0 (aws-cloudformation-github-deploy's documented form).
// ok is false for anything else, which is refused rather than guessed:
// that action reads "True" as false and "2" as true.
func ParseBool(v string) (value, ok bool) {
	switch {
	case strings.EqualFold(v, "true") || v == "1":
		return true, true
	case strings.EqualFold(v, "false") || v == "0":
		return false, true
	}
	return false, false
}

func parseBool(p *problems, name, v string, def bool) bool {
	if v == "" {
		return def
	}
	b, ok := ParseBool(v)
	if !ok {
		p.add(name, "%s is not a boolean; write true or false (or 1 or 0)", show(v))
		return def
	}
	return b
}

// wholeNumber parses a decimal integer.
func wholeNumber(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// parseURL parses an http(s) URL input; nil when empty or refused.
func parseURL(p *problems, name, v string) *url.URL {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.add(name, "%s is not an http(s) URL; write e.g. https://sts.us-east-1.amazonaws.com", show(redactURL(v)))
		return nil
	}
	return u
}

// redactURL hides userinfo (proxy passwords) before a URL is shown.
func redactURL(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		u.User = url.User("***")
		return u.String()
	}
	if i := strings.LastIndex(v, "@"); i >= 0 {
		return "***" + v[i:]
	}
	return v
}

// splitList splits on commas and newlines, trimming blanks.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// show quotes a non-secret value for an error message, shortened and with
// control characters escaped so it stays on one line.
func show(v string) string {
	const max = 80
	if utf8.RuneCountInString(v) > max {
		r := []rune(v)
		v = string(r[:max]) + "…"
	}
	return strconv.Quote(v)
}
