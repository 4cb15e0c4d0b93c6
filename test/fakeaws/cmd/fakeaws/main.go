// Command fakeaws serves the fake STS and GitHub OIDC endpoint on 127.0.0.1
// for humans and benchmarks, seeded with one IAM user and one deploy role
// that trusts both that user and GitHub OIDC.
//
//	go run ./test/fakeaws/cmd/fakeaws -port 4566
//
// It prints the environment for the action as KEY=VALUE lines and runs until
// SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakeaws:", err)
		os.Exit(1)
	}
}

// run starts the server, prints the environment and blocks until ctx ends.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fakeaws", flag.ContinueOnError)
	port := fs.Int("port", 0, "port on 127.0.0.1 (0 picks a free one)")
	account := fs.String("account", fakeaws.DefaultAccountID, "account id")
	region := fs.String("region", fakeaws.DefaultRegion, "region")
	userName := fs.String("user", "ci", "seeded IAM user")
	keyID := fs.String("access-key-id", "AKIAFAKEFAKEFAKE0001", "the seeded user's access key id")
	secret := fs.String("secret-access-key", "fakeSecretKeyForLocalTestingOnly00000000", "the seeded user's secret key (a fake)")
	role := fs.String("role", "deploy", "seeded role name")
	audience := fs.String("audience", "sts.amazonaws.com", "audience the role trusts")
	sub := fs.String("sub", "repo:octo-org/octo-repo:*", "sub pattern (StringLike) the role trusts")
	seed := fs.Uint64("seed", 1, "seed for issued identifiers and secrets")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *port < 0 || *port > 65535 {
		return fmt.Errorf("port %d is out of range", *port)
	}

	srv, err := fakeaws.Start(func(o *fakeaws.Options) {
		o.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
		o.AccountID, o.Region, o.Seed = *account, *region, *seed
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.AddUser(*userName, *keyID, *secret)
	srv.AddRole(fakeaws.Role{
		Name:               *role,
		MaxSessionDuration: 12 * time.Hour,
		TrustedUsers:       []string{*userName},
		AllowTagSession:    true,
		Audience:           *audience,
		SubPatterns:        []string{*sub},
	})

	// The seeded key is a fake chosen on the command line; printing it is
	// what makes the server usable by hand.
	fmt.Fprintf(out, "AWS_ENDPOINT_URL=%s\n", srv.URL())
	fmt.Fprintf(out, "AWS_REGION=%s\n", *region)
	fmt.Fprintf(out, "AWS_ACCESS_KEY_ID=%s\n", *keyID)
	fmt.Fprintf(out, "AWS_SECRET_ACCESS_KEY=%s\n", *secret)
	fmt.Fprintf(out, "ACTIONS_ID_TOKEN_REQUEST_URL=%s\n", srv.OIDCRequestURL())
	fmt.Fprintf(out, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=%s\n", srv.OIDCRequestToken())
	fmt.Fprintf(out, "ROLE_TO_ASSUME=%s\n", srv.RoleARN(*role))

	<-ctx.Done()
	return nil
}
