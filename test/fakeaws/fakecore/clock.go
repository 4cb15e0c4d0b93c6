package fakecore

import (
	"sync"
	"time"
)

// Clock is a manual clock for a fake's Now option; it is safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// TokenBucket is a token-bucket rate limit refilled against a caller-supplied
// clock; it is safe for concurrent use.
type TokenBucket struct {
	mu                  sync.Mutex
	rate, burst, tokens float64
	last                time.Time
}

// NewTokenBucket holds burst tokens (at least 1, or it would refuse
// everything), starts full at now and refills ratePerSecond.
func NewTokenBucket(ratePerSecond float64, burst int, now time.Time) *TokenBucket {
	burst = max(burst, 1)
	return &TokenBucket{rate: ratePerSecond, burst: float64(burst), tokens: float64(burst), last: now}
}

// Take spends a token if one is left at now and reports whether it did.
func (b *TokenBucket) Take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = min(b.burst, b.tokens+d*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
