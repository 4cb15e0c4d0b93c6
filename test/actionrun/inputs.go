package actionrun

import (
	"slices"
	"strings"
)

// InputVar is the environment variable the runner passes input name in:
// INPUT_ and the name upper-cased, with spaces turned into underscores and
// hyphens kept (actions/runner Handler.cs AddInputsToEnvironment:
// "INPUT_" + key.Replace(' ', '_').ToUpperInvariant()). It is the one copy of
// that rule in the repository; every harness encodes inputs through it.
func InputVar(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// InputEnv is inputs as NAME=value environment entries, sorted so that a
// run's environment does not depend on map order.
func InputEnv(inputs map[string]string) []string {
	out := make([]string, 0, len(inputs))
	for name, v := range inputs {
		out = append(out, InputVar(name)+"="+v)
	}
	slices.Sort(out)
	return out
}
