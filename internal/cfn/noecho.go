package cfn

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// noEchoParameters returns the names of the parameters the template body
// declares with NoEcho: true, sorted. Their values must never appear in a
// change table. It returns nil when the body cannot be read that far; the
// deploy then still learns the NoEcho names from the change set, whose
// parameter values AWS shows as asterisks.
func noEchoParameters(body []byte) []string {
	var names []string
	add := func(name string, noEcho string) {
		if strings.EqualFold(strings.TrimSpace(noEcho), "true") {
			names = append(names, name)
		}
	}
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
		var doc struct {
			Parameters map[string]struct {
				NoEcho json.RawMessage
			}
		}
		if json.Unmarshal(t, &doc) != nil {
			return nil
		}
		for name, p := range doc.Parameters {
			add(name, strings.Trim(string(p.NoEcho), `"`))
		}
	} else {
		var doc yaml.Node
		if yaml.Unmarshal(body, &doc) != nil || len(doc.Content) == 0 {
			return nil
		}
		params := mappingValue(doc.Content[0], "Parameters")
		if params == nil || params.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(params.Content); i += 2 {
			if v := mappingValue(params.Content[i+1], "NoEcho"); v != nil && v.Kind == yaml.ScalarNode {
				add(params.Content[i].Value, v.Value)
			}
		}
	}
	slices.Sort(names)
	return names
}

// mappingValue returns the value of key in a YAML mapping, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolveAlias(n.Content[i+1])
		}
	}
	return nil
}
