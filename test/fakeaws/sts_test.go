package fakeaws

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/google/go-cmp/cmp"
)

var (
	reSessionKeyID = regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`)
	reSecret       = regexp.MustCompile(`^[A-Za-z0-9/+]{40}$`)
)

func TestAssumeRoleThenGetCallerIdentity(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, func(o *Options) { o.Now = clk.Now })
	ctx := context.Background()

	out, err := userClient(t, s).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:           aws.String(s.RoleARN("deploy")),
		RoleSessionName:   aws.String("gha-42"),
		DurationSeconds:   aws.Int32(5400),
		ExternalId:        aws.String("ext-1"),
		Policy:            aws.String(`{"Version":"2012-10-17","Statement":[]}`),
		PolicyArns:        []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}},
		Tags:              []types.Tag{{Key: aws.String("Repository"), Value: aws.String("octo-org/octo-repo")}},
		TransitiveTagKeys: []string{"Repository"},
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	c := out.Credentials
	if !reSessionKeyID.MatchString(*c.AccessKeyId) || !reSecret.MatchString(*c.SecretAccessKey) || len(*c.SessionToken) < 300 {
		t.Errorf("credential formats: id %q, secret length %d, token length %d", *c.AccessKeyId, len(*c.SecretAccessKey), len(*c.SessionToken))
	}
	if want := clk.Now().Add(5400 * time.Second); !c.Expiration.Equal(want) {
		t.Errorf("Expiration = %v, want %v", c.Expiration, want)
	}
	wantARN := "arn:aws:sts::123456789012:assumed-role/deploy/gha-42"
	if got := *out.AssumedRoleUser.Arn; got != wantARN {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, wantARN)
	}
	if id := *out.AssumedRoleUser.AssumedRoleId; !regexp.MustCompile(`^AROA[A-Z0-9]{17}:gha-42$`).MatchString(id) {
		t.Errorf("AssumedRoleId = %q", id)
	}

	who, err := stsClient(t, s, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with the session: %v", err)
	}
	if diff := cmp.Diff([]string{wantARN, "123456789012", *out.AssumedRoleUser.AssumedRoleId},
		[]string{*who.Arn, *who.Account, *who.UserId}); diff != "" {
		t.Errorf("caller identity (-want +got):\n%s", diff)
	}

	reqs := s.Calls()
	if len(reqs) != 2 {
		t.Fatalf("recorded %d requests, want 2", len(reqs))
	}
	got := map[string]string{}
	for _, k := range []string{"Action", "Version", "DurationSeconds", "ExternalId", "Policy", "PolicyArns.member.1.arn",
		"Tags.member.1.Key", "Tags.member.1.Value", "TransitiveTagKeys.member.1", "RoleSessionName"} {
		got[k] = reqs[0].Param(k)
	}
	want := map[string]string{
		"Action": "AssumeRole", "Version": "2011-06-15", "DurationSeconds": "5400", "ExternalId": "ext-1",
		"Policy": `{"Version":"2012-10-17","Statement":[]}`, "PolicyArns.member.1.arn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
		"Tags.member.1.Key": "Repository", "Tags.member.1.Value": "octo-org/octo-repo",
		"TransitiveTagKeys.member.1": "Repository", "RoleSessionName": "gha-42",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded AssumeRole parameters (-want +got):\n%s", diff)
	}
	if reqs[0].CallerARN != s.UserARN("ci") || reqs[0].Status != 200 || reqs[1].CallerARN != wantARN {
		t.Errorf("recorded callers/status: %+v / %+v", reqs[0], reqs[1])
	}
	if n := s.Count("sts", "AssumeRole"); n != 1 {
		t.Errorf("Count(sts, AssumeRole) = %d, want 1", n)
	}
}

func TestGetCallerIdentityUser(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.AccountID = "210987654321" })
	who, err := userClient(t, s).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *who.Arn != "arn:aws:iam::210987654321:user/ci" || *who.Account != "210987654321" || !strings.HasPrefix(*who.UserId, "AIDA") {
		t.Errorf("got %s %s %s", *who.Arn, *who.Account, *who.UserId)
	}
}

func tags(n int) []types.Tag {
	out := make([]types.Tag, n)
	for i := range out {
		out[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}
	return out
}

func TestAssumeRoleErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddUser("other", "AKIAFAKEOTHERUSER001", testUserSecret)
	s.AddRole(Role{Name: "notags", MaxSessionDuration: time.Hour})
	s.AddRole(Role{Name: "small", AllowTagSession: true, MaxTags: 25})
	s.AddRole(Role{Name: "ext", ExternalID: "right-one"})
	deny := func(user, role string) string {
		return fmt.Sprintf("User: arn:aws:iam::123456789012:user/%s is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/%s", user, role)
	}
	arns := make([]types.PolicyDescriptorType, 11)
	for i := range arns {
		arns[i].Arn = aws.String(fmt.Sprintf("arn:aws:iam::aws:policy/P%d", i))
	}

	cases := []struct {
		name       string
		key        string
		in         sts.AssumeRoleInput
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{name: "unknown_role", in: sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/x")},
			wantStatus: 403, wantCode: "AccessDenied", wantMsg: deny("ci", "x")},
		{name: "role_in_other_account", in: sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::999999999999:role/deploy")},
			wantStatus: 403, wantCode: "AccessDenied",
			wantMsg: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::999999999999:role/deploy"},
		{name: "untrusted_user", key: "AKIAFAKEOTHERUSER001", wantStatus: 403, wantCode: "AccessDenied", wantMsg: deny("other", "deploy")},
		{name: "oidc_only_role", in: sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/oidc-deploy")},
			wantStatus: 403, wantCode: "AccessDenied", wantMsg: deny("ci", "oidc-deploy")},
		{name: "wrong_external_id", in: sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/ext"), ExternalId: aws.String("wrong-one")},
			wantStatus: 403, wantCode: "AccessDenied", wantMsg: deny("ci", "ext")},
		{name: "session_name_too_short", in: sts.AssumeRoleInput{RoleSessionName: aws.String("a")}, wantStatus: 400, wantCode: "ValidationError",
			wantMsg: "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{name: "session_name_bad_chars", in: sts.AssumeRoleInput{RoleSessionName: aws.String("gha run")}, wantStatus: 400, wantCode: "ValidationError",
			wantMsg: `1 validation error detected: Value 'gha run' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{name: "duration_below_minimum", in: sts.AssumeRoleInput{DurationSeconds: aws.Int32(899)}, wantStatus: 400, wantCode: "ValidationError",
			wantMsg: "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{name: "duration_over_role_max", in: sts.AssumeRoleInput{DurationSeconds: aws.Int32(7201)}, wantStatus: 400, wantCode: "ValidationError",
			wantMsg: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{name: "two_violations", in: sts.AssumeRoleInput{RoleSessionName: aws.String("a"), DurationSeconds: aws.Int32(50000)}, wantStatus: 400, wantCode: "ValidationError",
			wantMsg: "2 validation errors detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; " +
				"Value '50000' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{name: "tags_without_tag_session", in: sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/notags"), Tags: tags(1)},
			wantStatus: 403, wantCode: "AccessDenied",
			wantMsg: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:TagSession on resource: arn:aws:iam::123456789012:role/notags"},
		{name: "too_many_tags", in: sts.AssumeRoleInput{Tags: tags(51)}, wantStatus: 400, wantCode: "ValidationError",
			wantMsg: "1 validation error detected: Value '[51 tags]' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{name: "duplicate_tag_keys", in: sts.AssumeRoleInput{Tags: []types.Tag{{Key: aws.String("Env"), Value: aws.String("a")}, {Key: aws.String("env"), Value: aws.String("b")}}},
			wantStatus: 400, wantCode: "ValidationError", wantMsg: "Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		{name: "tag_key_bad_chars", in: sts.AssumeRoleInput{Tags: []types.Tag{{Key: aws.String("a*b"), Value: aws.String("v")}}}, wantStatus: 400, wantCode: "ValidationError",
			wantMsg: `1 validation error detected: Value 'a*b' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`},
		{name: "packed_policy_too_large", in: sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/small"), Tags: tags(28)},
			wantStatus: 400, wantCode: "PackedPolicyTooLarge", wantMsg: "Packed policy consumes 112% of allotted space, please use smaller policy."},
		{name: "policy_too_long", in: sts.AssumeRoleInput{Policy: aws.String(`{"a":"` + strings.Repeat("x", 2043) + `"}`)}, wantStatus: 400, wantCode: "ValidationError",
			wantMsg: "1 validation error detected: Value '*****' at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{name: "malformed_policy", in: sts.AssumeRoleInput{Policy: aws.String(`{"Version":`)}, wantStatus: 400, wantCode: "MalformedPolicyDocument",
			wantMsg: "The policy is not in the valid JSON format."},
		{name: "too_many_policy_arns", in: sts.AssumeRoleInput{PolicyArns: arns}, wantStatus: 400, wantCode: "ValidationError",
			wantMsg: "1 validation error detected: Value '[11 policy ARNs]' at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.in
			if in.RoleArn == nil {
				in.RoleArn = aws.String(s.RoleARN("deploy"))
			}
			if in.RoleSessionName == nil {
				in.RoleSessionName = aws.String("gha-1")
			}
			key := testUserKey
			if tc.key != "" {
				key = tc.key
			}
			_, err := stsClient(t, s, key, testUserSecret, "").AssumeRole(context.Background(), &in)
			status, code, msg := apiError(t, err)
			if diff := cmp.Diff([]any{tc.wantStatus, tc.wantCode, tc.wantMsg}, []any{status, code, msg}); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoleChaining(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddRole(Role{Name: "second", MaxSessionDuration: 12 * time.Hour, TrustedRoles: []string{"deploy"}})
	s.AddRole(Role{Name: "only-from-elsewhere", TrustedRoles: []string{"elsewhere"}})
	ctx := context.Background()
	first, err := userClient(t, s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("deploy")), RoleSessionName: aws.String("one")})
	if err != nil {
		t.Fatal(err)
	}
	c := first.Credentials
	chained := stsClient(t, s, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)

	_, err = chained.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("second")), RoleSessionName: aws.String("two"), DurationSeconds: aws.Int32(3601)})
	_, code, msg := apiError(t, err)
	if code != "ValidationError" || msg != "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." {
		t.Errorf("over an hour: got %s %q", code, msg)
	}

	_, err = chained.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("only-from-elsewhere")), RoleSessionName: aws.String("two")})
	_, code, msg = apiError(t, err)
	wantMsg := "User: arn:aws:sts::123456789012:assumed-role/deploy/one is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/only-from-elsewhere"
	if code != "AccessDenied" || msg != wantMsg {
		t.Errorf("untrusted chain: got %s %q", code, msg)
	}

	second, err := chained.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("second")), RoleSessionName: aws.String("two"), DurationSeconds: aws.Int32(3600)})
	if err != nil {
		t.Fatalf("chaining for an hour: %v", err)
	}
	if got := *second.AssumedRoleUser.Arn; got != "arn:aws:sts::123456789012:assumed-role/second/two" {
		t.Errorf("chained ARN = %q", got)
	}
}

