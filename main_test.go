package main

import (
	"context"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
)

// The SDK's wire log would print signatures, session tokens and the JWT.
func TestLoadAWSConfig_never_enables_wire_logging(t *testing.T) {
	t.Parallel()
	cfg, err := loadAWSConfig(context.Background(), &config.Config{Region: "us-east-1"}, awshttp.NewBuildableClient())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientLogMode != 0 {
		t.Errorf("ClientLogMode = %v, want 0", cfg.ClientLogMode)
	}
	if cfg.Region != "us-east-1" {
		t.Errorf("region = %q", cfg.Region)
	}
}
