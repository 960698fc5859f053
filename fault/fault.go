// Package fault holds the marks that tell a caller what to do about an error, shared by
// the stages that produce errors (the targets, the source) and the one that acts on them
// (the pipeline's retry loop). A mark is matched with errors.Is; the error it marks stays
// in the chain, so errors.As still finds the cause (a *pgconn.PgError, a *mysql.MyError,
// a net.Error) after marking.
package fault

import (
	"errors"
	"time"
)

// ErrTransient marks errors worth retrying after a pause (a server restarting, a dropped
// connection): the pipeline restarts from the stored checkpoint.
var ErrTransient = errors.New("transient")

// ErrAccessDenied marks a target's refusal for lack of rights: a login refused, a
// privilege revoked. Like source.ErrAccessDenied and source.ErrNoReplicationPrivilege it
// is retried for apply.access_denied_retry only, then the pipeline stops with it.
var ErrAccessDenied = errors.New("access denied")

// ErrCertificate marks a server certificate that failed verification (an unknown CA, a
// host name it is not valid for): the connection is refused, never downgraded, and like
// ErrAccessDenied it is retried for apply.access_denied_retry only.
var ErrCertificate = errors.New("TLS certificate rejected")

// Transient marks err as worth retrying. The result reads "transient: " and err's text,
// as the fmt.Errorf("%w: %v") it replaces did, but keeps err in the chain. A nil err
// stays nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &marked{text: ErrTransient.Error() + ": " + err.Error(), errs: []error{ErrTransient, err}}
}

// Describe returns an error reading text that wraps cause and every mark: for messages
// that say what to do in words of their own instead of repeating cause's text, without
// losing cause for errors.As. A nil cause is left out of the chain.
func Describe(text string, cause error, marks ...error) error {
	errs := make([]error, 0, len(marks)+1)
	errs = append(errs, marks...)
	if cause != nil {
		errs = append(errs, cause)
	}
	return &marked{text: text, errs: errs}
}

// marked is an error with a text of its own over a set of wrapped errors.
type marked struct {
	text string
	errs []error
}

func (m *marked) Error() string { return m.text }

// Unwrap gives errors.Is and errors.As the marks and the cause.
func (m *marked) Unwrap() []error { return m.errs }

// Backoff is the pause before the n'th retry in a row (n from 1): first, doubling each
// time, never more than limit. The retry loops of the client and of the snapshot share it,
// each with its own first pause and limit.
func Backoff(n int, first, limit time.Duration) time.Duration {
	d := first
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
