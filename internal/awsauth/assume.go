// Package awsauth turns a credential source (stored keys, GitHub OIDC, a token
// file or chained credentials) into verified temporary credentials for the
// deploy role, masking every secret as soon as it exists.
package awsauth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
)

// STSAPI is the subset of the STS client the action uses.
type STSAPI interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
	AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Logger is what the flow needs of the job log.
type Logger interface {
	Mask(secret string)
	Infof(format string, args ...any)
	Debugf(format string, args ...any)
	Warningf(format string, args ...any)
}

// TokenSource fetches a GitHub OIDC token; each call must return a fresh one.
type TokenSource interface {
	Fetch(ctx context.Context, audience string) (string, error)
}

// Credentials are verified temporary (or validated static) credentials.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time // zero for static keys
	Account, ARN                               string
	// Ambient marks credentials taken unchanged from the SDK's default
	// chain (no role to assume, or use-existing-credentials): they stay
	// where they are and are not exported, as configure-aws-credentials.
	Ambient bool
}

// Provider returns the credentials as an SDK provider.
func (c *Credentials) Provider() aws.CredentialsProvider {
	return aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
			CanExpire: !c.Expiration.IsZero(), Expires: c.Expiration, Source: "aws-assume-deploy"}, nil
	}))
}

// Assumer runs the credential flow. Build it with New.
type Assumer struct {
	// newSTS returns an STS client signing with creds; nil creds means an
	// anonymous client (AssumeRoleWithWebIdentity is unsigned).
	newSTS func(creds aws.CredentialsProvider) STSAPI
	log    Logger
	o      Options
}

// Options are the Assumer's replaceable parts; New fills every zero field
// with the real thing.
type Options struct {
	// Tokens fetches GitHub OIDC tokens (required for SourceOIDC).
	Tokens TokenSource
	// ReadFile reads the web identity token file.
	ReadFile func(string) ([]byte, error)
	Sleep    func(context.Context, time.Duration) error
	Now      func() time.Time
	// Backoff replaces the SDK's exponential jitter (tests).
	Backoff retry.BackoffDelayer
	// DefaultChain is the SDK's default credential chain, the source for
	// SourceChaining, SourceDefaultChain and Existing; nil means none.
	DefaultChain aws.CredentialsProvider
}

