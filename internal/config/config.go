// Package config turns the action's inputs into a typed Config and validates
// every one of them before any network call, reporting all problems together.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Source is where the credentials that assume the role come from.
type Source int

// The credential sources, decided like configure-aws-credentials does.
const (
	SourceNone      Source = iota
	SourceKeys             // stored IAM-user keys -> sts:AssumeRole
	SourceOIDC             // GitHub OIDC token -> sts:AssumeRoleWithWebIdentity
	SourceTokenFile        // web-identity-token-file -> sts:AssumeRoleWithWebIdentity
	SourceChaining         // credentials already in the environment -> sts:AssumeRole
)

func (s Source) String() string {
	return [...]string{"none", "stored keys", "GitHub OIDC", "web identity token file", "role chaining"}[s]
}

// Tag is a session or stack tag.
type Tag struct{ Key, Value string }

// Config is the validated input of one run.
type Config struct {
	Region string
	// RoleARN is the full ARN, or empty when RoleName must be resolved in the
	// source account first.
	RoleARN, RoleName string

	Source                                      Source
	AccessKeyID, SecretAccessKey, SessionToken  string
	WebIdentityTokenFile                        string
	Audience                                    string
	RoleSessionName                             string // empty: derive a default
	Duration                                    time.Duration
	ExternalID                                  string
	SkipSessionTagging                          bool
	TransitiveTagKeys                           []string
	CustomTags                                  []Tag
	InlineSessionPolicy                         string
	ManagedSessionPolicies                      []string
	MaskAccountID, OutputCredentials, OutputEnv bool
	UnsetCurrentCredentials                     bool
	AllowedAccountIDs                           []string
	RetryMaxAttempts                            int
	ActionTimeout                               time.Duration // 0: none beyond the phase budgets
	STSEndpoint, HTTPProxy                      string
	IDTokenRequestURL, IDTokenRequestToken      string
	Deploy                                      *Deploy // nil: credentials only
	Warnings                                    []string
}

// Deploy holds the deploy inputs. Template, parameter and tag contents are
// parsed by the cfn package; here they are checked for shape only.
type Deploy struct {
	StackName, Template, RoleARN                string
	ParameterOverrides, Tags                    string
	Capabilities, NotificationARNs              []string
	FailOnEmpty, Execute, DeleteFailedChangeSet bool
	DisableRollback, TerminationProtection      bool
	Timeout                                     time.Duration
	S3Bucket, S3Prefix, ChangeSetName           string
}

// Limits from the STS and CloudFormation API references.
const (
	MinDuration      = 900 * time.Second
	MaxDuration      = 43200 * time.Second
	MaxChainDuration = time.Hour
	MaxSessionTags   = 50
	MaxPolicyChars   = 2048
	MaxPolicyARNs    = 10
	DefaultAttempts  = 5
)

var (
	partitions      = `aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc`
	roleARNRe       = regexp.MustCompile(`^arn:(` + partitions + `):iam::(\d{12}):role/((?:[\x21-\x7e]*/)?)([\w+=,.@-]+)$`)
	anyARNRe        = regexp.MustCompile(`^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)$`)
	partitionRe     = regexp.MustCompile(`^(` + partitions + `)$`)
	regionRe        = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	zoneRe          = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}[a-z]$`)
	accountRe       = regexp.MustCompile(`^\d{12}$`)
	roleNameRe      = newPattern(`^[\w+=,.@-]+$`, 1, 64)
	sessionNameRe   = newPattern(`^[\w+=,.@-]+$`, 2, 64)
	externalIDRe    = newPattern(`^[\w+=,.@:/-]+$`, 2, 1224)
	accessKeyRe     = newPattern(`^[A-Z0-9]+$`, 16, 128)
	tagKeyRe        = newPattern(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`, 1, 128)
	tagValueRe      = newPattern(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`, 0, 256)
	policyARNRe     = newPattern(`^arn:(`+partitions+`):iam::(\d{12}|aws):policy/[\w+=,.@/-]+$`, 20, 2048)
	stackNameRe     = newPattern(`^[A-Za-z][A-Za-z0-9-]*$`, 1, 128)
	changeSetNameRe = newPattern(`^[A-Za-z][A-Za-z0-9-]*$`, 1, 128)
	snsARNRe        = newPattern(`^arn:(`+partitions+`):sns:[a-z0-9-]+:\d{12}:[\w-]+$`, 20, 2048)
	bucketRe        = newPattern(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`, 3, 63)
	capabilitySet   = map[string]bool{"CAPABILITY_IAM": true, "CAPABILITY_NAMED_IAM": true, "CAPABILITY_AUTO_EXPAND": true}
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

