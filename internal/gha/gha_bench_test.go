package gha_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
)

// credentialPairs is what the action writes to GITHUB_ENV after assuming a role.
var credentialPairs = []gha.KV{
	{Key: "AWS_ACCESS_KEY_ID", Value: "ASIAIOSFODNN7EXAMPLE"},
	{Key: "AWS_SECRET_ACCESS_KEY", Value: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
	{Key: "AWS_SESSION_TOKEN", Value: strings.Repeat("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ", 16)},
	{Key: "AWS_REGION", Value: "ap-northeast-1"},
	{Key: "AWS_DEFAULT_REGION", Value: "ap-northeast-1"},
}

// BenchmarkWriteEnv is the safe writer's whole path for one export: a fresh
// random delimiter per pair, the checks, and one O_APPEND|O_NOFOLLOW write.
func BenchmarkWriteEnv(b *testing.B) {
	p := filepath.Join(b.TempDir(), "set_env")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := (gha.FileWriter{}).WriteEnv(p, credentialPairs); err != nil {
			b.Fatal(err)
		}
		if n++; n%1000 == 0 { // keep the file small
			if err := os.Truncate(p, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkNeutralize runs on every line of untrusted text the action prints
// (AWS error messages, stack events).
func BenchmarkNeutralize(b *testing.B) {
	cases := []struct{ name, line string }{
		{"plain_event", "2026-01-02T03:04:05Z  UPDATE_IN_PROGRESS  AWS::S3::Bucket  Bucket  Resource creation Initiated"},
		{"command_injection", "::add-mask::x ##[set-env name=A]B ::stop-commands::token"},
		{"control_chars", "reason\twith\x1b[31mcolour\x00and\u2028separators\u0085end"},
		{"long_reason", strings.Repeat("Resource handler returned message: \"Access Denied\" (Service: S3, Status Code: 403) ", 8)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.line)))
			for b.Loop() {
				_ = gha.Neutralize(tc.line)
			}
		})
	}
}

// BenchmarkLogInfof is one progress line through the masking log: format,
// split, neutralise and write through go-githubactions.
func BenchmarkLogInfof(b *testing.B) {
	log := gha.NewLog(io.Discard)
	for _, kv := range credentialPairs[:3] {
		log.Mask(kv.Value)
	}
	b.ReportAllocs()
	for b.Loop() {
		log.Infof("%s  %s  %s  %s", "UPDATE_IN_PROGRESS", "AWS::S3::Bucket", "Bucket", "Resource creation Initiated")
	}
}
