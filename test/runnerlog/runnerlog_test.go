package runnerlog

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestRender_masks_registered_secrets_and_hides_commands(t *testing.T) {
	t.Parallel()
	l := New(false)
	got := l.Render("::add-mask::s3cr3t-value\nkey=s3cr3t-value\n" + base64.StdEncoding.EncodeToString([]byte("s3cr3t-value")) + "\n::debug::hidden\n::group::G\n::endgroup::\n::error::bad%0Anext\n")
	want := "key=***\n***\n▼ G\n▲\nError: bad\n  next\n"
	if got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}

func TestRender_stop_commands_disables_masking_registration(t *testing.T) {
	t.Parallel()
	l := New(false)
	got := l.Render("::stop-commands::tok\n::add-mask::late\nlate\n::tok::\n::add-mask::late\nlate\n")
	// While stopped, the add-mask line is printed and not registered, as on GitHub.
	if !strings.Contains(got, "::add-mask::late\nlate\n***\n") {
		t.Errorf("Render = %q", got)
	}
}