// Getter returns a raw input value by its action.yml name (e.g. "aws-region").
type Getter func(name string) string

// Env returns an environment variable of the job.
type Env func(key string) string

// problems collects every input error so the user can fix them in one go.
type problems struct{ errs []error }

func (p *problems) add(input, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("input %s: "+format, append([]any{input}, args...)...))
}

// Load reads and validates every input. The error joins all problems, each
// naming the input, what is wrong and how to fix it; secret values never
// appear in it. The Config is returned filled as far as possible even with
// an error, so callers can check further inputs and report everything at
// once; it is valid only when the error is nil.
func Load(in Getter, env Env) (*Config, error) {
	p := &problems{}
	c := &Config{}
	get := func(name string) string { return strings.TrimSpace(in(name)) }
	boolean := func(name string, def bool) bool { return parseBool(p, name, get(name), def) }

	c.Region = get("aws-region")
	switch {
	case c.Region == "":
		p.add("aws-region", "is required (GitHub does not enforce `required: true`); set it, e.g. `aws-region: us-east-1`")
	case !regionRe.MatchString(c.Region):
		hint := ""
		if zoneRe.MatchString(c.Region) {
			hint = " (that looks like an availability zone; drop the last letter)"
		}
		p.add("aws-region", "%s is not an AWS region%s; use a region code such as us-east-1 or ap-northeast-1", show(c.Region), hint)
	}

	c.AccessKeyID = get("aws-access-key-id")
	c.SecretAccessKey = in("aws-secret-access-key") // not trimmed: whitespace is a mistake we report
	c.SessionToken = strings.TrimSpace(in("aws-session-token"))
	c.WebIdentityTokenFile = get("web-identity-token-file")
	chaining := boolean("role-chaining", false)
	c.UnsetCurrentCredentials = boolean("unset-current-credentials", false)
	c.IDTokenRequestURL = env("ACTIONS_ID_TOKEN_REQUEST_URL")
	c.IDTokenRequestToken = env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	role := get("role-to-assume")
	c.loadSource(p, role, chaining, env)
	c.loadRole(p, role)

	c.Audience = get("audience")
	if c.Audience == "" {
		c.Audience = "sts.amazonaws.com"
	} else if len(c.Audience) > 256 || strings.ContainsAny(c.Audience, " \t\r\n,") {
		p.add("audience", "%s is not a valid OIDC audience; use sts.amazonaws.com (sts.amazonaws.com.cn in China)", show(c.Audience))
	}

	c.RoleSessionName = get("role-session-name")
	if c.RoleSessionName != "" && !sessionNameRe.MatchString(c.RoleSessionName) {
		p.add("role-session-name", "%s must be 2-64 characters of letters, digits and +=,.@_- ; remove other characters or leave it empty for a unique default", show(c.RoleSessionName))
	}
	c.loadDuration(p, get("role-duration-seconds"))
	c.ExternalID = get("role-external-id")
	if c.ExternalID != "" && !externalIDRe.MatchString(c.ExternalID) {
		p.add("role-external-id", "must be 2-1224 characters of letters, digits and +=,.@:/_- (the value is not shown)")
	}
	c.SkipSessionTagging = boolean("role-skip-session-tagging", false)
	c.loadTags(p, get("custom-tags"), get("transitive-tag-keys"))
	c.loadPolicies(p, get("inline-session-policy"), get("managed-session-policies"))
	c.MaskAccountID = boolean("mask-aws-account-id", false)
	c.OutputCredentials = boolean("output-credentials", false)
	c.OutputEnv = boolean("output-env-credentials", true)
	for _, id := range splitList(get("allowed-account-ids")) {
		if !accountRe.MatchString(id) {
			p.add("allowed-account-ids", "%s is not a 12-digit account id; list account ids separated by commas", show(id))
			continue
		}
		c.AllowedAccountIDs = append(c.AllowedAccountIDs, id)
	}
	c.loadRetry(p, get("retry-max-attempts"), boolean("disable-retry", false), get("action-timeout-s"))
	c.STSEndpoint = checkURL(p, "sts-endpoint", get("sts-endpoint"))
	c.HTTPProxy = checkURL(p, "http-proxy", get("http-proxy"))
	c.loadDeploy(p, get, boolean)
	c.checkSourceAndRole(p)

	if len(p.errs) > 0 {
		return c, errors.Join(p.errs...)
	}
	return c, nil
}

