package main

import (
	"context"
	"slices"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/logging"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
)

// The SDK's wire log would print signatures, session tokens and the JWT; its
// logger writes response headers to stderr, where the runner reads commands.
func TestLoadAWSConfig_never_enables_wire_logging(t *testing.T) {
	t.Parallel()
	cfg, err := loadAWSConfig(context.Background(), "us-east-1", awshttp.NewBuildableClient(), config.DefaultChain{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientLogMode != 0 {
		t.Errorf("ClientLogMode = %v, want 0", cfg.ClientLogMode)
	}
	if _, ok := cfg.Logger.(logging.Nop); !ok {
		t.Errorf("Logger = %T, want logging.Nop", cfg.Logger)
	}
	if cfg.Region != "us-east-1" {
		t.Errorf("region = %q", cfg.Region)
	}
}

// The inputs main accepts are the ones the embedded action.yml declares.
func TestEmbeddedActionYML_declares_the_inputs(t *testing.T) {
	t.Parallel()
	names, err := config.ParseActionInputs(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"aws-region", "stack-name", "name", "no-execute-changeset", "mode", "execute-change-set-id"} {
		if !slices.Contains(names, want) {
			t.Errorf("embedded action.yml lacks input %s: %v", want, names)
		}
	}
}
