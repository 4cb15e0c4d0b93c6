package iam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ErrNoDecoder means python3 or its cfnlint package is not installed.
var ErrNoDecoder = errors.New("python3 with cfn-lint is needed to decode CloudFormation YAML (pip install cfn-lint)")

// cfn-lint's decoder understands the short tags (!Sub, !If, ...) and refuses duplicate keys, which
// plain YAML loaders would silently merge (a second StringEquals block can drop the sub condition).
const decodeScript = `
import json, sys
try:
    from cfnlint.decode import decode
except ImportError:
    sys.exit(3)
template, matches = decode(sys.argv[1])
if matches or template is None:
    for m in matches:
        print(m, file=sys.stderr)
    sys.exit(2)
json.dump(template, sys.stdout)
`

// DecodeTemplate reads a CloudFormation template (YAML or JSON) into its JSON form with cfn-lint's
// decoder, run through python3.
func DecodeTemplate(ctx context.Context, path string) (map[string]any, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, ErrNoDecoder
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, py, "-c", decodeScript, path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 3 {
			return nil, ErrNoDecoder
		}
		return nil, fmt.Errorf("decoding %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	var template map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &template); err != nil {
		return nil, fmt.Errorf("decoding %s: reading the decoder's JSON: %w", path, err)
	}
	return template, nil
}