func (c *Config) loadSource(p *problems, role string, chaining bool, env Env) {
	keys := c.AccessKeyID != "" || c.SecretAccessKey != ""
	switch {
	case keys && c.WebIdentityTokenFile != "":
		p.add("web-identity-token-file", "cannot be combined with aws-access-key-id/aws-secret-access-key; use one credential source")
	case keys && chaining:
		p.add("role-chaining", "cannot be combined with aws-access-key-id/aws-secret-access-key: chaining uses the credentials already in the environment; remove one")
	case chaining && c.WebIdentityTokenFile != "":
		p.add("role-chaining", "cannot be combined with web-identity-token-file; use one credential source")
	case chaining && c.UnsetCurrentCredentials:
		p.add("role-chaining", "cannot be combined with unset-current-credentials: chaining needs the current credentials")
	}
	switch {
	case keys:
		c.Source = SourceKeys
		if c.AccessKeyID == "" {
			p.add("aws-access-key-id", "is missing while aws-secret-access-key is set; set both from your secrets")
		} else if !accessKeyRe.MatchString(c.AccessKeyID) {
			p.add("aws-access-key-id", "is not an access key id (16-128 upper-case letters and digits, e.g. AKIA...); check the secret holds the key id, without spaces or quotes")
		}
		if c.SecretAccessKey == "" {
			p.add("aws-secret-access-key", "is missing while aws-access-key-id is set; set both from your secrets")
		} else if strings.TrimSpace(c.SecretAccessKey) != c.SecretAccessKey || strings.ContainsAny(c.SecretAccessKey, "\r\n\t ") {
			p.add("aws-secret-access-key", "contains whitespace or a line break (a common copy-paste mistake); store the secret again without it")
		} else if len(c.SecretAccessKey) < 16 {
			p.add("aws-secret-access-key", "is too short to be a secret access key; check the secret")
		}
	case c.WebIdentityTokenFile != "":
		c.Source = SourceTokenFile
	case chaining:
		c.Source = SourceChaining
		c.AccessKeyID, c.SecretAccessKey, c.SessionToken = env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			p.add("role-chaining", "is true but the environment has no AWS credentials; run a credentials step before this one (or use this action's stored keys or OIDC)")
		}
	case role != "" && c.IDTokenRequestURL != "" && c.IDTokenRequestToken != "":
		c.Source = SourceOIDC
	case role != "":
		p.add("role-to-assume", "needs a credential source: the job has no GitHub OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set). "+
			"Add `permissions: id-token: write` to the workflow or job, or pass aws-access-key-id/aws-secret-access-key. Pull requests from forks never get an OIDC token")
	default:
		p.add("role-to-assume", "is required unless you pass aws-access-key-id/aws-secret-access-key: set it to the deploy role ARN, e.g. arn:aws:iam::123456789012:role/deploy")
	}
	if c.SessionToken != "" && c.Source != SourceKeys && c.Source != SourceChaining {
		p.add("aws-session-token", "is only used with aws-access-key-id/aws-secret-access-key; remove it")
	}
}

func (c *Config) loadRole(p *problems, role string) {
	if role == "" {
		return
	}
	if strings.HasPrefix(role, "arn:") {
		m := roleARNRe.FindStringSubmatch(role)
		if m == nil || len(m[4]) > 64 || len(role) > 2048 {
			p.add("role-to-assume", "%s is not an IAM role ARN: %s", show(role), explainARN(role))
			return
		}
		c.RoleARN = role
		c.RoleName = m[4]
		c.checkPartition(p, m[1])
		return
	}
	if !roleNameRe.MatchString(role) {
		p.add("role-to-assume", "%s is neither a role ARN nor a role name; use arn:aws:iam::ACCOUNT:role/NAME", show(role))
		return
	}
	c.RoleName = role
}

