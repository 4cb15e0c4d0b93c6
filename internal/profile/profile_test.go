package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func files(t *testing.T) Files {
	t.Helper()
	dir := filepath.Join(t.TempDir(), ".aws")
	return Files{Credentials: filepath.Join(dir, "credentials"), Config: filepath.Join(dir, "config")}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Vectors of configure-aws-credentials v6.2.3 test/profileManager.test.ts
// "validateProfileName" (case names carry the CAC test name).
func TestValidateName_cac_vectors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, profile, want string
	}{
		{"profileManager_accepts_valid_profile_names_dev", "dev", ""},
		{"profileManager_accepts_valid_profile_names_production", "production", ""},
		{"profileManager_accepts_valid_profile_names_dashes_digits", "my-profile-123", ""},
		{"profileManager_accepts_valid_profile_names_default", "default", ""},
		{"profileManager_rejects_empty_profile_names", "", "must not be empty"},
		{"profileManager_rejects_empty_profile_names_blank", "   ", "must not be empty"},
		{"profileManager_rejects_profile_names_with_whitespace", "my profile", "whitespace"},
		{"profileManager_rejects_profile_names_with_whitespace_newline", "dev\ntest", "whitespace"},
		{"profileManager_rejects_profile_names_with_whitespace_tab", "prod\tenv", "whitespace"},
		{"profileManager_rejects_profile_names_with_brackets", "dev[test]", "brackets"},
		{"profileManager_rejects_profile_names_with_brackets_whole", "[profile]", "brackets"},
		{"profileManager_rejects_profile_names_with_path_separators", "dev/test", "path separators"},
		{"profileManager_rejects_profile_names_with_path_separators_backslash", `dev\test`, "path separators"},
		{"profileManager_rejects_profile_names_with_path_separators_traversal", "../etc/passwd", "path separators"},
		{"ours_control_character", "dev\x00", "control characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateName(tc.profile)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tc.want == "") != (err == nil) || !strings.Contains(got, tc.want) {
				t.Errorf("ValidateName(%q) = %v, want %q", tc.profile, err, tc.want)
			}
		})
	}
}

// profileManager.test.ts "produces AWS CLI-compatible INI output (golden
// file)" and "golden file for multi-profile output", byte for byte.
func TestWrite_cac_golden_files(t *testing.T) {
	t.Parallel()
	f := files(t)
	if err := f.Write("dev", Credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEBYaDEXAMPLE"}, "us-east-1", false); err != nil {
		t.Fatal(err)
	}
	wantCreds := "[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\naws_session_token = FwoGZXIvYXdzEBYaDEXAMPLE\n"
	if d := cmp.Diff(wantCreds, read(t, f.Credentials)); d != "" {
		t.Errorf("credentials (-want +got):\n%s", d)
	}
	if d := cmp.Diff("[profile dev]\nregion = us-east-1\n", read(t, f.Config)); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}

	m := files(t)
	if err := m.Write("dev", Credentials{"AKIADEV", "devSecret", ""}, "us-east-1", false); err != nil {
		t.Fatal(err)
	}
	if err := m.Write("prod", Credentials{"AKIAPROD", "prodSecret", "prodToken"}, "us-west-2", false); err != nil {
		t.Fatal(err)
	}
	want := "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = devSecret\n\n[prod]\naws_access_key_id = AKIAPROD\naws_secret_access_key = prodSecret\naws_session_token = prodToken\n"
	if d := cmp.Diff(want, read(t, m.Credentials)); d != "" {
		t.Errorf("multi-profile credentials (-want +got):\n%s", d)
	}
	if d := cmp.Diff("[profile dev]\nregion = us-east-1\n\n[profile prod]\nregion = us-west-2\n", read(t, m.Config)); d != "" {
		t.Errorf("multi-profile config (-want +got):\n%s", d)
	}
}

