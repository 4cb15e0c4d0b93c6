package fakecfn

import (
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/cfn"
)

// The deployer reaches CloudFormation and S3 through these interfaces; the
// SDK clients the tests point at the fakes must keep satisfying them, so the
// fakes' tests exercise the calls the product makes.
var (
	_ cfn.API      = (*cloudformation.Client)(nil)
	_ cfn.Uploader = (*s3.Client)(nil)
)