// New returns an Assumer that makes STS clients with newSTS and reports to
// log.
func New(newSTS func(creds aws.CredentialsProvider) STSAPI, log Logger, optFns ...func(*Options)) *Assumer {
	o := Options{}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.Sleep == nil {
		o.Sleep = fault.Sleep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Assumer{newSTS: newSTS, log: log, o: o}
}

// Run obtains and verifies credentials for req. Nothing is written anywhere;
// the caller exports the result.
func (a *Assumer) Run(ctx context.Context, req Request) (*Credentials, error) {
	budget := req.Budget
	if budget.Total <= 0 {
		budget.Total = 30 * time.Second
	}
	if budget.PerAttempt <= 0 {
		budget.PerAttempt = 10 * time.Second
	}
	if req.MaxAttempts <= 0 {
		req.MaxAttempts = DefaultAttempts
	}
	ctx, cancel := context.WithTimeout(ctx, budget.Total)
	defer cancel()
	r := newRetryer(req.MaxAttempts, a.o.Backoff, a.o.Sleep, a.o.Now, a.log)
	f := &flow{Assumer: a, req: req, r: r, per: budget.PerAttempt}
	return f.run(ctx)
}

type flow struct {
	*Assumer
	req Request
	r   *retryer
	per time.Duration
}

func (f *flow) run(ctx context.Context) (*Credentials, error) {
	req := f.req
	// Mask what the user gave us before any call could echo it.
	for _, s := range []string{req.Keys.AccessKeyID, req.Keys.SecretAccessKey, req.Keys.SessionToken} {
		if s != "" {
			f.log.Mask(s)
		}
	}
	var source aws.CredentialsProvider
	var ambient aws.Credentials
	switch {
	case req.Source == SourceKeys:
		source = staticProvider(aws.Credentials{AccessKeyID: req.Keys.AccessKeyID, SecretAccessKey: req.Keys.SecretAccessKey, SessionToken: req.Keys.SessionToken, Source: "input"})
	case req.Source.FromChain():
		var err error
		if ambient, err = f.loadChain(ctx); err != nil {
			return nil, err
		}
		source = staticProvider(ambient)
	}
	roleARN := req.RoleARN
	if req.MaskAccountID {
		// Before the first line that names the role.
		f.log.Mask(accountOf(roleARN))
	}
	if req.RoleName == "" {
		// No role: validate the source and hand it on as it is: stored keys
		// are exported, the chain's credentials stay where they are.
		c := &Credentials{AccessKeyID: req.Keys.AccessKeyID, SecretAccessKey: req.Keys.SecretAccessKey, SessionToken: req.Keys.SessionToken}
		what := "checking the given keys"
		if req.Source.FromChain() {
			f.log.Infof("No role-to-assume: checking the credentials of the SDK's default chain (they are not exported; later steps find them where this step did)")
			c = &Credentials{AccessKeyID: ambient.AccessKeyID, SecretAccessKey: ambient.SecretAccessKey, SessionToken: ambient.SessionToken, Expiration: chainExpiry(ambient), Ambient: true}
			what = "checking the default chain's credentials"
		} else {
			f.log.Infof("No role-to-assume: validating the given keys and exporting them as they are")
		}
		id, err := f.callerIdentity(ctx, f.newSTS(source), what, false)
		if err != nil {
			return nil, err
		}
		c.Account, c.ARN = aws.ToString(id.Account), aws.ToString(id.Arn)
		f.maskAccount(c)
		return c, f.checkAccount(c)
	}
	if roleARN == "" {
		id, err := f.callerIdentity(ctx, f.newSTS(source), "finding the source account for role "+req.RoleName, false)
		if err != nil {
			return nil, err
		}
		if req.MaskAccountID {
			f.log.Mask(aws.ToString(id.Account))
		}
		part := PartitionOf(req.Region)
		roleARN = fmt.Sprintf("arn:%s:iam::%s:role/%s", part, aws.ToString(id.Account), req.RoleName)
		f.log.Infof("Resolved role-to-assume %s to %s", req.RoleName, roleARN)
	}
	session := req.SessionName
	if session == "" {
		session = DefaultSessionName(req.GitHub, req.SessionDiscriminator)
	}

	var c *Credentials
	for try := 1; ; try++ {
		var got issued
		var err error
		if req.Source.WebIdentity() {
			got, err = f.assumeWithWebIdentity(ctx, roleARN, session)
		} else {
			got, err = f.assumeRole(ctx, f.newSTS(source), roleARN, session)
		}
		if err != nil {
			return nil, err
		}
		if got.creds == nil {
			return nil, fault.New("assuming role "+roleARN, errors.New("STS answered without credentials"),
				"the STS endpoint answered success with no Credentials element, which real STS never does; check sts-endpoint, AWS_ENDPOINT_URL* and any proxy in between")
		}
		creds := got.creds
		c = &Credentials{AccessKeyID: aws.ToString(creds.AccessKeyId), SecretAccessKey: aws.ToString(creds.SecretAccessKey), SessionToken: aws.ToString(creds.SessionToken), Expiration: aws.ToTime(creds.Expiration), ARN: got.arn}
		// The secrets exist now: mask them before anything else happens.
		f.log.Mask(c.AccessKeyID)
		f.log.Mask(c.SecretAccessKey)
		f.log.Mask(c.SessionToken)
		if err := checkCredentialShape(c); err != nil {
			return nil, err
		}
		if !req.SpecialCharactersWorkaround || !hasSpecialCharacters(c) {
			break
		}
		if try >= maxSpecialTries {
			return nil, fault.New("assuming role "+roleARN, fmt.Errorf("every one of %d sessions had special characters in its keys", try),
				"special-characters-workaround asks STS for new sessions until the secret has none, which usually takes 2 to 4; turn it off (this action writes secrets with any characters safely)")
		}
		f.log.Infof("special-characters-workaround: the new secret access key has special characters; assuming the role again (%d of at most %d)", try+1, maxSpecialTries)
	}

	// Confirm the account and role before anything is written. The answer
	// names the session (arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION),
	// so no second call is needed; an STS-compatible service that leaves it
	// out is asked with GetCallerIdentity instead.
	if c.ARN == "" {
		id, err := f.callerIdentity(ctx, f.newSTS(c.Provider()), "confirming the assumed role", true)
		if err != nil {
			return nil, err
		}
		c.ARN = aws.ToString(id.Arn)
	}
	c.Account = accountOf(c.ARN)
	f.maskAccount(c)
	if err := f.checkAccount(c); err != nil {
		return nil, err
	}
	if err := checkSession(c.ARN, roleARN); err != nil {
		return nil, err
	}
	f.log.Infof("Assumed %s (account %s), session %s, valid until %s", c.ARN, c.Account, session, c.Expiration.UTC().Format(time.RFC3339))
	return c, nil
}

// maxSpecialTries bounds special-characters-workaround, which
// configure-aws-credentials runs without a bound: about 28% of AWS secret keys
// have none of the characters, so 30 sessions fail to find one with a
// probability near 5e-5.
const maxSpecialTries = 30

// specialCharacters are those configure-aws-credentials' workaround avoids
// (helpers.ts SPECIAL_CHARS_REGEX).
const specialCharacters = `!@#$%^&*()_+-=[]{};':"\|,.<>/?`

func hasSpecialCharacters(c *Credentials) bool {
	return strings.ContainsAny(c.AccessKeyID, specialCharacters) || strings.ContainsAny(c.SecretAccessKey, specialCharacters)
}

func staticProvider(c aws.Credentials) aws.CredentialsProvider {
	return aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil }))
}

