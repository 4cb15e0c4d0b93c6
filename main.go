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
	"path/filepath"
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

// postName is the name the post step runs the binary under
// (runs.post-entrypoint in action.yml; the image links it to the binary).
const postName = "aws-assume-deploy-post"

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
	d := app.Deps{
		Getenv:           os.Getenv,
		Environ:          os.Environ,
		Inputs:           inputs,
		Stdout:           os.Stdout,
		ReadFile:         func(p string) ([]byte, error) { return gha.ReadFile(p, config.MaxFileSize) },
		Now:              time.Now,
		Sleep:            fault.Sleep,
		LoadAWSConfig:    loadAWSConfig,
		LoadDefaultChain: loadDefaultChain,
	}
	run := app.Run
	if filepath.Base(os.Args[0]) == postName {
		run = app.Post
	}
	err = run(ctx, d)
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
func loadAWSConfig(ctx context.Context, region string, hc aws.HTTPClient, c config.DefaultChain) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx, append(sharedFiles(c),
		awsconfig.WithRegion(region),
		awsconfig.WithLogger(logging.Nop{}),
		awsconfig.WithHTTPClient(hc),
		awsconfig.WithCredentialsProvider(aws.AnonymousCredentials{}),
		awsconfig.WithAppID("aws-assume-deploy_"+version.Version),
		awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled),
	)...)
}

// sharedFiles points the SDK at the shared files as this step sees them
// (config.DefaultChain: an earlier step's host path turned into the
// container's), else leaves the SDK's own choice.
func sharedFiles(c config.DefaultChain) []func(*awsconfig.LoadOptions) error {
	var opts []func(*awsconfig.LoadOptions) error
	if c.CredentialsFile != "" {
		opts = append(opts, awsconfig.WithSharedCredentialsFiles([]string{c.CredentialsFile}))
	}
	if c.ConfigFile != "" {
		opts = append(opts, awsconfig.WithSharedConfigFiles([]string{c.ConfigFile}))
	}
	return opts
}

// loadDefaultChain returns the SDK's own default credential chain, as
// configure-aws-credentials uses the JavaScript SDK's: environment, shared
// profile (AWS_PROFILE), web identity (IRSA), container credentials (ECS,
// EKS Pod Identity), then IMDSv2, which honours AWS_EC2_METADATA_DISABLED and
// AWS_EC2_METADATA_SERVICE_ENDPOINT. The SDK reads the process environment, so
// this lives in main; unset-current-credentials takes the keys out of it
// first, as configure-aws-credentials does.
func loadDefaultChain(ctx context.Context, region string, hc aws.HTTPClient, c config.DefaultChain) (aws.CredentialsProvider, error) {
	if c.IgnoreEnvKeys {
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN"} {
			os.Unsetenv(k)
		}
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, append(sharedFiles(c),
		awsconfig.WithRegion(region),
		awsconfig.WithLogger(logging.Nop{}),
		awsconfig.WithHTTPClient(hc),
		awsconfig.WithAppID("aws-assume-deploy_"+version.Version),
	)...)
	if err != nil {
		return nil, err
	}
	return cfg.Credentials, nil
}
