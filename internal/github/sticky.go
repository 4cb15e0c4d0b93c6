package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// MaxCommentBody is GitHub's limit for a comment body, in characters; the
// client counts bytes, which is never fewer.
const MaxCommentBody = 65536

// Marker is the hidden line that identifies the sticky comment of key.
func Marker(key string) string { return "<!-- aws-assume-deploy " + key + " -->" }

// BodyLimit is the longest body UpsertComment takes for key: the comment
// limit less the marker line.
func BodyLimit(key string) int { return MaxCommentBody - len(Marker(key)) - 1 }

// Outcome says what UpsertComment did.
type Outcome struct {
	Comment Comment
	// Created is true when no comment of the key existed.
	Created bool
	// Foreign counts comments that carry the marker but were written by
	// someone else; they are left alone.
	Foreign int
}

// UpsertComment keeps one comment per key on the pull request: it updates
// the comment that carries the key's hidden marker and was written by this
// token's identity, or creates one when there is none. A comment by anyone
// else that carries the marker (anyone can paste it) is never updated, so
// its author cannot later edit what looks like the action's report.
//
// A failed create is retried by looking again first, since GitHub may have
// stored the comment before failing: a blind retry could post it twice.
func (c *Client) UpsertComment(ctx context.Context, pr PullRequest, key, body string) (Outcome, error) {
	if strings.Contains(key, "--") || strings.ContainsAny(key, ">\n\r") {
		return Outcome{}, fmt.Errorf("github: comment key %q cannot go into an HTML comment", key)
	}
	if len(body) > BodyLimit(key) {
		return Outcome{}, fmt.Errorf("github: the comment body is %d bytes, over the %d GitHub allows with the marker", len(body), BodyLimit(key))
	}
	marker := Marker(key)
	full := marker + "\n" + body
	b := c.newBudget()
	for {
		found, foreign, err := c.find(ctx, pr, marker)
		if err != nil {
			return Outcome{}, err
		}
		if found != nil {
			cm, err := c.UpdateComment(ctx, pr, found.ID, full)
			return Outcome{Comment: cm, Foreign: foreign}, err
		}
		var cm Comment
		retry, err := c.once(ctx, http.MethodPost, commentsPath(pr), nil, map[string]string{"body": full}, &cm)
		if err == nil {
			return Outcome{Comment: cm, Created: true, Foreign: foreign}, nil
		}
		if werr := c.wait(ctx, b, retry, err); werr != nil {
			return Outcome{Foreign: foreign}, werr
		}
	}
}

// find returns the oldest comment with marker whose author is this token's
// identity, and how many others carry the marker.
func (c *Client) find(ctx context.Context, pr PullRequest, marker string) (*Comment, int, error) {
	all, err := c.ListComments(ctx, pr)
	if err != nil {
		return nil, 0, err
	}
	var marked []Comment
	for _, cm := range all {
		if hasMarker(cm.Body, marker) {
			marked = append(marked, cm)
		}
	}
	// The job's GITHUB_TOKEN and GitHub App tokens write as a Bot; for a
	// user's token, ask whose it is, once, and only when it matters.
	login, asked := "", false
	var mine *Comment
	foreign := 0
	for i, cm := range marked {
		own := cm.User.Type == "Bot"
		if !own {
			if !asked {
				asked = true
				login, _ = c.Login(ctx) // an installation token has no user: nothing of a user's is ours
			}
			own = login != "" && strings.EqualFold(cm.User.Login, login)
		}
		switch {
		case !own:
			foreign++
		case mine == nil:
			mine = &marked[i]
		}
	}
	return mine, foreign, nil
}

// hasMarker reports a body whose first line is marker.
func hasMarker(body, marker string) bool {
	first, _, _ := strings.Cut(body, "\n")
	return strings.TrimSpace(first) == marker
}
