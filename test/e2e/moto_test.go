package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
)

// startMoto runs moto, the AWS emulator in the image's Python, as an
// independent second implementation of STS and CloudFormation.
func startMoto(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("short mode")
	}
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		t.Skip("moto is not installed in python3 (the CI image has it)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return url
		}
	}
	t.Fatalf("moto did not start within 30 s:\n%s", logs.String())
	return ""
}

func TestMoto_both_credential_modes(t *testing.T) {
	t.Parallel()
	moto := startMoto(t)
	oidc := newFake(t, fakeaws.Options{}) // only its GitHub OIDC endpoint is used

	t.Run("stored_keys", func(t *testing.T) {
		j := newJob(t, nil)
		j.Env["AWS_ENDPOINT_URL"] = moto
		r := j.Run(keysInput(nil)).MustSucceed(t)
		wantEnvKeys(t, r.Env)
		if !strings.Contains(r.Outputs["authenticated-arn"], ":assumed-role/"+deployRole+"/") {
			t.Errorf("outputs = %v", r.Outputs)
		}
	})
	t.Run("oidc", func(t *testing.T) {
		j := newJob(t, nil).OIDC(oidc)
		j.Env["AWS_ENDPOINT_URL"] = moto
		r := j.Run(oidcInput(nil)).MustSucceed(t)
		wantEnvKeys(t, r.Env)
		// The token came from GitHub's (fake) endpoint; moto did the STS part.
		if n := oidc.Count("oidc", fakeaws.ActionOIDCToken); n != 1 {
			t.Errorf("OIDC token requests = %d, want 1", n)
		}
		if n := oidc.Count("sts", ""); n != 0 {
			t.Errorf("%d STS calls reached the fake instead of moto", n)
		}
	})
}

func TestMoto_deploy_create_update_noop(t *testing.T) {
	t.Parallel()
	moto := startMoto(t)
	j := newJob(t, nil)
	j.Env["AWS_ENDPOINT_URL"] = moto
	j.Write("infra/app.yaml", appTemplate)

	r := j.Run(deployInput(nil)).MustSucceed(t)
	if r.Outputs["stack-status"] != "CREATE_COMPLETE" {
		t.Fatalf("create: outputs = %v", r.Outputs)
	}
	j2 := newJobIn(t, nil, j)
	j2.Env["AWS_ENDPOINT_URL"] = moto
	r = j2.Run(deployInput(map[string]string{"parameter-overrides": "Env=prod,ImageTag=v2"})).MustSucceed(t)
	if r.Outputs["stack-status"] != "UPDATE_COMPLETE" {
		t.Fatalf("update: outputs = %v", r.Outputs)
	}
	j3 := newJobIn(t, nil, j)
	j3.Env["AWS_ENDPOINT_URL"] = moto
	r = j3.Run(deployInput(map[string]string{"parameter-overrides": "Env=prod,ImageTag=v2"})).MustSucceed(t)
	if r.Outputs["has-changes"] != "false" {
		t.Errorf("no-op: outputs = %v", r.Outputs)
	}
}
