package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
)

// loadCredentials builds the awsauth request from the credential inputs.
func (l *loader) loadCredentials() {
	a := &l.plan.Auth
	a.Region = l.plan.Region
	a.GitHub = awsauth.GitHub(l.o.Runner.Job)
	role := l.get("role-to-assume")
	l.loadSource(role)
	l.loadRole(role)

	a.Audience = l.get("audience")
	if a.Audience == "" {
		a.Audience = "sts.amazonaws.com"
	} else if len(a.Audience) > 256 || strings.ContainsAny(a.Audience, " \t\r\n,") {
		l.p.add("audience", "%s is not a valid OIDC audience; use sts.amazonaws.com (sts.amazonaws.com.cn in China)", show(a.Audience))
	}
	a.SessionName = l.get("role-session-name")
	if a.SessionName != "" && !sessionNameRe.MatchString(a.SessionName) {
		l.p.add("role-session-name", "%s must be 2-64 characters of letters, digits and +=,.@_- ; remove other characters or leave it empty for a unique default", show(a.SessionName))
	}
	l.loadDuration(l.get("role-duration-seconds"))
	a.ExternalID = l.get("role-external-id")
	if a.ExternalID != "" && !externalIDRe.MatchString(a.ExternalID) {
		l.p.add("role-external-id", "must be 2-1224 characters of letters, digits and +=,.@:/_- (the value is not shown)")
	}
	a.SkipSessionTagging = l.boolean("role-skip-session-tagging", false)
	l.loadTags(l.get("custom-tags"), l.get("transitive-tag-keys"))
	l.loadPolicies(l.get("inline-session-policy"), l.get("managed-session-policies"))
	a.MaskAccountID = l.boolean("mask-aws-account-id", false)
	for _, id := range splitList(l.get("allowed-account-ids")) {
		if !accountRe.MatchString(id) {
			l.p.add("allowed-account-ids", "%s is not a 12-digit account id; list account ids separated by commas", show(id))
			continue
		}
		a.AllowedAccountIDs = append(a.AllowedAccountIDs, id)
	}
	a.SpecialCharactersWorkaround = l.boolean("special-characters-workaround", false)
	l.loadAttempts(l.get("retry-max-attempts"), l.boolean("disable-retry", false))
	// action-timeout-s replaces the credential phase's own budget.
	a.Budget.Total = l.plan.ActionTimeout
	l.plan.STSEndpoint = parseURL(l.p, "sts-endpoint", l.get("sts-endpoint"))
	if u := l.plan.STSEndpoint; u != nil {
		// The OIDC token and the signed requests must not travel in clear
		// past this machine; emulators on loopback are fine.
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			l.p.add("sts-endpoint", "%s uses plain http:// to a remote host: credentials and the OIDC token would travel in clear; use https:// (http:// is accepted only for 127.0.0.1, ::1 and localhost)", show(redactURL(u.String())))
		}
		a.STSEndpoint = u.String()
	}
	l.checkSourceAndRole()
}

