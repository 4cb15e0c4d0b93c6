// Package fault is how the action describes a failure to its user: what
// failed, why, and how to fix it (like aws-sdk-go-base's Detail()), plus the
// one reader of AWS API error codes and the one context-aware sleep that the
// credential retries and the deploy polls share.
package fault

import (
	"context"
	"errors"
	"time"

	"github.com/aws/smithy-go"
)

// Error is a failure with the step that failed, its cause and the fix.
type Error struct {
	// What is the step that failed, as a gerund phrase ("assuming role X").
	What string
	// Err is the cause; it stays reachable with errors.As.
	Err error
	// Fix says what the user should do next; empty when nothing is known.
	Fix string
}

// New returns an Error, or nil when err is nil.
func New(what string, err error, fix string) error {
	if err == nil {
		return nil
	}
	return &Error{What: what, Err: err, Fix: fix}
}

func (e *Error) Error() string {
	s := e.Err.Error()
	if e.What != "" {
		s = e.What + ": " + s
	}
	if e.Fix != "" {
		s += ". To fix: " + e.Fix
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// FixOf returns the fix of the outermost Error in err's chain, if any.
func FixOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fix
	}
	return ""
}

// Code returns the AWS API error code in err's chain, or "".
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Message returns the AWS API error message in err's chain, or err's text
// when it holds no API error.
func Message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// Sleep waits for d or until ctx ends, then returns ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
