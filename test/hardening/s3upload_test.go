package hardening

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
)

// Large-template staging (issue 14, findings 6 and 10): s3-prefix may not
// lead out of the prefix, and the upload names the bucket owner it expects,
// so a bucket of another account never receives the template.

// largeTemplate is over CloudFormation's 51,200-byte inline limit, so the
// action must upload it.
var largeTemplate = appTemplate + "# " + strings.Repeat("padding ", 7000) + "\n"

func TestS3Prefix_leaving_the_prefix_is_refused_before_any_call(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"../other-team", "cloudformation/../../other", "./cloudformation", "cloudformation//app", `cloudformation\..\x`} {
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOpts{})
			j := newJob(t, w)
			j.Write(templatePath, largeTemplate)
			r := j.Run(deployInputs(map[string]string{"s3-bucket": "artifacts-bucket", "s3-prefix": prefix}))
			r.MustFail(t, "input s3-prefix:")
			if n := w.requests(); n != 0 {
				t.Errorf("%d requests reached AWS or the OIDC endpoint; want none", n)
			}
		})
	}
}

// ownerHeaders records the x-amz-expected-bucket-owner of every PutObject.
type ownerHeaders struct {
	next   http.Handler
	mu     sync.Mutex
	owners []string
}

func (o *ownerHeaders) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		o.mu.Lock()
		o.owners = append(o.owners, r.Header.Get("X-Amz-Expected-Bucket-Owner"))
		o.mu.Unlock()
	}
	o.next.ServeHTTP(w, r)
}

func (o *ownerHeaders) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.owners...)
}

func TestS3Upload_names_the_expected_bucket_owner(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, owner string
		ok          bool
	}{
		{"bucket_of_the_deploy_account", account, true},
		{"bucket_of_another_account", "999988887777", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOpts{})
			s3 := fakecfn.NewS3()
			s3.SetBucketOwner("artifacts-bucket", tc.owner)
			rec := &ownerHeaders{next: s3}
			w.sts.Mount("s3", rec)
			// CloudFormation reads the uploaded template from the same S3.
			cfn := fakecfn.NewCloudFormation(func(co *fakecfn.Options) { co.S3, co.Region, co.AccountID = s3, region, account })
			w.sts.Mount("cloudformation", cfn)
			j := newJob(t, w)
			j.Write(templatePath, largeTemplate)
			r := j.Run(deployInputs(map[string]string{"s3-bucket": "artifacts-bucket", "s3-prefix": "cloudformation/app"}))
			if owners := rec.seen(); len(owners) != 1 || owners[0] != account {
				t.Fatalf("PutObject expected-bucket-owner headers %q, want one, naming %s (the deploy role's account)", owners, account)
			}
			if tc.ok {
				r.MustSucceed(t)
				if n := len(cfn.CallsTo("cloudformation", "CreateChangeSet")); n != 1 {
					t.Errorf("%d CreateChangeSet calls", n)
				}
				return
			}
			r.MustFail(t, "uploading the template to s3://artifacts-bucket/cloudformation/app/", "Access Denied (AccessDenied)",
				"check that s3-bucket names a bucket owned by account "+account+" (the deploy role's)")
			if n := len(cfn.CallsTo("cloudformation", "CreateChangeSet")); n != 0 {
				t.Errorf("CreateChangeSet called %d times after the refused upload", n)
			}
		})
	}
}