// loadSource decides where the credentials that assume the role come from,
// in configure-aws-credentials' order: stored keys, a web identity token
// file, role-chaining, GitHub OIDC, else the SDK's default credential chain
// (instance profile, container credentials, IRSA, AWS_PROFILE, environment).
func (l *loader) loadSource(role string) {
	a := &l.plan.Auth
	k := awsauth.Keys{
		AccessKeyID:     l.get("aws-access-key-id"),
		SecretAccessKey: l.in("aws-secret-access-key"), // not trimmed: whitespace is a mistake we report
		SessionToken:    l.get("aws-session-token"),
	}
	tokenFile := l.get("web-identity-token-file")
	chaining := l.boolean("role-chaining", false)
	skipOIDC := l.boolean("force-skip-oidc", false)
	keys := k.AccessKeyID != "" || k.SecretAccessKey != ""
	switch {
	case keys && tokenFile != "":
		l.p.add("web-identity-token-file", "cannot be combined with aws-access-key-id/aws-secret-access-key; use one credential source")
	case chaining && tokenFile != "":
		l.p.add("role-chaining", "cannot be combined with web-identity-token-file; use one credential source")
	}
	r := l.o.Runner
	oidc := r.IDTokenURL != "" && r.IDTokenToken != ""
	switch {
	case keys:
		a.Source = awsauth.SourceKeys
		if chaining {
			// As configure-aws-credentials: the given keys are the source.
			l.plan.Warnings = append(l.plan.Warnings, "role-chaining is ignored: aws-access-key-id/aws-secret-access-key are the source credentials")
		}
		if k.AccessKeyID == "" {
			l.p.add("aws-access-key-id", "is missing while aws-secret-access-key is set; set both from your secrets")
		} else if !accessKeyRe.MatchString(k.AccessKeyID) {
			l.p.add("aws-access-key-id", "is not an access key id (16-128 upper-case letters and digits, e.g. AKIA...); check the secret holds the key id, without spaces or quotes")
		}
		if k.SecretAccessKey == "" {
			l.p.add("aws-secret-access-key", "is missing while aws-access-key-id is set; set both from your secrets")
		} else if strings.TrimSpace(k.SecretAccessKey) != k.SecretAccessKey || strings.ContainsAny(k.SecretAccessKey, "\r\n\t ") {
			l.p.add("aws-secret-access-key", "contains whitespace or a line break (a common copy-paste mistake); store the secret again without it")
		} else if len(k.SecretAccessKey) < 16 {
			l.p.add("aws-secret-access-key", "is too short to be a secret access key; check the secret")
		}
		if badToken(l.in("aws-session-token")) {
			l.p.add("aws-session-token", "contains white space or a line break inside it (a common copy-paste mistake); store the secret again without it")
		}
		a.Keys = k
	case tokenFile != "":
		a.Source = awsauth.SourceTokenFile
		a.TokenFile = l.resolveToken(tokenFile)
	case chaining:
		a.Source = awsauth.SourceChaining
	case role != "" && oidc && !skipOIDC:
		a.Source = awsauth.SourceOIDC
	default:
		a.Source = awsauth.SourceDefaultChain
	}
	if a.Source.FromChain() || l.plan.UseExisting {
		a.Chain = l.chainInfo(role != "" && !oidc && !skipOIDC && a.Source == awsauth.SourceDefaultChain)
	}
	if k.SessionToken != "" && a.Source != awsauth.SourceKeys {
		l.p.add("aws-session-token", "is only used with aws-access-key-id/aws-secret-access-key; remove it")
	}
}

// chainInfo is what the environment says about the SDK's default chain,
// for the message when it finds nothing.
func (l *loader) chainInfo(noOIDC bool) awsauth.ChainInfo {
	dc := l.plan.DefaultChain
	ci := awsauth.ChainInfo{
		EnvKeys:              l.env("AWS_ACCESS_KEY_ID") != "" && l.env("AWS_SECRET_ACCESS_KEY") != "",
		EnvKeysIgnored:       dc.IgnoreEnvKeys,
		Profile:              l.env("AWS_PROFILE"),
		CredentialsFile:      dc.CredentialsFile,
		ConfigFile:           dc.ConfigFile,
		WebIdentityTokenFile: l.env("AWS_WEB_IDENTITY_TOKEN_FILE"),
		IMDSDisabled:         strings.EqualFold(l.env("AWS_EC2_METADATA_DISABLED"), "true"),
		IMDSEndpoint:         l.env("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
		NoOIDC:               noOIDC,
	}
	for _, v := range []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		if l.env(v) != "" {
			ci.ContainerCredentials = v
			break
		}
	}
	return ci
}

// resolveToken applies the token file rule: inside the workspace (or a
// Kubernetes service-account token path), and no symbolic links.
func (l *loader) resolveToken(p string) string {
	const input = "web-identity-token-file"
	real, err := l.o.Runner.Workspace.ResolveNoLinks(p)
	switch {
	case err == nil:
		return real
	case errors.Is(err, gha.ErrSymlink):
		l.p.add(input, "%s is a symbolic link or lies in a linked directory; token files must be regular files, as in configure-aws-credentials (the Kubernetes paths /var/run/secrets/*/serviceaccount/token are exempt)", show(p))
	case errors.Is(err, gha.ErrOutsideWorkspace):
		l.p.add(input, "%s is outside the workspace (%s): a Docker action sees only the workspace, so a host path such as an IRSA token is not there; copy the token into the workspace in an earlier step", show(p), err)
	case errors.Is(err, fs.ErrNotExist):
		l.p.add(input, "web identity token file %s does not exist: relative paths are taken from the repository root (GITHUB_WORKSPACE); write it in an earlier step", show(p))
	default:
		l.p.add(input, "%s: %v", show(p), err)
	}
	return ""
}

// badToken reports white space inside a credential: it can only be a
// copy-paste mistake, and a line break would fail in the HTTP header after
// the request was built, where no retry can help.
func badToken(v string) bool {
	return strings.ContainsAny(strings.TrimSpace(v), " \t\r\n")
}