func TestWrite_cac_vectors(t *testing.T) {
	t.Parallel()
	t.Run("profileManager_uses_correct_section_naming_for_default_profile", func(t *testing.T) {
		t.Parallel()
		f := files(t)
		if err := f.Write("default", Credentials{"AKIAIOSFODNN7EXAMPLE", "secret", ""}, "us-west-2", false); err != nil {
			t.Fatal(err)
		}
		if got := read(t, f.Config); got != "[default]\nregion = us-west-2\n" {
			t.Errorf("config = %q", got)
		}
		if got := read(t, f.Credentials); !strings.HasPrefix(got, "[default]\n") {
			t.Errorf("credentials = %q", got)
		}
	})
	t.Run("profileManager_errors_if_profile_name_already_exists_but_overwrite_flag_is_false", func(t *testing.T) {
		t.Parallel()
		f := files(t)
		if err := f.Write("dev", Credentials{"OLD_KEY", "oldSecretKey", ""}, "us-east-1", false); err != nil {
			t.Fatal(err)
		}
		before := read(t, f.Credentials)
		err := f.Write("dev", Credentials{"NEW_KEY", "newSecretKey", "sessionToken"}, "us-east-1", false)
		if err == nil || !strings.Contains(err.Error(), `profile "dev" already exists`) || !strings.Contains(err.Error(), "overwrite-aws-profile") {
			t.Fatalf("err = %v", err)
		}
		if read(t, f.Credentials) != before {
			t.Error("the refused write changed the file")
		}
	})
	t.Run("profileManager_overwriting_a_profile_removes_stale_keys", func(t *testing.T) {
		t.Parallel()
		f := files(t)
		_ = f.Write("dev", Credentials{"AKIA", "secret", "old-token"}, "us-east-1", false)
		if err := f.Write("dev", Credentials{"AKIA2", "secret2", ""}, "us-east-1", true); err != nil {
			t.Fatal(err)
		}
		if got := read(t, f.Credentials); got != "[dev]\naws_access_key_id = AKIA2\naws_secret_access_key = secret2\n" {
			t.Errorf("credentials = %q", got)
		}
	})
	t.Run("profileManager_preserves_pre_existing_unrelated_profiles_and_config_keys", func(t *testing.T) {
		t.Parallel()
		f := files(t)
		creds := "[personal]\naws_access_key_id=AKIAPERSONAL\naws_secret_access_key=personalSecret\naws_session_token=personalToken\n"
		write(t, f.Credentials, creds)
		config := "[profile personal]\nregion=eu-west-1\noutput=json\ncli_pager=\n"
		write(t, f.Config, config)
		if err := f.Write("dev", Credentials{"AKIADEV", "devSecret", ""}, "us-east-1", false); err != nil {
			t.Fatal(err)
		}
		if got := read(t, f.Credentials); !strings.HasPrefix(got, creds+"\n[dev]\n") {
			t.Errorf("credentials = %q", got)
		}
		if got := read(t, f.Config); got != config+"\n[profile dev]\nregion = us-east-1\n" {
			t.Errorf("config = %q", got)
		}
	})
	// CAC strips comments on a round trip ("comments in pre-existing files
	// are stripped"): a deliberate difference, every byte is kept here.
	t.Run("profileManager_comments_in_pre_existing_files_are_kept_here", func(t *testing.T) {
		t.Parallel()
		f := files(t)
		creds := "# My important comment\n[personal]\naws_access_key_id=AKIA\naws_secret_access_key=secret\n"
		write(t, f.Credentials, creds)
		if err := f.Write("dev", Credentials{"AKIADEV", "devSecret", ""}, "us-east-1", false); err != nil {
			t.Fatal(err)
		}
		if got := read(t, f.Credentials); !strings.HasPrefix(got, creds) {
			t.Errorf("credentials = %q", got)
		}
	})
	t.Run("profileManager_happy_path_writes_both_files_with_mode_0600", func(t *testing.T) {
		t.Parallel()
		f := files(t)
		write(t, f.Config, "[default]\nregion = eu-west-1\n") // 0644 before: tightened
		if err := f.Write("dev", Credentials{"AKIA", "secret", ""}, "us-east-1", false); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{f.Credentials, f.Config} {
			st, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode() != 0o600 {
				t.Errorf("%s mode %v, want 0600", p, st.Mode())
			}
		}
		if st, _ := os.Stat(filepath.Dir(f.Config)); st.Mode().Perm() != 0o700 {
			t.Errorf(".aws mode %v", st.Mode().Perm())
		}
	})
	t.Run("profileManager_mergeProfileSection_refuses_when_the_credentials_path_is_a_symlink", func(t *testing.T) {
		t.Parallel()
		f := files(t)
		target := filepath.Join(t.TempDir(), "passwd")
		write(t, target, "root:x:0:0::/root:/bin/sh")
		if err := os.MkdirAll(filepath.Dir(f.Credentials), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, f.Credentials); err != nil {
			t.Fatal(err)
		}
		err := f.Write("dev", Credentials{"AKIA", "secret", ""}, "us-east-1", true)
		if err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Fatalf("err = %v", err)
		}
		if read(t, target) != "root:x:0:0::/root:/bin/sh" {
			t.Error("the link's target changed")
		}
	})
	t.Run("profileManager_ensureAwsDirectoryExists_refuses_when_aws_dir_is_a_symlink", func(t *testing.T) {
		t.Parallel()
		home := t.TempDir()
		real := filepath.Join(home, "real")
		if err := os.Mkdir(real, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(real, filepath.Join(home, ".aws")); err != nil {
			t.Fatal(err)
		}
		f := Files{Credentials: filepath.Join(home, ".aws", "credentials"), Config: filepath.Join(home, ".aws", "config")}
		if err := f.Write("dev", Credentials{"AKIA", "secret", ""}, "us-east-1", false); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Fatalf("err = %v", err)
		}
	})
	// CAC writes the credentials file, then finds the config section and
	// fails, leaving half a profile; here nothing is written.
	t.Run("ours_existing_config_section_refuses_before_writing_either_file", func(t *testing.T) {
		t.Parallel()
		f := files(t)
		write(t, f.Config, "[profile dev]\nregion = eu-west-1\n")
		if err := f.Write("dev", Credentials{"AKIA", "secret", ""}, "us-east-1", false); err == nil {
			t.Fatal("want an error")
		}
		if _, err := os.Stat(f.Credentials); !os.IsNotExist(err) {
			t.Errorf("credentials file written: %v", err)
		}
	})
}

