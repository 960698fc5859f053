package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

// Source runs the source checks: connection, binary log settings, GTID, privileges and
// every selected table's identity.
func Source(ctx context.Context, r *Report, cfg *config.Config, d *source.Dialer, logger *slog.Logger) {
	conn, err := d.Dial(ctx)
	if err != nil {
		r.Failf("source.connect", "check source.host, source.port, source.user and source.password; the server must accept TCP connections from this host", "%v", err)
		return
	}
	defer conn.Close()
	tlsState := "no"
	if d.TLSConfig() != nil {
		tlsState = "yes, certificate verified"
		if d.Config().TLS.InsecureSkipVerify {
			tlsState = "yes, certificate NOT verified (insecure_skip_verify)"
		}
	}
	flavorName := map[string]string{source.MySQL: "MySQL", source.MariaDB: "MariaDB"}[conn.Flavor]
	r.Passf("source.connect", "%s %s at %s as %q (TLS: %s)", flavorName, conn.Version, d.Addr(), d.Config().User, tlsState)

	vars := func(name string) string {
		v, ok, err := conn.Variable(ctx, "@@GLOBAL."+name)
		if err != nil || !ok {
			return ""
		}
		return v
	}
	mycnf := "in the server's my.cnf under [mysqld] and restart it"
	switch lb := vars("log_bin"); lb {
	case "1", "ON":
		r.Passf("source.log_bin", "binary log is enabled")
	default:
		r.Failf("source.log_bin", "set log_bin=mysql-bin "+mycnf, "binary log is disabled (log_bin = %s)", lb)
	}
	if f := vars("binlog_format"); strings.EqualFold(f, "ROW") {
		r.Passf("source.binlog_format", "binlog_format = ROW")
	} else {
		r.Failf("source.binlog_format", "SET GLOBAL binlog_format = 'ROW' and set binlog_format=ROW "+mycnf+" (sessions already connected keep the old format until they reconnect)",
			"binlog_format = %s: row events are needed to replicate changes exactly", f)
	}
	if f := vars("binlog_row_image"); strings.EqualFold(f, "FULL") {
		r.Passf("source.binlog_row_image", "binlog_row_image = FULL")
	} else {
		r.Failf("source.binlog_row_image", "SET GLOBAL binlog_row_image = 'FULL' and set binlog_row_image=FULL "+mycnf,
			"binlog_row_image = %s: full before and after images are needed for idempotent upserts", f)
	}
	gtid, gerr := conn.CurrentGTID(ctx)
	if conn.Flavor == source.MariaDB {
		if gerr != nil {
			r.Failf("source.gtid", "MariaDB 10.0.2 or later is required for GTID positioning", "%v", gerr)
		} else {
			r.Passf("source.gtid", "MariaDB GTID position %q", gtid)
		}
		strictMode(r, cfg, vars("gtid_strict_mode"))
	} else {
		mode, enforce := vars("gtid_mode"), vars("enforce_gtid_consistency")
		if strings.EqualFold(mode, "ON") && (strings.EqualFold(enforce, "ON") || enforce == "1") {
			r.Passf("source.gtid", "gtid_mode = ON, executed %q", gtid)
		} else {
			r.Failf("source.gtid", "set gtid_mode=ON and enforce_gtid_consistency=ON "+mycnf+" (on a live server step gtid_mode through OFF_PERMISSIVE and ON_PERMISSIVE)",
				"gtid_mode = %s, enforce_gtid_consistency = %s", mode, enforce)
		}
	}
	if sid := vars("server_id"); sid == fmt.Sprint(d.Config().ServerID) {
		r.Failf("source.server_id", "set source.server_id in the config to a number no server or replica of this source uses",
			"source.server_id = %s is the source's own server_id", sid)
	} else {
		r.Passf("source.server_id", "replica id %d differs from the source's %s", d.Config().ServerID, sid)
	}

	user := fmt.Sprintf("'%s'@'<this host>'", d.Config().User)
	if _, err := conn.Exec(ctx, "SHOW MASTER STATUS"); err != nil {
		if _, err2 := conn.Exec(ctx, "SHOW BINARY LOG STATUS"); err2 != nil {
			r.Failf("source.privilege.replication_client", "GRANT REPLICATION CLIENT ON *.* TO "+user+" (MariaDB 10.5+: BINLOG MONITOR)",
				"cannot read the binary log position: %v", err)
		} else {
			r.Passf("source.privilege.replication_client", "can read the binary log position")
		}
	} else {
		r.Passf("source.privilege.replication_client", "can read the binary log position")
	}
	if gerr == nil {
		if err := d.ProbeBinlog(ctx, conn.Flavor, gtid, logger); err != nil {
			if errors.Is(err, source.ErrNoReplicationPrivilege) {
				r.Failf("source.privilege.replication_slave", "GRANT REPLICATION SLAVE ON *.* TO "+user,
					"cannot stream the binary log: %v", err)
			} else {
				r.Failf("source.privilege.replication_slave", "check the source's error log; the account needs REPLICATION SLAVE",
					"binary log dump failed: %v", err)
			}
		} else {
			r.Passf("source.privilege.replication_slave", "binary log dump from the current GTID position works")
		}
	}
	snapshotPrivilege(ctx, r, conn, user)
	tables(ctx, r, cfg, conn)
}

