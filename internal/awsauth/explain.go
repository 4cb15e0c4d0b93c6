package awsauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"sort"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// Claims are the non-secret claims of a GitHub OIDC token, shown when a trust
// policy does not match.
type Claims map[string]string

// claimsOf decodes the payload of a JWT without verifying it: it only serves
// to explain a refusal. The signature (the secret part) is never shown.
func claimsOf(token string) Claims {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var raw map[string]any
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	c := Claims{}
	for _, k := range []string{"iss", "aud", "sub", "repository", "ref", "environment", "job_workflow_ref", "event_name"} {
		if v, ok := raw[k]; ok {
			c[k] = fmt.Sprint(v)
		}
	}
	return c
}

// explain turns an STS failure into a message that says what to do next.
func explain(err error, req Request, what, roleARN string, claims Claims) error {
	code, msg := fault.Code(err), fault.Message(err)
	var hint string
	switch code {
	case "AccessDenied":
		switch {
		case req.Source.WebIdentity():
			hint = oidcDenied(claims, roleARN)
		case strings.Contains(msg, "sts:TagSession"):
			hint = "the role's trust policy allows sts:AssumeRole but not sts:TagSession. Add \"sts:TagSession\" to the trust policy's Action, or set role-skip-session-tagging: true"
		default:
			hint = "the source identity may not assume this role. The role's trust policy must name the IAM user (Principal) and allow sts:AssumeRole (and sts:TagSession), and the user's policy must allow sts:AssumeRole on " + roleARN
		}
	case "InvalidClientTokenId":
		hint = "aws-access-key-id is unknown or inactive: check the secret holds the current key of the deploy user (IAM > Users > Security credentials) and that it was not rotated or deleted"
	case "SignatureDoesNotMatch":
		hint = "aws-secret-access-key does not match aws-access-key-id: store the secret again, without spaces or line breaks, and make sure both secrets come from the same key"
	case "ExpiredToken":
		hint = "the source session token has expired: refresh aws-session-token, or with role-chaining make sure the previous step's session is still valid"
	case "ExpiredTokenException":
		hint = "GitHub's OIDC token expired before STS saw it (tokens live 5 minutes); check the runner's clock and lower retry-max-attempts / action-timeout-s"
	case "IDPCommunicationError":
		hint = "AWS could not reach GitHub's OIDC provider; this is usually transient, re-run the job"
	case "InvalidIdentityToken":
		switch {
		case strings.Contains(msg, "verification key"):
			hint = "AWS could not fetch GitHub's signing keys (transient, common with many parallel jobs); re-run the job"
		case strings.Contains(msg, "No OpenIDConnect provider"):
			hint = fmt.Sprintf("the account has no IAM OIDC provider for GitHub: create one for %s with client id (audience) %s (iam/bootstrap.yaml in this repository does it)", issuer(claims), req.Audience)
		case strings.Contains(msg, "audience"):
			hint = fmt.Sprintf("the token's audience %q is not a client id of the IAM OIDC provider; add it to the provider's client ids or set the audience input to one (sts.amazonaws.com by default)", req.Audience)
		default:
			hint = "STS rejected the token; check the IAM OIDC provider's URL and client ids"
		}
	case "IDPRejectedClaim":
		hint = "the identity provider rejected the token's claims"
	case "RegionDisabledException":
		hint = fmt.Sprintf("STS is not activated in %s for this account: activate the region in IAM > Account settings, or set sts-endpoint to an active region", req.Region)
	case "PackedPolicyTooLarge":
		hint = "the session tags and session policies are too large even without the optional tags: shorten inline-session-policy, fewer custom-tags or managed-session-policies, or set role-skip-session-tagging: true"
	case "MalformedPolicyDocument":
		hint = "inline-session-policy is not a valid IAM policy; check its JSON and actions"
	case "ValidationError":
		switch {
		case strings.Contains(msg, "role chaining"):
			hint = "role chaining caps sessions at 1 hour: set role-duration-seconds to 3600 or less"
		case strings.Contains(msg, "DurationSeconds"):
			hint = "role-duration-seconds exceeds the role's maximum session duration: lower it, or raise MaxSessionDuration on the role"
		default:
			hint = "a request parameter was refused; check the inputs named in the message"
		}
	}
	if hint == "" && strings.Contains(err.Error(), "OIDC token") {
		hint = "GitHub's OIDC token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL) did not give a token; this is usually transient, re-run the job. A 401/403 means the job lacks `permissions: id-token: write`"
	}
	if hint == "" {
		hint = networkHint(err, req)
	}
	return fault.New(what, described{err}, hint)
}

