package fakecfn_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// A stack created through a change set, with scripted timing on a manual clock.
func Example() {
	clock := fakecore.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	fake := fakecfn.NewCloudFormation(func(o *fakecfn.Options) {
		o.Now = clock.Now
		o.Script = fakecfn.Script{StackOperationDelay: 20 * time.Second}
	})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client := cloudformation.New(cloudformation.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	ctx := context.Background()

	cs, _ := client.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String("app"), ChangeSetName: aws.String("deploy-1"), ChangeSetType: types.ChangeSetTypeCreate,
		TemplateBody: aws.String("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"),
		RoleARN:      aws.String("arn:aws:iam::123456789012:role/cfn"),
	})
	_, _ = client.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: cs.Id})
	clock.Advance(20 * time.Second)

	out, _ := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("app")})
	fmt.Println(out.Stacks[0].StackStatus)
	fmt.Println(fake.CallsTo("cloudformation", "CreateChangeSet")[0].Param("RoleARN"))
	fmt.Println(fake.TerminalAt("app").Format(time.RFC3339))
	// Output:
	// CREATE_COMPLETE
	// arn:aws:iam::123456789012:role/cfn
	// 2025-01-01T00:00:20Z
}