// strictMode reports MariaDB's gtid_strict_mode and what it means for this target. Either
// value is supported, so it is never a failure: the line says what to expect.
func strictMode(r *Report, cfg *config.Config, v string) {
	const name = "source.gtid_strict_mode"
	switch strings.ToUpper(v) {
	case "1", "ON":
		r.Passf(name, "gtid_strict_mode = ON: within a domain every transaction has a higher sequence number than the one before it")
		return
	case "":
		r.Passf(name, "gtid_strict_mode could not be read; either value is supported")
		return
	}
	how := "the PostgreSQL target applies transactions in binary log order and keeps the position with each batch, so the numbers do not matter"
	if cfg.Target.Type == config.TargetElasticsearch {
		how = "Elasticsearch document versions come from a transaction counter kept with the checkpoint, not from the GTIDs, so changes are never refused as older"
	}
	r.Passf(name, "gtid_strict_mode = OFF: a transaction may carry a lower sequence number than one before it in the binary log (after a failover or a write on a second primary); supported: %s", how)
}

// snapshotPrivilege checks what the consistent snapshot needs. MariaDB blocks commits
// for a moment with BACKUP STAGE BLOCK_COMMIT so every parallel reader sees one instant;
// MySQL uses FLUSH TABLES WITH READ LOCK for the same moment. Both need RELOAD.
func snapshotPrivilege(ctx context.Context, r *Report, conn *source.Conn, user string) {
	const name = "source.privilege.snapshot"
	if conn.Flavor == source.MariaDB {
		_, err := conn.Exec(ctx, "BACKUP STAGE START")
		if err == nil {
			_, _ = conn.Exec(ctx, "BACKUP STAGE END")
			r.Passf(name, "RELOAD: parallel snapshot readers start at one instant (commits paused for milliseconds)")
			return
		}
		r.Warnf(name, "GRANT RELOAD ON *.* TO "+user+" for a single-instant parallel snapshot",
			"no RELOAD privilege (%v): each snapshot reader records its own position and streaming replays from the earliest", err)
		return
	}
	rows, err := conn.QueryStrings(ctx, "SHOW GRANTS")
	if err != nil {
		r.Failf(name, "GRANT RELOAD ON *.* TO "+user, "cannot read grants: %v", err)
		return
	}
	for _, row := range rows {
		g := strings.ToUpper(strOf(row[0]))
		if strings.Contains(g, " ON *.*") && (strings.Contains(g, "ALL PRIVILEGES") || strings.Contains(g, "RELOAD")) {
			r.Passf(name, "RELOAD: FLUSH TABLES WITH READ LOCK is held only while the snapshot readers start")
			return
		}
	}
	r.Failf(name, "GRANT RELOAD ON *.* TO "+user, "the consistent snapshot on MySQL needs RELOAD (FLUSH TABLES WITH READ LOCK for milliseconds)")
}

