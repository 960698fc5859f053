// Package finding is the preflight's vocabulary: the outcome of one named check (its
// status, detail and fix) and the report that collects them and prints them. The source
// checks (package check) and each target's checks (applier/postgres, applier/elastic)
// write into one Report, so it sits below all of them.
package finding

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
	// Kind groups per-table results of one sort ("mapping.zero_dates"): the text report
	// prints results sharing Kind, Status, Summary and Fix as one line, the Summary followed
	// by every Subject, so sixteen tables with the same finding read as one finding.
	Kind string `json:"kind,omitempty"`
	// Summary is the finding without the table ("they arrive as -infinity ...").
	Summary string `json:"summary,omitempty"`
	// Subject is where it was found: the table and its columns.
	Subject string `json:"subject,omitempty"`
	// Table is the source table ("db.table") a per-table result belongs to.
	Table string `json:"table,omitempty"`
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

// Finding records a per-table result of a kind the text report groups across tables. The
// detail (kept whole in --json) is the subject followed by the summary.
func (r *Report) Finding(st Status, name, kind, table, subject, summary, fix string) {
	r.Add(Result{Name: name, Status: st, Kind: kind, Table: table, Subject: subject, Summary: summary,
		Detail: subject + ": " + summary, Fix: fix})
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

// Counts is the closing line of the text report.
type Counts struct {
	// TablesOK counts selected tables with a usable definition and no failure.
	TablesOK int `json:"tables_ok"`
	// Warnings and Failures count the lines the text report prints (grouped findings once).
	Warnings int `json:"warnings"`
	Failures int `json:"failures"`
}

func (c Counts) String() string {
	return fmt.Sprintf("%s ok, %s, %s", plural(c.TablesOK, "table"), plural(c.Warnings, "warning"), plural(c.Failures, "failure"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// line is one line of the text report: a result, or a group of findings of one kind.
type line struct {
	status       Status
	name, detail string
	fix          string
	subjects     []string
	summary      string
}

// lines groups the results for the text report. A table's own passing line ("source.table.
// db.t": columns, key, engine) is left out: the summary counts those tables.
func (r *Report) lines() (out []*line, counts Counts) {
	groups := map[string]*line{}
	tablePassed := map[string]bool{}
	tableFailed := map[string]bool{}
	for _, x := range r.Results {
		if x.Table != "" {
			if x.Status == Fail {
				tableFailed[x.Table] = true
			} else if x.Kind == "" && x.Status == Pass {
				tablePassed[x.Table] = true
				continue
			}
		}
		if x.Kind == "" {
			out = append(out, &line{status: x.Status, name: x.Name, detail: x.Detail, fix: x.Fix})
			continue
		}
		key := strings.Join([]string{x.Kind, string(x.Status), x.Summary, x.Fix}, "\x00")
		g := groups[key]
		if g == nil {
			g = &line{status: x.Status, name: x.Kind, summary: x.Summary, fix: x.Fix}
			groups[key] = g
			out = append(out, g)
		}
		g.subjects = append(g.subjects, x.Subject)
	}
	for _, l := range out {
		if l.subjects != nil {
			l.detail = l.summary + ": " + strings.Join(l.subjects, "; ")
		}
		switch l.status {
		case Warn:
			counts.Warnings++
		case Fail:
			counts.Failures++
		}
	}
	for t := range tablePassed {
		if !tableFailed[t] {
			counts.TablesOK++
		}
	}
	return out, counts
}

// Summary counts the tables that are ready and the warnings and failures the text report
// prints.
func (r *Report) Summary() Counts {
	_, c := r.lines()
	return c
}

// WriteText prints one line per check, findings of one kind across tables as one line, the
// fix indented under failures and warnings, and a closing count.
func (r *Report) WriteText(w io.Writer) error {
	lines, counts := r.lines()
	width := 0
	for _, x := range lines {
		width = max(width, len(x.name))
	}
	for _, x := range lines {
		if _, err := fmt.Fprintf(w, "%-4s  %-*s  %s\n", strings.ToUpper(string(x.status)), width, x.name, x.detail); err != nil {
			return err
		}
		if x.fix != "" {
			if _, err := fmt.Fprintf(w, "      %-*s  fix: %s\n", width, "", x.fix); err != nil {
				return err
			}
		}
	}
	_, err := fmt.Fprintln(w, counts.String())
	return err
}

// WriteJSON prints the report as one JSON object: every result with its table and
// subject, ungrouped, and the counts of the text report's closing line.
func (r *Report) WriteJSON(w io.Writer) error {
	out := struct {
		OK      bool     `json:"ok"`
		Summary Counts   `json:"summary"`
		Checks  []Result `json:"checks"`
	}{r.OK(), r.Summary(), r.Results}
	if out.Checks == nil {
		out.Checks = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
