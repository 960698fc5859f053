package transform

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// HashLen is the length of a hashed value: HMAC-SHA256 in lower-case hexadecimal.
const HashLen = 2 * sha256.Size

// MinKeyBytes is the shortest hash key accepted: a shorter one can be guessed.
const MinKeyBytes = 16

// Hasher computes the keyed hash of column values: HMAC-SHA256 over the value's
// canonical form (change.Row: what a SELECT shows on a utf8mb4 connection with time_zone
// '+00:00': text as UTF-8, CHAR without its pad spaces; numbers, DECIMALs, dates, times
// and ENUM/SET members as their text; BINARY, BLOB and BIT as their bytes), written as 64
// lower-case hexadecimal digits. NULL stays NULL. Snapshot and stream bring values to the
// same canonical form, so a value hashes the same in both, and a join on the hash holds.
//
// A Hasher never shows its key: String and GoString name only the variable it came from.
type Hasher struct {
	key []byte
	env string // the environment variable the key was read from, for messages
}

// NewHasher returns a Hasher for key, read from the environment variable env (named in
// messages, never the key). A key shorter than MinKeyBytes is refused.
func NewHasher(env string, key []byte) (*Hasher, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("the key in environment variable %s has %d bytes, fewer than the %d required (e.g. export %s=$(openssl rand -hex 32))", env, len(key), MinKeyBytes, env)
	}
	return &Hasher{key: append([]byte(nil), key...), env: env}, nil
}

// Append appends the hash of v to dst.
func (h *Hasher) Append(dst, v []byte) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write(v)
	var sum [sha256.Size]byte
	return hex.AppendEncode(dst, m.Sum(sum[:0]))
}

// Env returns the environment variable the key came from.
func (h *Hasher) Env() string { return h.env }

// Secret returns the key, for the log redactor (logging.NewRedactor) only.
func (h *Hasher) Secret() string { return string(h.key) }

// String describes the hasher without its key.
func (h *Hasher) String() string { return "HMAC-SHA256, key from $" + h.env }

// GoString is String, so %#v does not print the key either.
func (h *Hasher) GoString() string { return h.String() }
