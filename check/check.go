// Package check is the preflight: named checks of the source and the target, each with a
// status and, when it fails, the fix. It reads and never changes anything a user keeps.
package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status of one check.
type Status string

// Check statuses. Warn does not fail the preflight; it flags a lossy or risky setting.
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Result is the outcome of one named check.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the list of results in the order they ran.
type Report struct {
	Results []Result `json:"checks"`
}

// Add appends a result.
func (r *Report) Add(res Result) { r.Results = append(r.Results, res) }

// Passf records a passing check.
func (r *Report) Passf(name, format string, a ...any) {
	r.Add(Result{Name: name, Status: Pass, Detail: fmt.Sprintf(format, a...)})
}

// Failf records a failing check and its fix.
func (r *Report) Failf(name, fix, format string, a ...any) {
	r.Add(Result{Name: name, Status: Fail, Detail: fmt.Sprintf(format, a...), Fix: fix})
}

// Warnf records a warning and what to do about it.
func (r *Report) Warnf(name, fix, format string, a ...any) {
	r.Add(Result{Name: name, Status: Warn, Detail: fmt.Sprintf(format, a...), Fix: fix})
}

// OK reports whether no check failed.
func (r *Report) OK() bool {
	for _, x := range r.Results {
		if x.Status == Fail {
			return false
		}
	}
	return true
}

// Failed returns the names of the failed checks.
func (r *Report) Failed() []string {
	var out []string
	for _, x := range r.Results {
		if x.Status == Fail {
			out = append(out, x.Name)
		}
	}
	return out
}

// WriteText prints one line per check, with the fix indented under failures and warnings.
func (r *Report) WriteText(w io.Writer) error {
	width := 0
	for _, x := range r.Results {
		width = max(width, len(x.Name))
	}
	for _, x := range r.Results {
		if _, err := fmt.Fprintf(w, "%-4s  %-*s  %s\n", strings.ToUpper(string(x.Status)), width, x.Name, x.Detail); err != nil {
			return err
		}
		if x.Fix != "" {
			if _, err := fmt.Fprintf(w, "      %-*s  fix: %s\n", width, "", x.Fix); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteJSON prints the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	out := struct {
		OK     bool     `json:"ok"`
		Checks []Result `json:"checks"`
	}{r.OK(), r.Results}
	if out.Checks == nil {
		out.Checks = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