func chainExpiry(c aws.Credentials) time.Time {
	if c.CanExpire {
		return c.Expires
	}
	return time.Time{}
}

// loadChain takes the source credentials from the SDK's default chain and
// masks them before anything could print them.
func (f *flow) loadChain(ctx context.Context) (aws.Credentials, error) {
	if f.o.DefaultChain == nil {
		return aws.Credentials{}, explainChain(errors.New("no default credential chain was configured"), f.req)
	}
	var creds aws.Credentials
	err := f.r.do(ctx, "loading credentials from the SDK's default chain", f.per, func(ctx context.Context, _ int) error {
		var err error
		creds, err = f.o.DefaultChain.Retrieve(ctx)
		return err
	})
	for _, s := range []string{creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken} {
		if s != "" {
			f.log.Mask(s)
		}
	}
	if err == nil && (creds.AccessKeyID == "" || creds.SecretAccessKey == "") {
		err = errors.New("the chain returned empty credentials")
	}
	if err != nil {
		return aws.Credentials{}, explainChain(err, f.req)
	}
	f.log.Infof("Source credentials: %s", chainSourceName(creds.Source))
	return creds, nil
}

// Existing checks the credentials the SDK's default chain finds already
// (use-existing-credentials): valid means GetCallerIdentity accepts them, in
// one attempt, as configure-aws-credentials does. Any failure means "not
// valid", and the caller goes on as normal.
func (a *Assumer) Existing(ctx context.Context, req Request) (*Credentials, bool) {
	if a.o.DefaultChain == nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	creds, err := a.o.DefaultChain.Retrieve(ctx)
	if err != nil || creds.AccessKeyID == "" {
		a.log.Debugf("use-existing-credentials: the default chain found none: %v", err)
		return nil, false
	}
	for _, s := range []string{creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken} {
		if s != "" {
			a.log.Mask(s)
		}
	}
	id, err := a.newSTS(staticProvider(creds)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) == "" {
		a.log.Debugf("use-existing-credentials: STS refused them: %v", err)
		return nil, false
	}
	c := &Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken, Expiration: chainExpiry(creds),
		Account: aws.ToString(id.Account), ARN: aws.ToString(id.Arn), Ambient: true}
	if req.MaskAccountID {
		a.log.Mask(c.Account)
		a.log.Mask(c.ARN)
	}
	return c, true
}

