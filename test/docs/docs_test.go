// Package docs checks that the documentation cannot drift from action.yml.
package docs

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// field is one input or output as action.yml declares it.
type field struct {
	Name, Default, Description string
	Required                   bool
}

// parseAction reads the inputs and outputs of action.yml. The file is plain
// enough (two-space keys, one-line scalars) that a line reader suffices.
func parseAction(t *testing.T) (inputs, outputs []field) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var section *[]field
	key := regexp.MustCompile(`^  ([a-z0-9-]+):\s*$`)
	prop := regexp.MustCompile(`^    (description|default|required):\s*(.*)$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "inputs:":
			section = &inputs
		case line == "outputs:":
			section = &outputs
		case len(line) > 0 && line[0] != ' ' && line[0] != '#':
			section = nil
		case section == nil:
		case key.MatchString(line):
			*section = append(*section, field{Name: key.FindStringSubmatch(line)[1]})
		case prop.MatchString(line) && len(*section) > 0:
			m := prop.FindStringSubmatch(line)
			cur := &(*section)[len(*section)-1]
			v := strings.Trim(strings.TrimSpace(m[2]), `"`)
			switch m[1] {
			case "description":
				cur.Description = v
			case "default":
				cur.Default = v
			case "required":
				cur.Required = v == "true"
			}
		}
	}
	if len(inputs) == 0 || len(outputs) == 0 {
		t.Fatalf("parsed %d inputs and %d outputs from action.yml", len(inputs), len(outputs))
	}
	return inputs, outputs
}

// table returns the rows between the begin and end markers of a README table.
func table(t *testing.T, readme, name string) [][]string {
	t.Helper()
	begin := strings.Index(readme, "<!-- "+name+":begin")
	end := strings.Index(readme, "<!-- "+name+":end -->")
	if begin < 0 || end < begin {
		t.Fatalf("README has no %s table markers", name)
	}
	var rows [][]string
	for _, line := range strings.Split(readme[begin:end], "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

func TestREADME_tables_match_action_yml(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	inputs, outputs := parseAction(t)
	var want, got [][]string
	for _, in := range inputs {
		def := ""
		switch {
		case in.Required:
			def = "**required**"
		case in.Default != "":
			def = "`" + in.Default + "`"
		}
		want = append(want, []string{"`" + in.Name + "`", def, strings.ReplaceAll(in.Description, "|", `\|`)})
	}
	got = table(t, readme, "inputs")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("README inputs table drifted from action.yml (-action.yml +README):\n%s", d)
	}
	want = nil
	for _, out := range outputs {
		want = append(want, []string{"`" + out.Name + "`", out.Description})
	}
	if d := cmp.Diff(want, table(t, readme, "outputs")); d != "" {
		t.Errorf("README outputs table drifted from action.yml (-action.yml +README):\n%s", d)
	}
}

// Every input the action reads must be declared, and every declared input read.
func TestAction_yml_declares_exactly_the_inputs_the_code_reads(t *testing.T) {
	t.Parallel()
	inputs, _ := parseAction(t)
	declared := map[string]bool{}
	for _, in := range inputs {
		declared[in.Name] = true
	}
	read := map[string]bool{}
	// either and flag read an input and its aws-cloudformation-github-deploy
	// alias: either("stack-name", "name").
	re := regexp.MustCompile(`(?:get|in|GetInput|boolean|either|flag)\("([a-z0-9-]+)"(?:, "([a-z0-9-]+)")?`)
	for _, dir := range []string{"internal/config", "internal/app"} {
		files, _ := filepath.Glob(filepath.Join("..", "..", dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				read[m[1]] = true
				if m[2] != "" {
					read[m[2]] = true
				}
			}
		}
	}
	for name := range read {
		if !declared[name] {
			t.Errorf("the code reads input %q, which action.yml does not declare", name)
		}
	}
	for name := range declared {
		if !read[name] {
			t.Errorf("action.yml declares input %q, which the code never reads", name)
		}
	}
}
