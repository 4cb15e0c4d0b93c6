// Command aws-assume-deploy is a Docker GitHub Action: it assumes a
// least-privilege deploy role (GitHub OIDC or an assume-only IAM user), masks
// and exports the temporary credentials, and optionally deploys a
// CloudFormation stack through a change set and a service role.
package main

import (
	"context"
	_ "embed"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/app"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/version"
)

func main() {
	// The runner sends SIGTERM (then SIGKILL) when the job is cancelled.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(realMain(ctx))
}

// actionYML is the action's metadata: the inputs it declares are the only
// ones the action accepts.
//
//go:embed action.yml
var actionYML []byte

func realMain(ctx context.Context) int {
	inputs, err := config.ParseActionInputs(actionYML)
	if err != nil {
		gha.NewLog(os.Stdout).Errorf("internal error: %v", err)
		return 1
	}
	err = app.Run(ctx, app.Deps{
		Getenv:        os.Getenv,
		Environ:       os.Environ,
		Inputs:        inputs,
		Stdout:        os.Stdout,
		ReadFile:      func(p string) ([]byte, error) { return gha.ReadFile(p, config.MaxFileSize) },
		Now:           time.Now,
		Sleep:         fault.Sleep,
		LoadAWSConfig: loadAWSConfig,
	})
	if err != nil {
		// Secrets were masked on stdout before any call; the error goes
		// there too, as one annotation.
		gha.NewLog(os.Stdout).Errorf("%v", err)
		return 1
	}
	return 0
}

// loadAWSConfig reads the SDK's standard configuration (AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_STS, ..., shared config) with explicit region and HTTP
// client. Credentials are always set per client, never from the chain. The
// SDK's logger writes nothing: it prints response headers and retry notes
// to stderr, which the runner scans for workflow commands too.
func loadAWSConfig(ctx context.Context, region string, hc aws.HTTPClient) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(region),
		awsconfig.WithLogger(logging.Nop{}),
		awsconfig.WithHTTPClient(hc),
		awsconfig.WithCredentialsProvider(aws.AnonymousCredentials{}),
		awsconfig.WithAppID("aws-assume-deploy_"+version.Version),
		awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled),
	)
}
