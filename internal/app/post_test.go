package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPost_removes_recorded_profiles_unless_skipped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		skip     string
		wantKept bool
	}{
		{"removes", "", false},
		{"skip_cleanup_step", "true", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			creds, conf := filepath.Join(dir, "credentials"), filepath.Join(dir, "config")
			if err := os.WriteFile(creds, []byte("[ci]\naws_access_key_id = AKIAEXAMPLE\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(conf, []byte("[profile ci]\nregion = eu-west-1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			state, _ := json.Marshal([]writtenProfile{{Name: "ci", Credentials: creds, Config: conf}})
			env := map[string]string{"STATE_" + profilesState: string(state), "AWS_SKIP_CLEANUP_STEP": tc.skip}
			var out bytes.Buffer
			if err := Post(context.Background(), Deps{Getenv: func(k string) string { return env[k] }, Stdout: &out}); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(creds)
			if err != nil {
				t.Fatal(err)
			}
			if kept := strings.Contains(string(b), "[ci]"); kept != tc.wantKept {
				t.Errorf("profile kept = %v, want %v; credentials file:\n%s\nlog:\n%s", kept, tc.wantKept, b, out.String())
			}
		})
	}
}
