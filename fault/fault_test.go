package fault

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"
)

func TestMarksKeepTheCause(t *testing.T) {
	cause := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}
	for _, c := range []struct {
		name string
		err  error
		mark error
		text string
	}{
		{"transient", Transient(cause), ErrTransient, "transient: open /x: file does not exist"},
		{"transient wrapped again", fmt.Errorf("apply batch: %w", Transient(cause)), ErrTransient, "apply batch: transient: open /x: file does not exist"},
		{"described", Describe("refused: grant it back", cause, ErrAccessDenied), ErrAccessDenied, "refused: grant it back"},
		{"described with two marks", Describe("both", cause, ErrTransient, ErrAccessDenied), ErrAccessDenied, "both"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.err.Error(); got != c.text {
				t.Errorf("text %q, want %q", got, c.text)
			}
			if !errors.Is(c.err, c.mark) {
				t.Errorf("errors.Is(%v) is false", c.mark)
			}
			var pe *fs.PathError
			if !errors.As(c.err, &pe) || pe != cause {
				t.Errorf("errors.As(*fs.PathError) does not find the cause")
			}
			if !errors.Is(c.err, fs.ErrNotExist) {
				t.Errorf("errors.Is(fs.ErrNotExist) is false")
			}
		})
	}
	if Transient(nil) != nil {
		t.Error("Transient(nil) is not nil")
	}
	if err := Describe("no cause", nil, ErrTransient); !errors.Is(err, ErrTransient) || err.Error() != "no cause" {
		t.Errorf("Describe without a cause: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		n            int
		first, limit time.Duration
		want         time.Duration
	}{
		{0, time.Second, 30 * time.Second, time.Second},
		{1, time.Second, 30 * time.Second, time.Second},
		{3, time.Second, 30 * time.Second, 4 * time.Second},
		{6, time.Second, 30 * time.Second, 30 * time.Second},
		{1000, time.Second, 30 * time.Second, 30 * time.Second},
		{4, 100 * time.Millisecond, 5 * time.Second, 800 * time.Millisecond},
		{8, 100 * time.Millisecond, 5 * time.Second, 5 * time.Second},
	} {
		if got := Backoff(c.n, c.first, c.limit); got != c.want {
			t.Errorf("Backoff(%d, %s, %s) = %s; want %s", c.n, c.first, c.limit, got, c.want)
		}
	}
}