// isLoopback reports a host name or address on this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// resolve applies the workspace rule to a file input and returns its real
// path, or "" after reporting the problem.
func (l *loader) resolve(input, p string) string {
	real, err := l.o.Runner.Workspace.Resolve(p)
	switch {
	case err == nil:
		return real
	case errors.Is(err, gha.ErrOutsideWorkspace):
		l.p.add(input, "%s resolves to a file outside the workspace (%s); give a path inside the repository (symbolic links are followed)", show(p), err)
	case errors.Is(err, fs.ErrNotExist):
		l.p.add(input, "%s not found: paths are relative to the repository root (GITHUB_WORKSPACE); check it out first (actions/checkout), or create it in an earlier step", show(p))
	default:
		l.p.add(input, "%s: %v", show(p), err)
	}
	return ""
}

func (l *loader) loadRole(role string) {
	a := &l.plan.Auth
	if role == "" {
		return
	}
	if strings.HasPrefix(role, "arn:") {
		m := roleARNRe.FindStringSubmatch(role)
		if m == nil || len(m[4]) > 64 || len(role) > 2048 {
			l.p.add("role-to-assume", "%s is not an IAM role ARN: %s", show(role), explainARN(role))
			return
		}
		a.RoleARN, a.RoleName = role, m[4]
		if l.regionValid() && m[1] != awsauth.PartitionOf(l.plan.Region) {
			l.p.add("role-to-assume", "is in partition %s but aws-region %s is in partition %s; use a role and region of the same partition", m[1], l.plan.Region, awsauth.PartitionOf(l.plan.Region))
		}
		return
	}
	if !roleNameRe.MatchString(role) {
		l.p.add("role-to-assume", "%s is neither a role ARN nor a role name; use arn:aws:iam::ACCOUNT:role/NAME", show(role))
		return
	}
	a.RoleName = role
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

func (l *loader) loadDuration(v string) {
	a := &l.plan.Auth
	a.Duration = time.Hour
	if v == "" {
		return
	}
	n, ok := wholeNumber(v)
	if !ok {
		l.p.add("role-duration-seconds", "%s is not a whole number of seconds; write e.g. 3600 for one hour", show(v))
		return
	}
	d := time.Duration(n) * time.Second
	if d < awsauth.MinDuration || d > awsauth.MaxDuration {
		l.p.add("role-duration-seconds", "%d is out of range: STS accepts 900 to 43200 seconds (and at most the role's maximum session duration)", n)
		return
	}
	a.Duration = d
}

// loadTags checks custom-tags as configure-aws-credentials does
// (assumeRole.ts parseAndValidateCustomTags): a JSON object of strings,
// numbers or booleans, no key of the action's own tags, and at most 50 tags
// together with the ones this job sends.
func (l *loader) loadTags(custom, transitive string) {
	a := &l.plan.Auth
	if custom != "" {
		dec := json.NewDecoder(strings.NewReader(custom))
		dec.UseNumber()
		var v any
		err := dec.Decode(&v)
		m, isObject := v.(map[string]any)
		switch {
		case err != nil:
			l.p.add("custom-tags", "is not valid JSON; write an object, e.g. {\"Team\":\"payments\",\"CostCenter\":\"42\"}")
		case !isObject:
			l.p.add("custom-tags", "must be a JSON object (not an array or a single value), e.g. {\"Team\":\"payments\"}")
		default:
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				var val string
				switch x := m[k].(type) {
				case string:
					val = x
				case json.Number:
					val = x.String()
				case bool:
					val = fmt.Sprint(x)
				default:
					l.p.add("custom-tags", "value of %s must be a string, number or boolean", show(k))
					continue
				}
				switch {
				case !tagKeyRe.MatchString(k):
					l.p.add("custom-tags", "key %s must be 1-128 letters, digits, spaces or _.:/=+-@", show(k))
				case strings.HasPrefix(strings.ToLower(k), "aws:"):
					l.p.add("custom-tags", "key %s uses the reserved aws: prefix; rename it", show(k))
				case awsauth.ProtectedTagKey(k):
					l.p.add("custom-tags", "key %s is one of the action's own session tags (%s), which policies trust to say where the job runs; it cannot be overridden, rename it", show(k), strings.Join(awsauth.ProtectedTagKeys(), ", "))
				case !tagValueRe.MatchString(val):
					l.p.add("custom-tags", "value of %s must be at most 256 letters, digits, spaces or _.:/=+-@", show(k))
				default:
					a.CustomTags = append(a.CustomTags, awsauth.Tag{Key: k, Value: val})
				}
			}
			if own := awsauth.DefaultTagCount(a.GitHub); own+len(m) > awsauth.MaxSessionTags {
				l.p.add("custom-tags", "would make %d session tags (%d of this job's own and %d custom); STS allows %d: remove some", own+len(m), own, len(m), awsauth.MaxSessionTags)
			}
		}
	}
	for _, k := range splitList(transitive) {
		if !tagKeyRe.MatchString(k) {
			l.p.add("transitive-tag-keys", "key %s must be 1-128 letters, digits, spaces or _.:/=+-@", show(k))
			continue
		}
		a.TransitiveTagKeys = append(a.TransitiveTagKeys, k)
	}
	if len(a.TransitiveTagKeys) > awsauth.MaxSessionTags {
		l.p.add("transitive-tag-keys", "has %d keys; STS allows at most %d", len(a.TransitiveTagKeys), awsauth.MaxSessionTags)
	}
}

