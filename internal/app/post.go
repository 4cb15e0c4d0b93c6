package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/profile"
)

// profilesState is the GITHUB_STATE name under which the main step records
// the profiles it wrote; the runner hands it to the post step as
// STATE_profiles.
const profilesState = "profiles"

// writtenProfile is one profile the main step wrote.
type writtenProfile struct {
	Name        string `json:"name"`
	Credentials string `json:"credentials"`
	Config      string `json:"config"`
}

// Post is the action's post step (runs.post-entrypoint), run at the end of
// the job: it removes the profiles the main step wrote, so no credentials
// stay in the runner's files (configure-aws-credentials leaves them, which
// matters on self-hosted runners). The job's environment is left alone: later
// post steps of other actions may still need the credentials.
func Post(_ context.Context, d Deps) error {
	log := gha.NewLog(d.Stdout)
	// configure-aws-credentials' opt-out, checked here rather than in a
	// post-if: the runner honours post-if for Docker actions, but the
	// documented metadata and actionlint know it only for JavaScript ones.
	if d.Getenv("AWS_SKIP_CLEANUP_STEP") == "true" {
		log.Infof("AWS_SKIP_CLEANUP_STEP is true: keeping the profiles this step wrote")
		return nil
	}
	raw := d.Getenv("STATE_" + profilesState)
	if raw == "" {
		return nil
	}
	var written []writtenProfile
	if err := json.Unmarshal([]byte(raw), &written); err != nil {
		return fmt.Errorf("reading the state of the main step: %w", err)
	}
	var errs []error
	for _, w := range written {
		if !filepath.IsAbs(w.Credentials) || !filepath.IsAbs(w.Config) {
			errs = append(errs, fmt.Errorf("profile %s: the recorded files are not absolute paths", w.Name))
			continue
		}
		if err := (profile.Files{Credentials: w.Credentials, Config: w.Config}).Remove(w.Name); err != nil {
			errs = append(errs, fmt.Errorf("removing profile %s: %w", w.Name, err))
			continue
		}
		log.Infof("Removed profile %s from %s and %s", w.Name, w.Credentials, w.Config)
	}
	return errors.Join(errs...)
}
