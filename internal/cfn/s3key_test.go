package cfn

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestValidS3Prefix(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, wantErr string
	}{
		{"empty", "", ""},
		{"plain", "cloudformation/app", ""},
		{"dots_inside_names", "v1.2/app..old/x.y", ""},
		{"parent", "../other", `".." segment`},
		{"parent_inside", "cfn/../../other", `".." segment`},
		{"parent_at_end", "cfn/..", `".." segment`},
		{"dot", "cfn/./app", `"." segment`},
		{"empty_segment", "cfn//app", "empty segment"},
		{"backslash", `cfn\..\x`, "backslash"},
		{"control", "cfn/\x00app", "control character"},
		{"newline", "cfn\napp", "control character"},
		{"too_long", strings.Repeat("a", maxS3PrefixLen+1), "keep it under"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidS3Prefix(tc.in)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && !strings.Contains(errString(err), tc.wantErr) {
				t.Errorf("ValidS3Prefix(%q) = %v, want %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

// The deployer refuses a prefix that would leave the prefix even when the
// input check was skipped, before any call.
func TestTemplateKey_refuses_escapes(t *testing.T) {
	t.Parallel()
	if k, err := templateKey("/cfn/app/", "app", []byte{0xab}); err != nil || k != "cfn/app/app-ab.template" {
		t.Errorf("templateKey = %q, %v", k, err)
	}
	for _, p := range []string{"../x", "a/../../b", "a/./b", `a\b`} {
		if k, err := templateKey(p, "app", []byte{1}); err == nil {
			t.Errorf("templateKey(%q) = %q, want an error", p, k)
		}
	}
}

// ownerCheckingS3 records PutObject inputs and refuses, as S3 does, an
// ExpectedBucketOwner that is not the bucket's owner.
type ownerCheckingS3 struct {
	owner string
	puts  []*s3.PutObjectInput
}

func (u *ownerCheckingS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	_, _ = io.Copy(io.Discard, in.Body)
	u.puts = append(u.puts, in)
	if e := aws.ToString(in.ExpectedBucketOwner); e != "" && e != u.owner {
		return nil, apiErr("AccessDenied", "Access Denied")
	}
	return &s3.PutObjectOutput{}, nil
}

func TestDeploy_upload_names_the_expected_bucket_owner(t *testing.T) {
	t.Parallel()
	big := testTemplate + "# " + strings.Repeat("x", MaxTemplateBodySize) + "\n"
	tmpl, err := parseTemplateBody([]byte(big))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, bucketOwner string
		wantErr           []string
	}{
		{"own_bucket", "123456789012", nil},
		{"bucket_of_another_account", "999999999999", []string{"uploading the template to s3://artifacts/cfn/app-", "Access Denied (AccessDenied)",
			"check that s3-bucket names a bucket owned by account 123456789012 (the deploy role's)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			up := &ownerCheckingS3{owner: tc.bucketOwner}
			d := NewDeployer(e.cfn, e.log, func(o *DeployerOptions) { o.S3, o.Now, o.Sleep = up, e.clock.Now, e.clock.Sleep })
			o := testOptions(t)
			o.Template, o.S3Bucket, o.S3Prefix, o.BucketOwner = tmpl, "artifacts", "cfn", "123456789012"
			_, err := d.Deploy(context.Background(), o)
			if len(up.puts) != 1 || aws.ToString(up.puts[0].ExpectedBucketOwner) != "123456789012" {
				t.Fatalf("PutObject calls %d, ExpectedBucketOwner %q; want one, with the deploy role's account", len(up.puts), aws.ToString(up.puts[0].ExpectedBucketOwner))
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(errString(err), want) {
					t.Errorf("error = %v, want %q", err, want)
				}
			}
			if tc.wantErr == nil && err != nil {
				t.Errorf("Deploy: %v", err)
			}
			if tc.wantErr != nil && len(e.cfn.ops()) != 1 { // DescribeStacks only
				t.Errorf("calls after the refused upload: %v", e.cfn.ops())
			}
		})
	}
}
