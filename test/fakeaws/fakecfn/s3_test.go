package fakecfn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

func (e *env) s3Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.s3URL),
		UsePathStyle: true,
		HTTPClient:   e.s3HTTP,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
}

func TestS3UploadThenTemplateURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s3c := e.s3Client()
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("deploy-bucket"), Key: aws.String("prefix/app.yaml"),
		// A non-seekable body makes the SDK stream with a trailing checksum.
		Body: struct{ io.Reader }{strings.NewReader(appTemplate)}, ContentLength: aws.Int64(int64(len(appTemplate))),
		ContentType: aws.String("text/yaml"), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32,
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	got, ok := e.s3.Object("deploy-bucket", "prefix/app.yaml")
	if !ok || string(got) != appTemplate {
		t.Fatalf("stored object = %q (found %v), want the template", got, ok)
	}
	puts := e.s3.Puts()
	if len(puts) != 1 || puts[0].Size != len(appTemplate) || puts[0].ContentType != "text/yaml" {
		t.Errorf("recorded puts = %+v", puts)
	}
	if len(puts) == 1 && !puts[0].Chunked {
		t.Errorf("SDK PutObject over HTTPS was not aws-chunked; the decoder went untested")
	}

	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("deploy-bucket"), Key: aws.String("prefix/app.yaml")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(appTemplate)) {
		t.Errorf("HeadObject = %+v, %v", head, err)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("deploy-bucket"), Key: aws.String("prefix/app.yaml")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(body) != appTemplate {
		t.Errorf("GetObject body differs")
	}
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("deploy-bucket"), Key: aws.String("missing")}); err == nil {
		t.Errorf("HeadObject of a missing key succeeded")
	}

	for i, u := range []string{
		e.s3URL + "/deploy-bucket/prefix/app.yaml",
		"https://deploy-bucket.s3.amazonaws.com/prefix/app.yaml",
		"https://s3.eu-west-1.amazonaws.com/deploy-bucket/prefix/app.yaml",
		"https://deploy-bucket.s3.us-east-1.amazonaws.com/prefix/app.yaml",
	} {
		name := []string{"a", "b", "c", "d"}[i]
		cs, err := e.cfn.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
			StackName: aws.String("stack-" + name), ChangeSetName: aws.String("cs"), ChangeSetType: types.ChangeSetTypeCreate,
			TemplateURL: aws.String(u), Parameters: []types.Parameter{param("Env", "prod")},
		})
		if err != nil {
			t.Errorf("CreateChangeSet with TemplateURL %s: %v", u, err)
			continue
		}
		if d := e.describeChangeSet(t, aws.ToString(cs.Id)); len(d.Changes) != 2 {
			t.Errorf("TemplateURL %s: %d changes, want 2", u, len(d.Changes))
		}
	}
	_, err = e.cfn.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String("missing"), ChangeSetName: aws.String("cs"), ChangeSetType: types.ChangeSetTypeCreate,
		TemplateURL: aws.String("https://deploy-bucket.s3.amazonaws.com/nope.yaml"),
	})
	if code, _ := apiCode(err); code != "ValidationError" {
		t.Errorf("missing TemplateURL object: %v, want ValidationError", err)
	}
}

func TestS3VirtualHostedChunkedPut(t *testing.T) {
	t.Parallel()
	store := NewS3()
	payload := "hello, chunked world"
	// Streaming SigV4 framing with a trailing checksum, as SDKs send it.
	body := "d;chunk-signature=abc\r\n" + payload[:13] + "\r\n" +
		"7;chunk-signature=def\r\n" + payload[13:] + "\r\n" +
		"0;chunk-signature=ghi\r\n" + "x-amz-checksum-sha256:" + sha256B64(payload) + "\r\n\r\n"
	req := httptest.NewRequest(http.MethodPut, "http://bucket-1.s3.us-east-1.amazonaws.com/dir/key%20with%20space.txt", strings.NewReader(body))
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", "20")
	req.Header.Set(fakecore.HeaderCallerARN, "arn:aws:sts::123456789012:assumed-role/deploy/s")
	rec := httptest.NewRecorder()
	store.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT status %d: %s", rec.Code, rec.Body)
	}
	got, ok := store.Object("bucket-1", "dir/key with space.txt")
	if !ok || string(got) != payload {
		t.Errorf("object = %q (found %v), want %q", got, ok, payload)
	}
	want := []S3Put{{Bucket: "bucket-1", Key: "dir/key with space.txt", Size: 20, CallerARN: "arn:aws:sts::123456789012:assumed-role/deploy/s", Chunked: true}}
	if diff := cmp.Diff(want, store.Puts(), cmpopts.IgnoreFields(S3Put{}, "Time")); diff != "" {
		t.Errorf("puts (-want +got):\n%s", diff)
	}

	for name, body := range map[string]string{
		"malformed":    "zz\r\nxx",
		"bad_checksum": "2\r\nhi\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
	} {
		bad := httptest.NewRequest(http.MethodPut, "http://127.0.0.1/b/"+name, strings.NewReader(body))
		bad.Header.Set("Content-Encoding", "aws-chunked")
		rec = httptest.NewRecorder()
		store.ServeHTTP(rec, bad)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s chunked body: status %d, want 400", name, rec.Code)
		}
	}
	if len(store.Puts()) != 1 {
		t.Errorf("rejected puts were stored: %+v", store.Puts())
	}
}