// described renders an AWS error readably while keeping it reachable with
// errors.As.
type described struct{ err error }

func (d described) Error() string { return describe(d.err) }
func (d described) Unwrap() error { return d.err }

// describe renders an AWS error as "Code: message (request id)" instead of
// the SDK's "operation error ..., https response error StatusCode: ...".
// AWS text is untrusted, so it is neutralised.
func describe(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err.Error()
	}
	s := ae.ErrorCode() + ": " + ae.ErrorMessage()
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.ServiceRequestID() != "" {
		s += " (request id " + re.ServiceRequestID() + ")"
	}
	var at *attemptsError
	if errors.As(err, &at) && at.attempts > 1 {
		s = fmt.Sprintf("gave up after %s in %s: %s", attemptsWord(at.attempts), at.elapsed.Round(100*time.Millisecond), s)
	}
	return s
}

func networkHint(err error, req Request) string {
	if isCertificateError(err) {
		return "the endpoint's TLS certificate is not trusted. Behind a TLS-inspecting proxy, set AWS_CA_BUNDLE to a file with its CA certificate (in the workspace for a Docker action); otherwise check sts-endpoint / AWS_ENDPOINT_URL*"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fmt.Sprintf("cannot resolve %s; check aws-region, sts-endpoint, AWS_ENDPOINT_URL* and http-proxy", dns.Name)
	}
	var op *net.OpError
	var ae *attemptsError
	if errors.As(err, &op) || errors.As(err, &ae) {
		ep := req.STSEndpoint
		var ue *url.Error
		if errors.As(err, &ue) {
			if u, perr := url.Parse(ue.URL); perr == nil {
				ep = u.Scheme + "://" + u.Host
			}
		}
		if ep == "" {
			ep = "the regional STS endpoint of " + req.Region
		}
		return fmt.Sprintf("STS at %s could not be reached or kept failing; check the network, sts-endpoint / AWS_ENDPOINT_URL_STS and http-proxy, or raise retry-max-attempts / action-timeout-s", ep)
	}
	return ""
}

func issuer(c Claims) string {
	if c["iss"] != "" {
		return c["iss"]
	}
	return "https://token.actions.githubusercontent.com"
}

// oidcDenied shows the token's claims and the trust condition that would match.
func oidcDenied(c Claims, roleARN string) string {
	if len(c) == 0 {
		return "the role's trust policy did not match the token; it must trust the GitHub OIDC provider and match the token's aud and sub"
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("the trust policy of " + roleARN + " does not match this job's token. The token's claims are:")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, c[k])
	}
	host := strings.TrimPrefix(issuer(c), "https://")
	fmt.Fprintf(&b, ". A trust policy condition that matches exactly this job: \"StringEquals\": {\"%s:aud\": %q, \"%s:sub\": %q}", host, c["aud"], host, c["sub"])
	if c["environment"] != "" {
		b.WriteString(". Note: with a GitHub environment the sub is repo:ORG/REPO:environment:NAME, not the branch form")
	}
	if c["event_name"] == "pull_request" {
		b.WriteString(". Note: pull_request runs have sub repo:ORG/REPO:pull_request; never let a deploy role trust it")
	}
	return b.String()
}