// AWS's dialect: nested values, indented lines, CRLF and spacing inside the
// brackets; other sections must come back byte for byte and the profile's
// own section be found however it is written.
func TestWrite_keeps_the_aws_dialect(t *testing.T) {
	t.Parallel()
	f := files(t)
	config := "# top\n[default]\r\nregion = eu-west-1\r\n\n[profile dev]\ns3 =\n  max_concurrent_requests = 20\n  [not a section]\ncredential_process = /bin/helper #x ; y\n\n[sso-session s]\nsso_start_url = https://x\n"
	write(t, f.Config, config)
	ok, err := f.Exists("dev")
	if err != nil || !ok {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	if err := f.Write("dev", Credentials{"AKIA", "secret", ""}, "us-west-2", true); err != nil {
		t.Fatal(err)
	}
	want := "# top\n[default]\r\nregion = eu-west-1\r\n\n[profile dev]\nregion = us-west-2\n\n[sso-session s]\nsso_start_url = https://x\n"
	if d := cmp.Diff(want, read(t, f.Config)); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
	write(t, f.Config, "[ profile   ops ]\nregion = x\n")
	if ok, _ := f.Exists("ops"); !ok {
		t.Error("[ profile   ops ] not found")
	}
}

func TestRemove_takes_only_the_profile(t *testing.T) {
	t.Parallel()
	f := files(t)
	creds := "[personal]\naws_access_key_id=AKIAPERSONAL\naws_secret_access_key=personalSecret\n"
	write(t, f.Credentials, creds)
	if err := f.Write("ci", Credentials{"AKIACI", "ciSecret", "token"}, "us-east-1", false); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove("ci"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(creds, read(t, f.Credentials)); d != "" {
		t.Errorf("credentials (-want +got):\n%s", d)
	}
	if got := read(t, f.Config); got != "" {
		t.Errorf("config = %q", got)
	}
	if err := f.Remove("ci"); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if err := (Files{Credentials: filepath.Join(t.TempDir(), "none"), Config: filepath.Join(t.TempDir(), "none")}).Remove("ci"); err != nil {
		t.Errorf("Remove without files: %v", err)
	}
}

func FuzzWrite(f *testing.F) {
	f.Add("[default]\nregion = x\n[profile dev]\n  s3 =\n   a = b\n", "dev")
	f.Add("", "default")
	f.Fuzz(func(t *testing.T, existing, name string) {
		if ValidateName(name) != nil {
			return
		}
		fs := files(t)
		write(t, fs.Config, existing)
		if err := fs.Write(name, Credentials{"AKIA", "secret", ""}, "us-east-1", true); err != nil {
			t.Fatal(err)
		}
		if ok, err := fs.Exists(name); err != nil || !ok {
			t.Fatalf("profile missing after Write: %v", err)
		}
		if err := fs.Remove(name); err != nil {
			t.Fatal(err)
		}
		if ok, _ := fs.Exists(name); ok {
			t.Fatalf("profile still there after Remove:\n%s", read(t, fs.Config))
		}
	})
}
