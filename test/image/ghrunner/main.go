// Command ghrunner does the GitHub runner's side of the Docker-action contract
// for test/image/run.sh: it turns action.yml inputs into the INPUT_* variables
// the runner passes, and reads back the file commands (GITHUB_ENV,
// GITHUB_OUTPUT, GITHUB_STATE) with the runner's own parsing rules.
//
//	ghrunner inputs ACTION_YML [name=value ...]  every declared input as INPUT_<NAME>=value, NUL-terminated
//	ghrunner get FILE NAME                         the value the runner would set for NAME (last one wins)
//	ghrunner keys FILE                             the names set by FILE, one a line, in file order
//	ghrunner oidc LOG                              serve GitHub's ID-token endpoint (test/fakeaws's) on 127.0.0.1
//	                                               until killed; prints its request URL and bearer token, logs
//	                                               requests to LOG
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	yaml "go.yaml.in/yaml/v3"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerfile"
)

// errMissing is reported (exit status 3) when a file command does not set a name.
var errMissing = errors.New("not set")

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "ghrunner: %v\n", err)
		if errors.Is(err, errMissing) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: ghrunner inputs|get|keys ...")
	}
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "inputs" && len(rest) >= 1:
		return inputs(rest[0], rest[1:], stdout)
	case cmd == "get" && len(rest) == 2:
		pairs, err := parseFile(rest[0])
		if err != nil {
			return err
		}
		for i := len(pairs) - 1; i >= 0; i-- {
			if pairs[i].Key == rest[1] {
				_, err := io.WriteString(stdout, pairs[i].Value)
				return err
			}
		}
		return fmt.Errorf("%s in %s: %w", rest[1], rest[0], errMissing)
	case cmd == "oidc" && len(rest) == 1:
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serveOIDC(ctx, rest[0], stdout)
	case cmd == "keys" && len(rest) == 1:
		pairs, err := parseFile(rest[0])
		if err != nil {
			return err
		}
		for _, p := range pairs {
			fmt.Fprintln(stdout, p.Key)
		}
		return nil
	default:
		return fmt.Errorf("unknown command or wrong arguments: %q", args)
	}
}

func parseFile(path string) ([]runnerfile.KV, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pairs, err := runnerfile.Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("parsing %s as the runner would: %w", path, err)
	}
	return pairs, nil
}

// inputs prints what the runner's AddInputsToEnvironment passes to the
// container: every input declared in action.yml, with its default unless
// given, under the variable actionrun.InputVar names (the runner's rule).
// An input that action.yml does not declare is an error here; the runner only
// warns, but in a test it is a typo.
func inputs(actionYML string, given []string, stdout io.Writer) error {
	declared, err := declaredInputs(actionYML)
	if err != nil {
		return err
	}
	values := map[string]string{}
	var order []string
	for _, in := range declared {
		values[in.name] = in.def
		order = append(order, in.name)
	}
	for _, g := range given {
		name, value, ok := strings.Cut(g, "=")
		if !ok {
			return fmt.Errorf("input %q: want name=value", g)
		}
		if _, ok := values[name]; !ok {
			return fmt.Errorf("input %q is not declared in %s", name, actionYML)
		}
		values[name] = value
	}
	w := bufio.NewWriter(stdout)
	for _, name := range order {
		fmt.Fprintf(w, "%s=%s\x00", actionrun.InputVar(name), values[name])
	}
	return w.Flush()
}

type input struct{ name, def string }

// declaredInputs reads the inputs of action.yml, in order, with their
// defaults, through the YAML library.
func declaredInputs(path string) ([]input, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Inputs yaml.Node `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	if doc.Inputs.Kind != yaml.MappingNode || len(doc.Inputs.Content) == 0 {
		return nil, fmt.Errorf("%s declares no inputs", path)
	}
	var out []input
	for i := 0; i+1 < len(doc.Inputs.Content); i += 2 {
		var meta struct {
			Default string `yaml:"default"`
		}
		if err := doc.Inputs.Content[i+1].Decode(&meta); err != nil {
			return nil, fmt.Errorf("%s: input %s: %w", path, doc.Inputs.Content[i].Value, err)
		}
		out = append(out, input{name: doc.Inputs.Content[i].Value, def: meta.Default})
	}
	return out, nil
}

// oidcRequest is one line of the request log: what the action asked for,
// never the bearer token it sent.
type oidcRequest struct {
	Method     string `json:"method"`
	Audience   string `json:"audience"`
	APIVersion string `json:"api_version"`
	BearerOK   bool   `json:"bearer_ok"`
	Status     int    `json:"status"`
}

// serveOIDC stands in for the runner's ACTIONS_ID_TOKEN_REQUEST_URL with the
// fake GitHub OIDC endpoint of test/fakeaws: GET with "Authorization: Bearer
// <ACTIONS_ID_TOKEN_REQUEST_TOKEN>" and &audience= answers {"value": "<JWT>"}.
// moto does not verify the JWT. It prints two lines,
// ACTIONS_ID_TOKEN_REQUEST_URL=... and ACTIONS_ID_TOKEN_REQUEST_TOKEN=..., and
// serves until ctx ends.
func serveOIDC(ctx context.Context, logPath string, stdout io.Writer) error {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	srv, err := fakeaws.Start(func(o *fakeaws.Options) {
		o.OIDCRequestToken = hex.EncodeToString(secret)
		// This repository's claims; GitHub's default audience is the owner's URL.
		o.Claims = map[string]any{
			"aud":              "https://github.com/aws-assume-deploy",
			"repository":       "aws-assume-deploy/aws-assume-deploy",
			"repository_owner": "aws-assume-deploy",
		}
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	var mu sync.Mutex
	srv.Observe(func(c fakecore.Call) {
		if c.Service != "oidc" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		json.NewEncoder(logf).Encode(oidcRequest{ //nolint:errcheck // the log is best effort
			Method: c.Method, Audience: c.Param("audience"), APIVersion: c.Param("api-version"),
			BearerOK: c.Status != http.StatusUnauthorized, Status: c.Status,
		})
	})
	fmt.Fprintf(stdout, "ACTIONS_ID_TOKEN_REQUEST_URL=%s\n", srv.OIDCRequestURL())
	fmt.Fprintf(stdout, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=%s\n", srv.OIDCRequestToken())
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	<-ctx.Done()
	return nil
}