func strOf(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func tables(ctx context.Context, r *Report, cfg *config.Config, conn *source.Conn) {
	selected, err := conn.SelectedTables(ctx, cfg)
	if err != nil {
		r.Failf("source.tables", "grant SELECT on the selected databases", "%v", err)
		return
	}
	for i, rule := range cfg.Tables {
		n := 0
		for _, t := range selected {
			if cfg.Rule(t.Schema, t.Name) == &cfg.Tables[i] {
				n++
			}
		}
		if n == 0 {
			if rule.Pattern().Wildcard() {
				r.Warnf("source.tables", "check the pattern; tables created later that match it will be replicated",
					"tables[%d] source = %q matches no table yet", i, rule.Source)
			} else {
				r.Failf("source.tables", "create the table, fix tables["+fmt.Sprint(i)+"].source, or grant SELECT on it",
					"tables[%d] source = %q: no such table (or no privilege to see it)", i, rule.Source)
			}
		}
	}
	if len(selected) == 0 {
		return
	}
	names := make([]string, len(selected))
	for i, t := range selected {
		names[i] = t.String()
	}
	r.Passf("source.tables", "%d tables selected: %s", len(selected), abbreviate(names, 12))

	spatial := false
	defer func() {
		if spatial && cfg.Target.Type == config.TargetPostgres && config.ActiveMapping().Spatial == config.SpatialPostGIS {
			postgisTarget(ctx, r, cfg)
		}
	}()
	for _, tn := range selected {
		t, err := conn.LoadTable(ctx, tn.Schema, tn.Name)
		if err != nil || t == nil {
			r.Failf("source.table."+tn.String(), "grant SELECT on it", "cannot read its definition: %v", err)
			continue
		}
		rule := cfg.Rule(tn.Schema, tn.Name)
		name := "source.table." + tn.String()
		if _, err := conn.Exec(ctx, "SELECT 1 FROM "+source.QuoteTable(tn.Schema, tn.Name)+" LIMIT 0"); err != nil {
			r.Failf(name, "GRANT SELECT ON "+source.QuoteIdent(tn.Schema)+".* TO the replicator's account", "cannot SELECT: %v", err)
			continue
		}
		if problem := keyProblem(t, rule); problem != "" {
			r.Failf(name, "add a primary key to the table, or set key = [\"col\", ...] in its [[tables]] rule to unique NOT NULL columns", "%s", problem)
			continue
		}
		for _, fk := range t.ForeignKeys {
			r.Warnf(name, "replicate the referencing tables too and avoid relying on cascades, or turn the action into explicit statements",
				"foreign key %s has ON DELETE %s / ON UPDATE %s: MySQL does not write cascaded changes to the binary log, so the target will miss them", fk.Name, fk.OnDelete, fk.OnUpdate)
		}
		switch strings.ToLower(t.Engine) {
		case "innodb", "":
		default:
			r.Warnf(name, "convert it with ALTER TABLE ... ENGINE=InnoDB, or avoid writes during the snapshot",
				"engine %s is not transactional: the consistent snapshot cannot freeze it, writes during the snapshot converge only through the binary log", t.Engine)
		}
		keyDesc := "primary key (" + strings.Join(t.KeyNames(), ", ") + ")"
		if !t.KeyIsPrimary {
			keyDesc = "configured key (" + strings.Join(t.KeyNames(), ", ") + ")"
		}
		r.Passf(name, "%d columns, %s, engine %s", len(t.Columns), keyDesc, t.Engine)
		if columnMapping(r, cfg, t, rule) {
			spatial = true
		}
	}
}

// keyProblem explains why a table has no usable identity, or returns "".
func keyProblem(tb *schema.Table, rule *config.TableRule) string {
	if len(rule.Key) > 0 {
		if err := tb.SetKey(rule.Key); err != nil {
			return err.Error()
		}
		for _, k := range tb.Key {
			if tb.Columns[k].Nullable {
				return fmt.Sprintf("key column %q is nullable: identity columns must be NOT NULL", tb.Columns[k].Name)
			}
		}
		return ""
	}
	if len(tb.Key) == 0 {
		return "no primary key and no configured key: rows cannot be identified for updates and deletes"
	}
	return ""
}

func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-n)
}