func TestSigningErrors(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, func(o *Options) { o.Now = clk.Now })
	ctx := context.Background()
	out, err := userClient(t, s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("deploy")), RoleSessionName: aws.String("one"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	const mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	const invalid = "The security token included in the request is invalid."

	cases := []struct {
		name                string
		akid, secret, token string
		advance             time.Duration
		wantStatus          int
		wantCode, wantMsg   string
	}{
		{name: "unknown_key", akid: "AKIAUNKNOWNKEY000000", secret: testUserSecret, wantStatus: 403, wantCode: "InvalidClientTokenId", wantMsg: invalid},
		{name: "wrong_secret", akid: testUserKey, secret: testUserSecret + "\n", wantStatus: 403, wantCode: "SignatureDoesNotMatch", wantMsg: mismatch},
		{name: "user_key_with_token", akid: testUserKey, secret: testUserSecret, token: "bogus", wantStatus: 403, wantCode: "InvalidClientTokenId", wantMsg: invalid},
		{name: "session_without_token", akid: *c.AccessKeyId, secret: *c.SecretAccessKey, wantStatus: 403, wantCode: "InvalidClientTokenId", wantMsg: invalid},
		{name: "session_wrong_token", akid: *c.AccessKeyId, secret: *c.SecretAccessKey, token: *c.SessionToken + "x", wantStatus: 403, wantCode: "InvalidClientTokenId", wantMsg: invalid},
		{name: "session_wrong_secret", akid: *c.AccessKeyId, secret: testUserSecret, token: *c.SessionToken, wantStatus: 403, wantCode: "SignatureDoesNotMatch", wantMsg: mismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stsClient(t, s, tc.akid, tc.secret, tc.token).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			status, code, msg := apiError(t, err)
			if diff := cmp.Diff([]any{tc.wantStatus, tc.wantCode, tc.wantMsg}, []any{status, code, msg}); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("expired_session", func(t *testing.T) {
		session := stsClient(t, s, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
		clk.Advance(899 * time.Second)
		if _, err := session.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("a second before expiry: %v", err)
		}
		clk.Advance(time.Second)
		_, err := session.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		status, code, msg := apiError(t, err)
		if diff := cmp.Diff([]any{403, "ExpiredToken", "The security token included in the request is expired"}, []any{status, code, msg}); diff != "" {
			t.Errorf("error (-want +got):\n%s", diff)
		}
	})
}

func TestUnsignedCallsAreRejected(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	_, err := anonClient(t, s).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	status, code, _ := apiError(t, err)
	if status != 403 || code != "MissingAuthenticationToken" {
		t.Errorf("got %d %s, want 403 MissingAuthenticationToken", status, code)
	}
}

func TestCredentialPrefix(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.CredentialPrefix = "CANARY-7f3a_x!" })
	out, err := userClient(t, s).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("deploy")), RoleSessionName: aws.String("one")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(*c.SecretAccessKey, "CANARY7f3ax") || !reSecret.MatchString(*c.SecretAccessKey) {
		t.Errorf("secret %q lacks the marker or is malformed", *c.SecretAccessKey)
	}
	if !strings.Contains(*c.SessionToken, "CANARY7f3ax") || !reSessionKeyID.MatchString(*c.AccessKeyId) {
		t.Errorf("token lacks the marker or key id %q malformed", *c.AccessKeyId)
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"repo:o/r:ref:refs/heads/main", "repo:o/r:ref:refs/heads/main", true},
		{"repo:o/r:ref:refs/heads/main", "repo:o/r:ref:refs/heads/main2", false},
		{"repo:o/r:*", "repo:o/r:pull_request", true},
		{"repo:o/*:environment:prod", "repo:o/r:environment:prod", true},
		{"repo:o/*:environment:prod", "repo:o/r:environment:staging", false},
		{"repo:o/r:ref:refs/heads/?ain", "repo:o/r:ref:refs/heads/main", true},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, tc := range cases {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