func (l *loader) loadPolicies(inline, managed string) {
	a := &l.plan.Auth
	if inline != "" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(inline)); err != nil || !strings.HasPrefix(buf.String(), "{") {
			l.p.add("inline-session-policy", "is not a JSON policy document; write e.g. {\"Version\":\"2012-10-17\",\"Statement\":[...]}")
		} else {
			a.InlinePolicy = buf.String()
			if n := utf8.RuneCountInString(a.InlinePolicy); n > awsauth.MaxPolicyChars {
				l.p.add("inline-session-policy", "is %d characters after removing whitespace; STS allows %d; move statements to a managed policy and list it in managed-session-policies", n, awsauth.MaxPolicyChars)
			}
			for _, r := range a.InlinePolicy {
				if r > 0xff {
					l.p.add("inline-session-policy", "contains %q; STS accepts only Latin-1 characters in session policies", r)
					break
				}
			}
		}
	}
	for _, arn := range splitList(managed) {
		if !policyARNRe.MatchString(arn) {
			l.p.add("managed-session-policies", "%s is not an IAM policy ARN (arn:aws:iam::ACCOUNT:policy/NAME or arn:aws:iam::aws:policy/NAME)", show(arn))
			continue
		}
		a.ManagedPolicies = append(a.ManagedPolicies, arn)
	}
	if len(a.ManagedPolicies) > awsauth.MaxPolicyARNs {
		l.p.add("managed-session-policies", "lists %d policies; STS allows at most %d", len(a.ManagedPolicies), awsauth.MaxPolicyARNs)
	}
}

// loadAttempts reads retry-max-attempts: any whole number from 1, as
// configure-aws-credentials (the credential phase's time budget bounds the
// total, not the count).
func (l *loader) loadAttempts(attempts string, disable bool) {
	a := &l.plan.Auth
	a.MaxAttempts = awsauth.DefaultAttempts
	if attempts != "" {
		n, ok := wholeNumber(attempts)
		if !ok || n < 1 {
			l.p.add("retry-max-attempts", "%s must be a whole number of attempts, 1 or more", show(attempts))
		} else {
			a.MaxAttempts = n
		}
	}
	switch {
	case a.SpecialCharactersWorkaround:
		// As configure-aws-credentials: the workaround turns retries on
		// with 12 attempts, whatever disable-retry says.
		a.MaxAttempts = 12
	case disable:
		a.MaxAttempts = 1
	}
}

func (l *loader) checkSourceAndRole() {
	a := &l.plan.Auth
	if a.RoleARN == "" && a.RoleName != "" && a.Source.WebIdentity() {
		l.p.add("role-to-assume", "is a bare role name; with OIDC there is no source account to resolve it in. Use the full ARN arn:aws:iam::ACCOUNT:role/%s", a.RoleName)
	}
	if a.RoleName == "" {
		return // keys with no role are exported as they are
	}
	if a.Source.WebIdentity() {
		if len(a.CustomTags) > 0 {
			l.plan.Warnings = append(l.plan.Warnings, "custom-tags are ignored with web identity: AssumeRoleWithWebIdentity takes no session tags (put them in the token's claims instead)")
			a.CustomTags = nil
		}
		if a.ExternalID != "" {
			l.plan.Warnings = append(l.plan.Warnings, "role-external-id is ignored with web identity: AssumeRoleWithWebIdentity has no ExternalId")
		}
	}
}