func TestSplitS3(t *testing.T) {
	t.Parallel()
	tests := []struct{ host, path, bucket, key string }{
		{"b.s3.amazonaws.com", "/k/x", "b", "k/x"},
		{"b.s3.eu-west-1.amazonaws.com", "/k", "b", "k"},
		{"b.s3-eu-west-1.amazonaws.com", "/k", "b", "k"},
		{"s3.amazonaws.com", "/b/k", "b", "k"},
		{"s3.us-east-1.amazonaws.com", "/b/k/y", "b", "k/y"},
		{"127.0.0.1:4566", "/b/k", "b", "k"},
		{"b.localhost:4566", "/k", "b", "k"},
	}
	for _, tc := range tests {
		b, k := splitS3(tc.host, tc.path)
		if b != tc.bucket || k != tc.key {
			t.Errorf("splitS3(%q, %q) = %q, %q; want %q, %q", tc.host, tc.path, b, k, tc.bucket, tc.key)
		}
	}
}

// TestWireFormat checks the raw query-protocol answers and the router headers.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	fake := NewCloudFormation()
	post := func(form url.Values, hdr map[string]string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	code, body := post(url.Values{"Action": {"DescribeStacks"}, "Version": {"2010-05-15"}, "StackName": {"x"}}, nil)
	wantErr := `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id x does not exist</Message></Error><RequestId>`
	if code != http.StatusBadRequest || !strings.HasPrefix(body, wantErr) {
		t.Errorf("missing stack: %d %s", code, body)
	}
	caller := "arn:aws:sts::210987654321:assumed-role/deployer/run-1"
	code, body = post(url.Values{
		"Action": {"CreateChangeSet"}, "Version": {"2010-05-15"}, "StackName": {"s"}, "ChangeSetName": {"c"},
		"ChangeSetType": {"CREATE"}, "TemplateBody": {`{"Resources":{"T":{"Type":"AWS::SNS::Topic"}}}`},
	}, map[string]string{fakecore.HeaderCallerARN: caller, fakecore.HeaderAccount: "210987654321"})
	if code != http.StatusOK || !strings.HasPrefix(body, `<CreateChangeSetResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><CreateChangeSetResult><Id>arn:aws:cloudformation:us-east-1:210987654321:changeSet/c/`) {
		t.Errorf("CreateChangeSet: %d %s", code, body)
	}
	code, body = post(url.Values{"Action": {"DeleteStack"}, "StackName": {"s"}}, nil)
	if code != http.StatusOK || !bytes.HasPrefix([]byte(body), []byte(`<DeleteStackResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><ResponseMetadata>`)) {
		t.Errorf("DeleteStack: %d %s", code, body)
	}
	code, _ = post(url.Values{"Action": {"Frobnicate"}}, nil)
	if code != http.StatusBadRequest {
		t.Errorf("unknown action: %d, want 400", code)
	}
	calls := fake.Calls()
	got := []string{calls[0].CallerARN, calls[1].CallerARN, calls[1].Account, calls[3].ErrorCode}
	want := []string{AnonymousCaller, caller, "210987654321", "InvalidAction"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded callers (-want +got):\n%s", diff)
	}
}

func sha256B64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestS3ExpectedBucketOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.s3.SetBucketOwner("theirs", "210987654321")
	ctx := context.Background()
	tests := []struct {
		name, bucket, owner string
		wantCode            string
	}{
		{name: "no_expectation", bucket: "theirs"},
		{name: "default_owner_matches", bucket: "ours", owner: fakecore.DefaultAccountID},
		{name: "configured_owner_matches", bucket: "theirs", owner: "210987654321"},
		{name: "default_owner_differs", bucket: "ours", owner: "210987654321", wantCode: "AccessDenied"},
		{name: "configured_owner_differs", bucket: "theirs", owner: fakecore.DefaultAccountID, wantCode: "AccessDenied"},
	}
	for _, tc := range tests {
		in := &s3.PutObjectInput{Bucket: aws.String(tc.bucket), Key: aws.String(tc.name), Body: strings.NewReader("x")}
		if tc.owner != "" {
			in.ExpectedBucketOwner = aws.String(tc.owner)
		}
		_, err := e.s3Client().PutObject(ctx, in)
		var ae smithy.APIError
		var re *awshttp.ResponseError
		switch {
		case tc.wantCode == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantCode != "" && (!errors.As(err, &ae) || ae.ErrorCode() != tc.wantCode || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden):
			t.Errorf("%s: %v, want 403 %s", tc.name, err, tc.wantCode)
		}
		if _, stored := e.s3.Object(tc.bucket, tc.name); stored != (tc.wantCode == "") {
			t.Errorf("%s: stored = %v", tc.name, stored)
		}
	}
	puts := e.s3.CallsTo("s3", "PutObject")
	if len(puts) != len(tests) || puts[3].ErrorCode != "AccessDenied" || puts[3].Status != http.StatusForbidden {
		t.Errorf("recorded puts = %+v", puts)
	}
}

func TestS3FirstCallerOwnsTheBucket(t *testing.T) {
	t.Parallel()
	store := NewS3()
	put := func(account, expected string) int {
		req := httptest.NewRequest(http.MethodPut, "http://127.0.0.1/claimed/k", strings.NewReader("x"))
		req.Header.Set(fakecore.HeaderAccount, account)
		req.Header.Set("X-Amz-Expected-Bucket-Owner", expected)
		rec := httptest.NewRecorder()
		store.ServeHTTP(rec, req)
		return rec.Code
	}
	got := []int{put("210987654321", "210987654321"), put(fakecore.DefaultAccountID, "210987654321"), put(fakecore.DefaultAccountID, fakecore.DefaultAccountID)}
	if diff := cmp.Diff([]int{200, 200, 403}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}