// explainARN says which part of an ARN is wrong, to save the user a round trip.
func explainARN(s string) string {
	m := anyARNRe.FindStringSubmatch(s)
	if m == nil {
		return "an ARN has six colon-separated parts: arn:PARTITION:iam::ACCOUNT:role/NAME"
	}
	part, svc, region, acct, res := m[1], m[2], m[3], m[4], m[5]
	switch {
	case !partitionRe.MatchString(part):
		return fmt.Sprintf("partition %s is unknown; use aws (or aws-cn, aws-us-gov)", show(part))
	case svc == "sts" && strings.HasPrefix(res, "assumed-role/"):
		return "that is an assumed-role session ARN; use the role's ARN arn:aws:iam::ACCOUNT:role/NAME"
	case svc != "iam":
		return fmt.Sprintf("service %s must be iam", show(svc))
	case region != "":
		return "IAM ARNs have no region: use arn:aws:iam::ACCOUNT:role/NAME (two colons after iam)"
	case !accountRe.MatchString(acct):
		return fmt.Sprintf("account %s must be exactly 12 digits", show(acct))
	case strings.HasPrefix(res, "user/"):
		return "that is an IAM user; role-to-assume needs the deploy role's ARN (the user's keys go in aws-access-key-id/aws-secret-access-key)"
	case !strings.HasPrefix(res, "role/"):
		return fmt.Sprintf("resource %s must start with role/", show(res))
	default:
		return "the role name must be 1-64 characters of letters, digits and +=,.@_-"
	}
}

func (c *Config) checkPartition(p *problems, partition string) {
	if c.Region == "" || !regionRe.MatchString(c.Region) {
		return
	}
	want := PartitionOf(c.Region)
	if partition != want {
		p.add("role-to-assume", "is in partition %s but aws-region %s is in partition %s; use a role and region of the same partition", partition, c.Region, want)
	}
}

// PartitionOf returns the ARN partition of a region.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "eusc-"):
		return "aws-eusc"
	}
	return "aws"
}

func (c *Config) loadDuration(p *problems, v string) {
	c.Duration = time.Hour
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.add("role-duration-seconds", "%s is not a whole number of seconds; write e.g. 3600 for one hour", show(v))
		return
	}
	d := time.Duration(n) * time.Second
	switch {
	case d < MinDuration || d > MaxDuration:
		p.add("role-duration-seconds", "%d is out of range: STS accepts 900 to 43200 seconds (and at most the role's maximum session duration)", n)
	default:
		c.Duration = d
	}
}

func (c *Config) loadTags(p *problems, custom, transitive string) {
	if custom != "" {
		dec := json.NewDecoder(strings.NewReader(custom))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			p.add("custom-tags", "is not a JSON object; write e.g. {\"Team\":\"payments\",\"CostCenter\":\"42\"}")
		} else {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v := fmt.Sprint(m[k])
				switch {
				case !tagKeyRe.MatchString(k):
					p.add("custom-tags", "key %s must be 1-128 letters, digits, spaces or _.:/=+-@", show(k))
				case strings.HasPrefix(strings.ToLower(k), "aws:"):
					p.add("custom-tags", "key %s uses the reserved aws: prefix; rename it", show(k))
				case !tagValueRe.MatchString(v):
					p.add("custom-tags", "value of %s must be at most 256 letters, digits, spaces or _.:/=+-@", show(k))
				default:
					c.CustomTags = append(c.CustomTags, Tag{k, v})
				}
			}
			if len(m) > MaxSessionTags-len(DefaultTagKeys) {
				p.add("custom-tags", "has %d tags; STS allows %d session tags and the action sends %d of its own; remove some or set role-skip-session-tagging", len(m), MaxSessionTags, len(DefaultTagKeys))
			}
		}
	}
	for _, k := range splitList(transitive) {
		if !tagKeyRe.MatchString(k) {
			p.add("transitive-tag-keys", "key %s must be 1-128 letters, digits, spaces or _.:/=+-@", show(k))
			continue
		}
		c.TransitiveTagKeys = append(c.TransitiveTagKeys, k)
	}
	if len(c.TransitiveTagKeys) > MaxSessionTags {
		p.add("transitive-tag-keys", "has %d keys; STS allows at most %d", len(c.TransitiveTagKeys), MaxSessionTags)
	}
}

