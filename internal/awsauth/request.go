package awsauth

import (
	"strings"
	"time"
)

// Source is where the credentials that assume the role come from.
type Source int

// The credential sources, decided like configure-aws-credentials does.
const (
	SourceNone         Source = iota
	SourceKeys                // stored IAM-user keys -> sts:AssumeRole
	SourceOIDC                // GitHub OIDC token -> sts:AssumeRoleWithWebIdentity
	SourceTokenFile           // web-identity-token-file -> sts:AssumeRoleWithWebIdentity
	SourceChaining            // role-chaining: the SDK's default credential chain -> sts:AssumeRole
	SourceDefaultChain        // no source given: the SDK's default credential chain, as configure-aws-credentials
)

func (s Source) String() string {
	return [...]string{"none", "stored keys", "GitHub OIDC", "web identity token file", "role chaining", "the SDK's default credential chain"}[s]
}

// FromChain reports whether the source credentials come from the SDK's
// default credential chain (Options.DefaultChain).
func (s Source) FromChain() bool { return s == SourceChaining || s == SourceDefaultChain }

// WebIdentity reports whether the source is a web identity token, which
// takes no session tags and no external id.
func (s Source) WebIdentity() bool { return s == SourceOIDC || s == SourceTokenFile }

// Tag is a session tag.
type Tag struct{ Key, Value string }

// Keys are AWS access keys; SessionToken is empty for an IAM user's keys.
type Keys struct{ AccessKeyID, SecretAccessKey, SessionToken string }

// Request is one credential flow, fully validated by its builder: the source,
// the role and how to assume it, and the checks on the result.
type Request struct {
	// Region decides the partition and names the STS endpoint in messages.
	Region string
	// RoleARN is the full ARN, or empty when RoleName must be resolved in
	// the source account first; both empty: export Keys as they are.
	RoleARN, RoleName string

	Source Source
	// Keys are the source credentials for SourceKeys.
	Keys Keys
	// Chain says where the SDK's default chain will look, for the message
	// when it finds nothing (SourceChaining, SourceDefaultChain, UseExisting).
	Chain ChainInfo
	// TokenFile is the resolved path of the web identity token file.
	TokenFile string
	// Audience of the GitHub OIDC token.
	Audience string

	// SessionName is empty for the default; SessionDiscriminator tells
	// matrix jobs apart in it.
	SessionName, SessionDiscriminator string
	Duration                          time.Duration
	ExternalID                        string
	SkipSessionTagging                bool
	CustomTags                        []Tag
	TransitiveTagKeys                 []string
	InlinePolicy                      string
	ManagedPolicies                   []string

	// AllowedAccountIDs, when set, must contain the credentials' account.
	AllowedAccountIDs []string
	// MaskAccountID masks the account id wherever it would appear.
	MaskAccountID bool
	// MaxAttempts bounds the attempts of each STS call.
	MaxAttempts int
	// SpecialCharactersWorkaround assumes the role again until the secret
	// access key has no special characters (configure-aws-credentials'
	// special-characters-workaround).
	SpecialCharactersWorkaround bool
	// Budget bounds the whole flow; zero fields take the defaults.
	Budget Budget
	// STSEndpoint is the custom STS endpoint, if any, for messages.
	STSEndpoint string
	// GitHub names and tags the session.
	GitHub GitHub
}

// ChainInfo is what the environment tells about the SDK's default credential
// chain, in the chain's order; only names and paths, never a secret.
type ChainInfo struct {
	// EnvKeys: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set;
	// EnvKeysIgnored: unset-current-credentials makes the chain skip them.
	EnvKeys, EnvKeysIgnored bool
	// Profile is AWS_PROFILE; CredentialsFile and ConfigFile are the shared
	// files the chain reads.
	Profile, CredentialsFile, ConfigFile string
	// WebIdentityTokenFile is AWS_WEB_IDENTITY_TOKEN_FILE (IRSA).
	WebIdentityTokenFile string
	// ContainerCredentials is the container credentials endpoint
	// variable that is set (ECS task role, EKS Pod Identity), or "".
	ContainerCredentials string
	// IMDSDisabled is AWS_EC2_METADATA_DISABLED=true; IMDSEndpoint is
	// AWS_EC2_METADATA_SERVICE_ENDPOINT or "" for the default.
	IMDSDisabled bool
	IMDSEndpoint string
	// NoOIDC: role-to-assume is set but the job has no OIDC token, the
	// usual reason a GitHub-hosted job ends up here.
	NoOIDC bool
}

// Limits from the STS API reference.
const (
	MinDuration      = 900 * time.Second
	MaxDuration      = 43200 * time.Second
	MaxChainDuration = time.Hour
	MaxSessionTags   = 50
	MaxPolicyChars   = 2048
	MaxPolicyARNs    = 10
	DefaultAttempts  = 5
)

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