// chainSourceName names the provider of the SDK's default chain that answered.
func chainSourceName(src string) string {
	switch {
	case src == "EnvConfigCredentials":
		return "environment variables (AWS_ACCESS_KEY_ID, via the SDK's default chain)"
	case strings.HasPrefix(src, "SharedConfigCredentials"):
		return "shared credentials file (" + strings.TrimSpace(strings.TrimPrefix(src, "SharedConfigCredentials:")) + ")"
	case src == "EC2RoleProvider":
		return "EC2 instance profile (instance metadata, IMDSv2)"
	case src == "CredentialsEndpointProvider":
		return "container credentials endpoint (ECS task role or EKS Pod Identity)"
	case src == "WebIdentityCredentials":
		return "web identity token file (AWS_WEB_IDENTITY_TOKEN_FILE, e.g. EKS IRSA)"
	case src == "AssumeRoleProvider":
		return "a role assumed by the shared config profile (role_arn)"
	case src == "ProcessProvider":
		return "credential_process of the shared config profile"
	case src == "SSOProvider":
		return "IAM Identity Center (SSO) profile"
	case src == "":
		return "the SDK's default chain"
	}
	return src + " (SDK's default chain)"
}

// explainChain says what the SDK's default chain looked at, in its order,
// when it found no credentials, and how to give it some.
func explainChain(err error, req Request) error {
	ci := req.Chain
	var tried []string
	switch {
	case ci.EnvKeysIgnored:
		tried = append(tried, "environment variables (ignored: unset-current-credentials is true)")
	case ci.EnvKeys:
		tried = append(tried, "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
	default:
		tried = append(tried, "environment variables (AWS_ACCESS_KEY_ID not set)")
	}
	profile := "default"
	if ci.Profile != "" {
		profile = ci.Profile + " (AWS_PROFILE)"
	}
	tried = append(tried, fmt.Sprintf("shared config profile %s in %s and %s", profile, orDefault(ci.CredentialsFile, "~/.aws/credentials"), orDefault(ci.ConfigFile, "~/.aws/config")))
	if ci.WebIdentityTokenFile != "" {
		tried = append(tried, "web identity token file "+ci.WebIdentityTokenFile+" (AWS_WEB_IDENTITY_TOKEN_FILE)")
	} else {
		tried = append(tried, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE not set)")
	}
	if ci.ContainerCredentials != "" {
		tried = append(tried, "container credentials ("+ci.ContainerCredentials+")")
	} else {
		tried = append(tried, "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI not set)")
	}
	switch {
	case ci.IMDSDisabled:
		tried = append(tried, "EC2 instance metadata (disabled: AWS_EC2_METADATA_DISABLED=true)")
	case ci.IMDSEndpoint != "":
		tried = append(tried, "EC2 instance metadata IMDSv2 at "+ci.IMDSEndpoint+" (AWS_EC2_METADATA_SERVICE_ENDPOINT)")
	default:
		tried = append(tried, "EC2 instance metadata IMDSv2 at 169.254.169.254")
	}
	var hint strings.Builder
	what, found := "finding source credentials with the SDK's default chain", "no credentials"
	if ci.NoOIDC {
		what = "finding source credentials for role-to-assume"
		found = "the job has no GitHub OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set) and the SDK's default credential chain found none"
		hint.WriteString("for GitHub OIDC add `permissions: id-token: write` to the workflow or job, or pass aws-access-key-id/aws-secret-access-key. Pull requests from forks never get an OIDC token. ")
	}
	if !ci.IMDSDisabled {
		hint.WriteString("On a self-hosted EC2 runner this action runs in a Docker container, one network hop further than the host: IMDSv2 answers it only with a hop limit of 2 " +
			"(aws ec2 modify-instance-metadata-options --instance-id ID --http-tokens required --http-put-response-hop-limit 2), and the instance needs an instance profile. ")
	}
	hint.WriteString("On ECS or EKS the container credentials or IRSA variables must reach the step's environment.")
	return fault.New(what, fmt.Errorf("%s. Tried, in order: %s. The chain said: %w", found, strings.Join(tried, "; "), err), hint.String())
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