// DefaultTagKeys are the session tags the action always sends with AssumeRole.
var DefaultTagKeys = []string{"GitHub", "Repository", "Workflow", "Action", "Actor", "Commit", "Branch"}

func (c *Config) loadPolicies(p *problems, inline, managed string) {
	if inline != "" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(inline)); err != nil || !strings.HasPrefix(buf.String(), "{") {
			p.add("inline-session-policy", "is not a JSON policy document; write e.g. {\"Version\":\"2012-10-17\",\"Statement\":[...]}")
		} else {
			c.InlineSessionPolicy = buf.String()
			if n := utf8.RuneCountInString(c.InlineSessionPolicy); n > MaxPolicyChars {
				p.add("inline-session-policy", "is %d characters after removing whitespace; STS allows %d; move statements to a managed policy and list it in managed-session-policies", n, MaxPolicyChars)
			}
			for _, r := range c.InlineSessionPolicy {
				if r > 0xff {
					p.add("inline-session-policy", "contains %q; STS accepts only Latin-1 characters in session policies", r)
					break
				}
			}
		}
	}
	for _, a := range splitList(managed) {
		if !policyARNRe.MatchString(a) {
			p.add("managed-session-policies", "%s is not an IAM policy ARN (arn:aws:iam::ACCOUNT:policy/NAME or arn:aws:iam::aws:policy/NAME)", show(a))
			continue
		}
		c.ManagedSessionPolicies = append(c.ManagedSessionPolicies, a)
	}
	if len(c.ManagedSessionPolicies) > MaxPolicyARNs {
		p.add("managed-session-policies", "lists %d policies; STS allows at most %d", len(c.ManagedSessionPolicies), MaxPolicyARNs)
	}
}

func (c *Config) loadRetry(p *problems, attempts string, disable bool, timeout string) {
	c.RetryMaxAttempts = DefaultAttempts
	if attempts != "" {
		n, err := strconv.Atoi(attempts)
		if err != nil || n < 1 || n > 20 {
			p.add("retry-max-attempts", "%s must be a whole number from 1 to 20", show(attempts))
		} else {
			c.RetryMaxAttempts = n
		}
	}
	if disable {
		c.RetryMaxAttempts = 1
	}
	if timeout != "" {
		n, err := strconv.Atoi(timeout)
		if err != nil || n < 0 || n > 6*3600 {
			p.add("action-timeout-s", "%s must be a whole number of seconds from 0 (no limit) to 21600", show(timeout))
		} else {
			c.ActionTimeout = time.Duration(n) * time.Second
		}
	}
}

