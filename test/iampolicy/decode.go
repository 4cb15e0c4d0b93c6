package iampolicy

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/cfnyaml"
)

// DecodeTemplate reads a CloudFormation template (YAML or JSON) into its JSON
// form, short tags as their long Fn:: forms. It refuses duplicate keys, which
// plain YAML loaders merge silently (a second StringEquals block can drop the
// sub condition).
func DecodeTemplate(path string) (map[string]any, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	js, err := cfnyaml.ToJSON(body)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	var template map[string]any
	if err := json.Unmarshal(js, &template); err != nil {
		return nil, fmt.Errorf("decoding %s: the template is not a mapping: %w", path, err)
	}
	return template, nil
}
