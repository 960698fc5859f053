package logging

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
)

// minSecret is the shortest secret the redactor replaces: a shorter one would blank out
// ordinary words of the output, and no code path prints a secret in the first place (the
// redactor is the last line of defence, not the first).
const minSecret = 6

// Redactor is a writer that replaces every occurrence of a secret (a password, an API key)
// with "[redacted]" before passing the bytes on. It is wrapped around the log stream and the
// command output, so a secret that some library puts in a message (a debug dump of a
// configuration, a connection string in an error) still never reaches a log.
//
// It works on each Write separately: slog handlers write one whole record per call, and
// command output is written a line or a document at a time.
type Redactor struct {
	mu      sync.Mutex
	w       io.Writer
	secrets [][]byte
}

// NewRedactor returns w wrapped so the given secrets never pass; with no secret long
// enough to redact it returns w itself.
func NewRedactor(w io.Writer, secrets ...string) io.Writer {
	r := &Redactor{w: w}
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		// The JSON handler escapes quotes, backslashes and control characters: the
		// escaped form is what would appear in a JSON log line.
		q, _ := json.Marshal(s)
		for _, form := range []string{s, string(q[1 : len(q)-1])} {
			if !seen[form] {
				seen[form] = true
				r.secrets = append(r.secrets, []byte(form))
			}
		}
	}
	if len(r.secrets) == 0 {
		return w
	}
	return r
}

// Redacted replaces a secret in the output. It differs from pgconn's "xxxxx", so a test
// can tell a secret that reached the redactor (a code path that printed it) from one that
// was never printed.
const Redacted = "[redacted]"

var redacted = []byte(Redacted)

// Write implements io.Writer. It reports len(p) written when the redacted bytes were
// written in full, so callers see the length they passed.
func (r *Redactor) Write(p []byte) (int, error) {
	out := p
	for _, s := range r.secrets {
		if bytes.Contains(out, s) {
			out = bytes.ReplaceAll(out, s, redacted)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