func (c *Config) loadDeploy(p *problems, get func(string) string, boolean func(string, bool) bool) {
	d := &Deploy{
		StackName:          get("stack-name"),
		Template:           get("template"),
		RoleARN:            get("cloudformation-role-arn"),
		ParameterOverrides: get("parameter-overrides"),
		Tags:               get("tags"),
		S3Bucket:           get("s3-bucket"),
		S3Prefix:           strings.Trim(get("s3-prefix"), "/"),
		ChangeSetName:      get("change-set-name"),
	}
	d.FailOnEmpty = boolean("fail-on-empty-changeset", false)
	d.Execute = boolean("execute-changeset", true)
	d.DeleteFailedChangeSet = boolean("delete-failed-changeset", true)
	d.DisableRollback = boolean("disable-rollback", false)
	d.TerminationProtection = boolean("termination-protection", false)
	caps := get("capabilities")
	if caps == "" {
		caps = "CAPABILITY_IAM" // aws-cloudformation-github-deploy's default
	}
	for _, cp := range splitList(caps) {
		if !capabilitySet[cp] {
			p.add("capabilities", "%s is not a CloudFormation capability; use CAPABILITY_IAM, CAPABILITY_NAMED_IAM or CAPABILITY_AUTO_EXPAND", show(cp))
			continue
		}
		d.Capabilities = append(d.Capabilities, cp)
	}
	for _, a := range splitList(get("notification-arns")) {
		if !snsARNRe.MatchString(a) {
			p.add("notification-arns", "%s is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC)", show(a))
			continue
		}
		d.NotificationARNs = append(d.NotificationARNs, a)
	}
	if len(d.NotificationARNs) > 5 {
		p.add("notification-arns", "lists %d topics; CloudFormation allows at most 5", len(d.NotificationARNs))
	}
	d.Timeout = time.Hour
	if v := get("timeout-in-minutes"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 24*60 {
			p.add("timeout-in-minutes", "%s must be a whole number of minutes from 1 to 1440", show(v))
		} else {
			d.Timeout = time.Duration(n) * time.Minute
		}
	}

	if d.StackName == "" {
		for _, name := range []string{"template", "cloudformation-role-arn", "parameter-overrides", "change-set-name", "s3-bucket"} {
			if get(name) != "" {
				p.add(name, "is set but stack-name is empty; set stack-name to deploy, or remove the deploy inputs")
			}
		}
		return
	}
	c.Deploy = d
	if !stackNameRe.MatchString(d.StackName) {
		p.add("stack-name", "%s must start with a letter and hold only letters, digits and hyphens (at most 128)", show(d.StackName))
	}
	if d.Template == "" {
		p.add("template", "is required with stack-name: give a template file in the repository (e.g. infra/app.yaml) or an https:// S3 URL")
	}
	if d.RoleARN == "" {
		c.Warnings = append(c.Warnings, "cloudformation-role-arn is not set: CloudFormation will act with the deploy role's own permissions (or the stack's existing service role). Pass the CloudFormation service role so the deploy role can stay minimal.")
	} else if m := roleARNRe.FindStringSubmatch(d.RoleARN); m == nil || len(m[4]) > 64 {
		p.add("cloudformation-role-arn", "%s is not an IAM role ARN: %s", show(d.RoleARN), explainARN(d.RoleARN))
	} else if c.Region != "" && regionRe.MatchString(c.Region) && m[1] != PartitionOf(c.Region) {
		p.add("cloudformation-role-arn", "is in partition %s but aws-region is %s; use a role of the region's partition", m[1], c.Region)
	}
	if d.ChangeSetName != "" && !changeSetNameRe.MatchString(d.ChangeSetName) {
		p.add("change-set-name", "%s must start with a letter and hold only letters, digits and hyphens (at most 128)", show(d.ChangeSetName))
	}
	if d.S3Bucket != "" && !bucketRe.MatchString(d.S3Bucket) {
		p.add("s3-bucket", "%s is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)", show(d.S3Bucket))
	}
}

func (c *Config) checkSourceAndRole(p *problems) {
	if c.RoleARN == "" && c.RoleName != "" && (c.Source == SourceOIDC || c.Source == SourceTokenFile) {
		p.add("role-to-assume", "is a bare role name; with OIDC there is no source account to resolve it in. Use the full ARN arn:aws:iam::ACCOUNT:role/%s", c.RoleName)
	}
	if c.Source == SourceChaining && c.Duration > MaxChainDuration {
		p.add("role-duration-seconds", "%d exceeds the 1 hour limit of role chaining; set it to 3600 or less", int(c.Duration/time.Second))
	}
	if c.RoleName == "" {
		return // keys with no role are exported as they are
	}
	if c.Source == SourceOIDC || c.Source == SourceTokenFile {
		if len(c.CustomTags) > 0 {
			c.Warnings = append(c.Warnings, "custom-tags are ignored with web identity: AssumeRoleWithWebIdentity takes no session tags (put them in the token's claims instead)")
			c.CustomTags = nil
		}
		if c.ExternalID != "" {
			c.Warnings = append(c.Warnings, "role-external-id is ignored with web identity: AssumeRoleWithWebIdentity has no ExternalId")
		}
	}
}

func parseBool(p *problems, name, v string, def bool) bool {
	switch v {
	case "":
		return def
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	}
	p.add(name, "%s is not a boolean; write true or false", show(v))
	return def
}

func checkURL(p *problems, name, v string) string {
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.add(name, "%s is not an http(s) URL; write e.g. https://sts.us-east-1.amazonaws.com", show(redactURL(v)))
		return ""
	}
	return v
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