// issued is what AssumeRole* answered.
type issued struct {
	creds *ststypes.Credentials
	arn   string // the assumed-role session ARN, if STS named it
}

// accountOf returns the account field of an ARN, or "".
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// checkSession refuses a session that is not of the role asked for: another
// account, partition or role means the endpoint is not the STS we meant.
func checkSession(sessionARN, roleARN string) error {
	want := strings.SplitN(roleARN, ":", 6)
	got := strings.SplitN(sessionARN, ":", 6)
	name := roleNameOf(roleARN)
	if len(got) < 6 || len(want) < 6 || got[1] != want[1] || got[4] != want[4] || !strings.HasPrefix(got[5], "assumed-role/"+name+"/") {
		return fault.New("confirming the assumed role", fmt.Errorf("STS reports the session as %s, not a session of %s", sessionARN, roleARN),
			"the answer names another account, partition or role: check sts-endpoint, AWS_ENDPOINT_URL* and any proxy in between")
	}
	return nil
}

func (f *flow) maskAccount(c *Credentials) {
	if f.req.MaskAccountID {
		f.log.Mask(c.Account)
		f.log.Mask(c.ARN)
	}
}

func roleNameOf(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

func (f *flow) checkAccount(c *Credentials) error {
	if len(f.req.AllowedAccountIDs) > 0 && !slices.Contains(f.req.AllowedAccountIDs, c.Account) {
		acct := c.Account
		if f.req.MaskAccountID {
			acct = "(masked)"
		}
		return fmt.Errorf("the credentials belong to account %s, which is not in allowed-account-ids; check role-to-assume or add the account to allowed-account-ids", acct)
	}
	return nil
}

// checkCredentialShape refuses credentials that could corrupt the env file or
// the log: the writer would refuse them too, but this names the cause.
func checkCredentialShape(c *Credentials) error {
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || strings.ContainsAny(c.AccessKeyID+c.SecretAccessKey+c.SessionToken, "\r\n") {
		return errors.New("STS returned malformed credentials (empty, or containing a line break); refusing to export them")
	}
	return nil
}

// callerIdentity asks STS who the credentials are. newSession marks
// credentials STS has just issued, which IAM's eventual consistency can
// refuse for a moment.
func (f *flow) callerIdentity(ctx context.Context, client STSAPI, what string, newSession bool) (*sts.GetCallerIdentityOutput, error) {
	var out *sts.GetCallerIdentityOutput
	err := f.r.do(ctx, what, f.per, func(ctx context.Context, attempt int) error {
		var err error
		out, err = client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil && newSession && attempt < 3 && fault.Code(err) == "InvalidClientTokenId" {
			return retryableError{err}
		}
		return err
	})
	if err != nil {
		return nil, explain(err, f.req, what, "", nil)
	}
	return out, nil
}

// retryableError marks an error the SDK would not retry but we know is transient.
type retryableError struct{ error }

func (e retryableError) Unwrap() error { return e.error }

// RetryableError tells the SDK's retryer to retry it.
func (e retryableError) RetryableError() bool { return true }

func (f *flow) assumeRole(ctx context.Context, client STSAPI, roleARN, session string) (issued, error) {
	req := f.req
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(roleARN),
		RoleSessionName: aws.String(session),
		DurationSeconds: aws.Int32(int32(req.Duration / time.Second)),
	}
	if req.ExternalID != "" {
		in.ExternalId = aws.String(req.ExternalID)
	}
	if req.InlinePolicy != "" {
		in.Policy = aws.String(req.InlinePolicy)
	}
	for _, p := range req.ManagedPolicies {
		in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: aws.String(p)})
	}
	var optional []Tag
	if !req.SkipSessionTagging {
		var required []Tag
		required, optional = SessionTags(req.GitHub, req.CustomTags)
		setTags(in, append(required, optional...), req.TransitiveTagKeys)
	}
	f.log.Infof("Assuming role %s with %s (session %s, %d s)", roleARN, req.Source, session, int(req.Duration/time.Second))
	var out *sts.AssumeRoleOutput
	call := func() error {
		return f.r.do(ctx, "assuming role "+roleARN, f.per, func(ctx context.Context, _ int) error {
			var err error
			out, err = client.AssumeRole(ctx, in)
			return err
		})
	}
	err := call()
	if fault.Code(err) == "PackedPolicyTooLarge" && len(optional) > 0 {
		f.log.Warningf("STS says the session tags and policies are too large (%s); retrying once without the optional tags %s", fault.Message(err), tagKeys(optional))
		required, _ := SessionTags(req.GitHub, req.CustomTags)
		setTags(in, required, req.TransitiveTagKeys)
		err = call()
	}
	if err != nil {
		return issued{}, explain(err, req, "assuming role "+roleARN, roleARN, nil)
	}
	return issued{creds: out.Credentials, arn: sessionARN(out.AssumedRoleUser)}, nil
}

