package fakeaws

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

func TestQuirkOmitCredentials(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Quirks.OmitCredentials = true })
	ctx := context.Background()
	out, err := userClient(t, s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("deploy")), RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	if out.Credentials != nil || out.AssumedRoleUser == nil {
		t.Errorf("AssumeRole: Credentials = %+v, AssumedRoleUser = %+v; want no credentials, a user", out.Credentials, out.AssumedRoleUser)
	}
	web, err := webIdentity(t, s, "oidc-deploy", fetchToken(t, s, oidcAudience))
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	if web.Credentials != nil {
		t.Errorf("AssumeRoleWithWebIdentity: Credentials = %+v, want none", web.Credentials)
	}
	if s.Calls()[0].Status != http.StatusOK {
		t.Errorf("status %d, want 200", s.Calls()[0].Status)
	}

	s.Reset() // back to the options' quirks, which still omit them
	s.SetQuirks(Quirks{})
	out, err = userClient(t, s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("deploy")), RoleSessionName: aws.String("s2")})
	if err != nil || out.Credentials == nil {
		t.Fatalf("after SetQuirks(Quirks{}): %+v, %v", out, err)
	}
}

func TestQuirkAssumedRoleAccount(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetQuirks(Quirks{AssumedRoleAccount: "999999999999"})
	ctx := context.Background()
	out, err := userClient(t, s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("deploy")), RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	want := "arn:aws:sts::999999999999:assumed-role/deploy/s1"
	if *out.AssumedRoleUser.Arn != want {
		t.Errorf("AssumedRoleUser.Arn = %s, want %s", *out.AssumedRoleUser.Arn, want)
	}
	c := out.Credentials
	who, err := stsClient(t, s, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if *who.Arn != want || *who.Account != "999999999999" {
		t.Errorf("GetCallerIdentity = %s in %s, want %s in 999999999999", *who.Arn, *who.Account, want)
	}
}

func TestQuirkHostileHeaders(t *testing.T) {
	t.Parallel()
	hostile := http.Header{"X-Amzn-Requestid": {"##[stop-commands]x"}, "X-Note": {"::set-output name=x::y"}}
	s := newServer(t, func(o *Options) { o.Quirks.ResponseHeaders = hostile })
	s.InjectFault("AssumeRole", fakecore.Fault{Code: "AccessDenied"})
	ctx := context.Background()

	var got http.Header
	grab := sts.WithAPIOptions(func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("grab", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
				got = resp.Header.Clone()
			}
			return out, md, err
		}), middleware.After)
	})
	if _, err := userClient(t, s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, grab); err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got.Get("X-Amzn-Requestid") != "##[stop-commands]x" || got.Get("X-Note") != "::set-output name=x::y" {
		t.Errorf("success headers = %v", got)
	}
	_, err := userClient(t, s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("deploy")), RoleSessionName: aws.String("s1")}, grab)
	if code := apiErrorCode(err); code != "AccessDenied" {
		t.Fatalf("AssumeRole error = %v, want the injected AccessDenied", err)
	}
	if got.Get("X-Note") != "::set-output name=x::y" {
		t.Errorf("error headers = %v", got)
	}
	// The SDK reports the hostile request id, as a client would log it.
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.ServiceRequestID() != "##[stop-commands]x" {
		t.Errorf("request id seen by the SDK: %v", err)
	}
}

func TestAddSessionSignsAssumeRole(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddRole(Role{Name: "instance", NoUserTrust: true})
	s.AddRole(Role{Name: "target", TrustedRoles: []string{"instance"}})
	creds := fakecore.Credentials{AccessKeyID: "ASIAIMDSFAKE00000001", SecretAccessKey: "imdsSecret000000000000000000000000000000",
		SessionToken: "IQoJimds-token", Expiration: time.Now().Add(time.Hour).UTC()}
	arn := s.AddSession("instance", "i-0123456789abcdef0", creds)
	if arn != "arn:aws:sts::123456789012:assumed-role/instance/i-0123456789abcdef0" {
		t.Errorf("AddSession ARN = %s", arn)
	}
	client := stsClient(t, s, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	out, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(s.RoleARN("target")), RoleSessionName: aws.String("chained")})
	if err != nil {
		t.Fatalf("AssumeRole with the registered session: %v", err)
	}
	if *out.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/target/chained" {
		t.Errorf("Arn = %s", *out.AssumedRoleUser.Arn)
	}
	if c := s.CallsTo("sts", "AssumeRole"); len(c) != 1 || c[0].CallerARN != arn {
		t.Errorf("recorded caller = %+v, want %s", c, arn)
	}
	// Without the token the key is invalid, as for any session.
	_, err = stsClient(t, s, creds.AccessKeyID, creds.SecretAccessKey, "").GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if code := apiErrorCode(err); code != "InvalidClientTokenId" {
		t.Errorf("without the session token: %v", err)
	}
}

// apiErrorCode is the AWS error code of err, or "".
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
