package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// ParseActionInputs returns the input names action.yml declares, in file
// order. main embeds action.yml and passes these names to Load, so the
// inputs the action accepts and the ones it documents cannot drift apart.
func ParseActionInputs(actionYML []byte) ([]string, error) {
	var doc struct {
		Inputs yaml.Node `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(actionYML, &doc); err != nil {
		return nil, fmt.Errorf("parsing action.yml: %w", err)
	}
	if doc.Inputs.Kind != yaml.MappingNode || len(doc.Inputs.Content) == 0 {
		return nil, errors.New("parsing action.yml: no inputs mapping")
	}
	var names []string
	for i := 0; i < len(doc.Inputs.Content); i += 2 {
		names = append(names, doc.Inputs.Content[i].Value)
	}
	return names, nil
}

// runnerInputs are the inputs the runner accepts for every Docker action
// (the entrypoint and arguments of actions without action.yml).
var runnerInputs = []string{"ENTRYPOINT", "ARGS"}

// inputEnvName is the runner's encoding of an input name in the step's
// environment, without the INPUT_ prefix: upper case, spaces as underscores,
// hyphens kept.
func inputEnvName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// checkUnknownInputs refuses every INPUT_ variable that action.yml does not
// declare. The runner hands a Docker action every `with:` key, declared or
// not, and only warns about the rest; a misspelt or leftover input (say
// no-execute-changeset from aws-cloudformation-github-deploy) would
// otherwise be silently ignored, and a change set meant for review executed.
// Values are never shown: they may be secrets.
func (l *loader) checkUnknownInputs() {
	if len(l.o.Declared) == 0 {
		return
	}
	known := map[string]bool{}
	for _, n := range l.o.Declared {
		known[inputEnvName(n)] = true
	}
	for _, n := range runnerInputs {
		known[n] = true
	}
	var unknown []string
	for _, kv := range l.o.Environ {
		key, _, _ := strings.Cut(kv, "=")
		name, ok := strings.CutPrefix(key, "INPUT_")
		if ok && !known[name] {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range slices.Compact(unknown) {
		shown := strings.ToLower(name)
		hint := "check the name against the action's inputs (README, action.yml)"
		if c := closest(shown, l.o.Declared); c != "" {
			hint = "did you mean " + c + "?"
		}
		l.p.add(shown, "is not an input of this action (INPUT_%s); the runner passes it anyway and it would be silently ignored, so the step stops here: %s Fix the name or remove it", name, hint)
	}
}

// closest returns the declared name nearest to name, or "" when none is
// near enough to be a likely typo.
func closest(name string, declared []string) string {
	norm := strings.ReplaceAll(name, "_", "-")
	best, bestD := "", -1
	for _, d := range declared {
		dist := editDistance(norm, d)
		if bestD < 0 || dist < bestD {
			best, bestD = d, dist
		}
	}
	if bestD < 0 || bestD > max(2, len(norm)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of two ASCII-ish strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