func sessionARN(u *ststypes.AssumedRoleUser) string {
	if u == nil {
		return ""
	}
	return aws.ToString(u.Arn)
}

func setTags(in *sts.AssumeRoleInput, tags []Tag, transitive []string) {
	in.Tags, in.TransitiveTagKeys = nil, nil
	have := map[string]bool{}
	for _, t := range tags {
		in.Tags = append(in.Tags, ststypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
		have[strings.ToLower(t.Key)] = true
	}
	for _, k := range transitive {
		if have[strings.ToLower(k)] {
			in.TransitiveTagKeys = append(in.TransitiveTagKeys, k)
		}
	}
}

func tagKeys(ts []Tag) string {
	keys := make([]string, len(ts))
	for i, t := range ts {
		keys[i] = t.Key
	}
	return strings.Join(keys, ", ")
}

func (f *flow) assumeWithWebIdentity(ctx context.Context, roleARN, session string) (issued, error) {
	req := f.req
	client := f.newSTS(nil)
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:         aws.String(roleARN),
		RoleSessionName: aws.String(session),
		DurationSeconds: aws.Int32(int32(req.Duration / time.Second)),
	}
	if req.InlinePolicy != "" {
		in.Policy = aws.String(req.InlinePolicy)
	}
	for _, p := range req.ManagedPolicies {
		in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: aws.String(p)})
	}
	f.log.Infof("Assuming role %s with %s (session %s, %d s)", roleARN, req.Source, session, int(req.Duration/time.Second))
	var token string
	var out *sts.AssumeRoleWithWebIdentityOutput
	err := f.r.do(ctx, "assuming role "+roleARN+" with web identity", f.per, func(ctx context.Context, attempt int) error {
		// A fresh token every attempt: GitHub's tokens live five minutes.
		var err error
		token, err = f.token(ctx)
		if err != nil {
			return err
		}
		in.WebIdentityToken = aws.String(token)
		out, err = client.AssumeRoleWithWebIdentity(ctx, in)
		return err
	})
	if err != nil {
		return issued{}, explain(err, req, "assuming role "+roleARN+" with web identity", roleARN, claimsOf(token))
	}
	return issued{creds: out.Credentials, arn: sessionARN(out.AssumedRoleUser)}, nil
}

func (f *flow) token(ctx context.Context) (string, error) {
	if f.req.Source == SourceOIDC {
		return f.o.Tokens.Fetch(ctx, f.req.Audience)
	}
	b, err := f.o.ReadFile(f.req.TokenFile)
	if err != nil {
		return "", fmt.Errorf("reading web-identity-token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok != "" {
		f.log.Mask(tok)
	}
	if len(tok) < 4 || len(tok) > 20000 {
		return "", errors.New("web-identity-token-file does not hold a token (4-20000 characters); check the path")
	}
	return tok, nil
}
