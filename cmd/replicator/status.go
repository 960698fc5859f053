package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/replicator/replicator/source"
	"github.com/replicator/replicator/status"
)

func init() {
	var asJSON bool
	register(&command{
		name:        "status",
		summary:     "show the checkpoint, the source's position, the lag, snapshot progress and the last error",
		usage:       "status -c config.toml [--json]",
		needsConfig: true,
		flags:       func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print as JSON") },
		run: func(ctx context.Context, env *runEnv) error {
			rep, err := collectStatus(ctx, env)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(env.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return rep.writeText(env)
		},
	})
}

// statusReport is what 'replicator status' prints.
type statusReport struct {
	Target          string         `json:"target"`
	State           *status.Target `json:"state"`
	SourceGTID      string         `json:"source_gtid,omitempty"`
	SourceError     string         `json:"source_error,omitempty"`
	BehindTxns      *int64         `json:"behind_transactions,omitempty"`
	BehindSeconds   *float64       `json:"behind_seconds,omitempty"`
	CheckpointAgeS  *float64       `json:"checkpoint_age_seconds,omitempty"`
	SnapshotRows    int64          `json:"snapshot_rows"`
	SnapshotTables  int            `json:"snapshot_tables"`
	SnapshotPending int            `json:"snapshot_tables_pending"`
	// Copies are the online copies (replicator resnapshot) the target stores.
	Copies []*onlineCopy `json:"online_copies,omitempty"`
}

// onlineCopy is one online copy as status shows it.
type onlineCopy struct {
	Table     string    `json:"table"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	Rows      int64     `json:"rows"`
	Estimate  int64     `json:"estimate"`
	Error     string    `json:"error,omitempty"`
	Requested time.Time `json:"requested_at"`
	Updated   time.Time `json:"updated_at"`
}

func collectStatus(ctx context.Context, env *runEnv) (*statusReport, error) {
	tgt, err := openTargetReadOnly(ctx, env)
	if err != nil {
		return nil, err
	}
	defer tgt.Close()
	rep := &statusReport{Target: env.cfg.Target.Type}
	sr, ok := tgt.(statusReader)
	if !ok {
		return nil, fmt.Errorf("target type %s does not report status", env.cfg.Target.Type)
	}
	if rep.State, err = sr.Status(ctx); err != nil {
		return nil, err
	}
	if cr, ok := tgt.(copyRequester); ok {
		copies, err := cr.Copies(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range copies {
			rep.Copies = append(rep.Copies, &onlineCopy{Table: c.Table, State: c.State, Reason: c.Reason, Rows: c.Rows, Estimate: c.Estimate,
				Error: c.Error, Requested: c.RequestedAt, Updated: c.Updated})
		}
	}
	conn, err := source.NewDialer(env.cfg.Source).Dial(ctx)
	if err != nil {
		rep.SourceError = err.Error()
	} else {
		defer conn.Close()
		if rep.SourceGTID, err = conn.CurrentGTID(ctx); err != nil {
			rep.SourceError = err.Error()
		}
	}
	if rep.State == nil {
		return rep, nil
	}
	age := time.Since(rep.State.UpdatedAt).Seconds()
	rep.CheckpointAgeS = &age
	for _, t := range rep.State.Tables {
		rep.SnapshotTables++
		rep.SnapshotRows += t.Rows
		if !t.Done {
			rep.SnapshotPending++
		}
	}
	if rep.SourceGTID != "" {
		n, err := source.TransactionsBehind(rep.State.Checkpoint.Flavor, rep.State.GTID, rep.SourceGTID)
		if err == nil {
			rep.BehindTxns = &n
			switch {
			case n == 0:
				secs := 0.0
				rep.BehindSeconds = &secs
			case rep.State.SourceTime != nil:
				// The newest applied transaction's source time bounds the lag from above.
				secs := time.Since(*rep.State.SourceTime).Seconds()
				rep.BehindSeconds = &secs
			}
		}
	}
	return rep, nil
}

func (r *statusReport) writeText(env *runEnv) error {
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "target\t%s (state %s, name %q)\n", r.Target, stateWhere(env), env.cfg.State.Name)
	if r.State == nil {
		fmt.Fprintf(w, "checkpoint\tnone: 'replicator run' or 'replicator snapshot' will start with a snapshot\n")
	} else {
		fmt.Fprintf(w, "phase\t%s\n", r.State.Phase)
		fmt.Fprintf(w, "checkpoint\t%s (written %s, %.0fs ago)\n", r.State.GTID, r.State.UpdatedAt.UTC().Format(time.RFC3339), *r.CheckpointAgeS)
	}
	if r.SourceError != "" {
		fmt.Fprintf(w, "source\tunreachable: %s\n", r.SourceError)
	} else {
		fmt.Fprintf(w, "source\t%s\n", r.SourceGTID)
	}
	switch {
	case r.BehindTxns != nil && r.BehindSeconds != nil:
		fmt.Fprintf(w, "behind\t%d transactions, %.1f s\n", *r.BehindTxns, *r.BehindSeconds)
	case r.BehindTxns != nil:
		fmt.Fprintf(w, "behind\t%d transactions\n", *r.BehindTxns)
	}
	if r.State != nil && len(r.State.Tables) > 0 {
		fmt.Fprintf(w, "snapshot\t%d tables, %d done, %d rows\n", r.SnapshotTables, r.SnapshotTables-r.SnapshotPending, r.SnapshotRows)
		if r.SnapshotPending > 0 || r.State.Phase != "streaming" {
			for _, t := range r.State.Tables {
				fmt.Fprintf(w, "  %s\t-> %s  chunks %d/%d  rows %d  done %v\n", t.Source, t.Target, t.ChunksDone, t.Chunks, t.Rows, t.Done)
			}
		}
	}
	for _, c := range r.Copies {
		line := fmt.Sprintf("online copy\t%s: %s", c.Table, c.State)
		switch c.State {
		case "copying":
			line += fmt.Sprintf(", %d of about %d rows", c.Rows, c.Estimate)
		case "done":
			line += fmt.Sprintf(", %d rows, at %s", c.Rows, c.Updated.UTC().Format(time.RFC3339))
		case "failed":
			line += ": " + c.Error
		}
		fmt.Fprintln(w, line)
	}
	if r.State != nil && r.State.LastError != "" {
		fmt.Fprintf(w, "last error\t%s (at %s)\n", r.State.LastError, r.State.LastErrorAt.UTC().Format(time.RFC3339))
	}
	if r.State != nil {
		for _, b := range r.State.Blocked {
			fmt.Fprintf(w, "blocked\t%s\n", b)
		}
	}
	return w.Flush()
}

func stateWhere(env *runEnv) string {
	if env.cfg.Target.Type == "postgres" {
		return "schema " + env.cfg.State.Schema
	}
	return "index " + env.cfg.State.Index
}
