package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/finding"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

// Options tune what the source checks read beyond definitions.
type Options struct {
	// SampleRows is the most rows read from each selected table to look for values that
	// do not arrive exactly (zero dates, NUL bytes in text); 0 reads none.
	SampleRows int
}

// DefaultSampleRows bounds the sample: enough to show a habit of the data, cheap on any
// table (the first rows of a scan, no sort).
const DefaultSampleRows = 10000

// Source runs the source checks: connection, binary log settings, GTID, privileges and
// every selected table's identity and column mapping.
func Source(ctx context.Context, r *finding.Report, cfg *config.Config, routes *route.Set, d *source.Dialer, logger *slog.Logger, opts Options) {
	conn, err := d.Dial(ctx)
	if err != nil {
		r.Failf("source.connect", "check source.host, source.port, source.user and source.password; the server must accept TCP connections from this host", "%v", err)
		return
	}
	defer conn.Close()
	tlsState := d.TLSState()
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
	tables(ctx, r, cfg, routes, conn, vars("sql_mode"), opts)
}

// strictMode reports MariaDB's gtid_strict_mode and what it means for this target. Either
// value is supported, so it is never a failure: the line says what to expect.
func strictMode(r *finding.Report, cfg *config.Config, v string) {
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
func snapshotPrivilege(ctx context.Context, r *finding.Report, conn *source.Conn, user string) {
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

func tables(ctx context.Context, r *finding.Report, cfg *config.Config, routes *route.Set, conn *source.Conn, sqlMode string, opts Options) {
	selected, err := conn.SelectedTables(ctx, routes)
	if err != nil {
		r.Failf("source.tables", "grant SELECT on the selected databases", "%v", err)
		return
	}
	for i, rule := range cfg.Tables {
		n := 0
		for _, t := range selected {
			if routes.For(t.Schema, t.Name).Index() == i {
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
	if cfg.Target.Type == config.TargetElasticsearch {
		indexNames(r, routes, names)
	} else {
		tableNames(r, routes, names)
	}

	lacks := zeroDateModeLacks(sqlMode)
	replicatedSet := map[string]bool{}
	for _, t := range selected {
		replicatedSet[strings.ToLower(t.String())] = true
	}
	var temporalCols, textCols int
	spatial := false
	defer func() {
		if spatial && cfg.Target.Type == config.TargetPostgres && mapping.NewPolicy(cfg.Mapping).PostGIS() {
			postgisTarget(ctx, r, cfg)
		}
	}()
	first := len(r.Results)
	fanIn := newFanInCheck(cfg)
	defer fanIn.report(r)
	for _, tn := range selected {
		t, err := conn.LoadTable(ctx, tn.Schema, tn.Name)
		tname := tn.String()
		name := "source.table." + tname
		if err != nil || t == nil {
			r.Add(finding.Result{Name: name, Table: tname, Status: finding.Fail, Fix: "grant SELECT on it", Detail: fmt.Sprintf("cannot read its definition: %v", err)})
			continue
		}
		rt := routes.For(tn.Schema, tn.Name)
		if _, err := conn.Exec(ctx, "SELECT 1 FROM "+source.QuoteTable(tn.Schema, tn.Name)+" LIMIT 0"); err != nil {
			r.Add(finding.Result{Name: name, Table: tname, Status: finding.Fail, Fix: "GRANT SELECT ON " + source.QuoteIdent(tn.Schema) + ".* TO the replicator's account",
				Detail: fmt.Sprintf("cannot SELECT: %v", err)})
			continue
		}
		if problem := keyProblem(t, rt); problem != "" && (len(rt.Key()) > 0 || !routes.Keyless()) {
			r.Add(finding.Result{Name: name, Table: tname, Status: finding.Fail, Detail: problem,
				Fix: "add a primary key to the table, or set key = [\"col\", ...] in its [[tables]] rule to unique NOT NULL columns"})
			continue
		}
		filterDesc, ok := rowFilter(ctx, r, conn, name, tname, t, rt)
		if !ok {
			continue
		}
		deletesDesc, ok := deleteMode(r, name, tname, t, rt)
		if !ok {
			continue
		}
		filterDesc += deletesDesc
		transformDesc, ok := transforms(r, name, tname, t, rt)
		if !ok {
			continue
		}
		filterDesc += transformDesc
		if !fanIn.add(r, name, tname, t, rt) {
			continue
		}
		foreignKeys(r, name, t, cfg, replicatedSet)
		isKeyless := routes.Keyless() && keyless(r, name, t, rt)
		switch strings.ToLower(t.Engine) {
		case "innodb", "":
		default:
			r.Finding(finding.Warn, name, "source.engine", tname, tname+" (engine "+t.Engine+")",
				"not transactional: the consistent snapshot cannot freeze it, writes during the snapshot converge only through the binary log",
				"convert it with ALTER TABLE ... ENGINE=InnoDB, or avoid writes during the snapshot")
		}
		keyDesc := "primary key (" + strings.Join(t.KeyNames(), ", ") + ")"
		switch {
		case isKeyless:
			keyDesc = "no key (full-row match)"
		case !t.KeyIsPrimary:
			keyDesc = "configured key (" + strings.Join(t.KeyNames(), ", ") + ")"
		}
		r.Add(finding.Result{Name: name, Table: tname, Status: finding.Pass, Detail: fmt.Sprintf("%d columns, %s, engine %s%s", len(t.Columns), keyDesc, t.Engine, filterDesc)})
		ev := &Evidence{ZeroDatesRefused: len(lacks) == 0, SQLModeLacks: lacks, SampleLimit: opts.SampleRows}
		temporal, texts := sampleColumns(t, rt)
		temporalCols += len(temporal)
		textCols += len(texts)
		if err := sample(ctx, conn, t, temporal, texts, ev); err != nil {
			r.Add(finding.Result{Name: "mapping." + tname, Table: tname, Status: finding.Warn, Kind: "mapping.sample", Subject: tname,
				Summary: "the sample of rows could not be read, so zero dates and NUL bytes are judged by the sql_mode only",
				Detail:  fmt.Sprintf("%s: sample failed: %v", tname, err), Fix: "grant SELECT on the table"})
		}
		if columnMapping(r, cfg, t, rt, ev) {
			spatial = true
		}
	}
	// One line each says what was looked for and not found, so a quiet report is an answer,
	// not a silence.
	m := cfg.Mapping.WithDefaults()
	kinds := map[string]bool{}
	for _, x := range r.Results[first:] {
		kinds[x.Kind] = true
	}
	sampled := "no rows were sampled (check --sample 0)"
	if opts.SampleRows > 0 {
		sampled = fmt.Sprintf("none in a sample of up to %d rows per table", opts.SampleRows)
	}
	if temporalCols > 0 && !kinds["mapping.zero_dates"] {
		r.Passf("mapping.zero_dates", "%d date columns: the source's sql_mode refuses zero dates (NO_ZERO_DATE, NO_ZERO_IN_DATE, strict) and %s", temporalCols, sampled)
	}
	if textCols > 0 && cfg.Target.Type == config.TargetPostgres && !kinds["mapping.text_nul"] {
		what := map[string]string{
			config.TextNULError:   "would stop replication with an error naming the table and column",
			config.TextNULStrip:   "would be removed (logged)",
			config.TextNULReplace: "would be replaced by U+FFFD (logged)",
		}[m.TextNUL]
		r.Passf("mapping.text_nul", "%d text columns: NUL bytes, which PostgreSQL text cannot hold, %s; a NUL byte written later %s (mapping.text_nul = %q)", textCols, sampled, what, m.TextNUL)
	}
}

// indexNames refuses Elasticsearch index names that the naming rule (route.ESName) cannot
// make valid, and tables whose names become one index only by that rule ("Users" and
// "users", "order items" and "order_items"): their documents would overwrite each other.
func indexNames(r *finding.Report, routes *route.Set, tables []string) {
	bad := 0
	for _, n := range tables {
		db, tb, _ := strings.Cut(n, ".")
		rt := routes.For(db, tb)
		if p := route.ESNameProblem(rt.ESIndex()); p != "" {
			bad++
			r.Add(finding.Result{Name: "target.index_name." + n, Table: n, Status: finding.Fail,
				Detail: fmt.Sprintf("%s (from tables[%d] target %q)", p, rt.Index(), rt.ESIndexWritten()),
				Fix:    fmt.Sprintf("set target in tables[%d] (or a [[tables]] rule of its own for %s) to a valid index name", rt.Index(), n)})
		}
	}
	coll := routes.ESCollisions(tables)
	idx := make([]string, 0, len(coll))
	for name := range coll {
		idx = append(idx, name)
	}
	sort.Strings(idx)
	for _, name := range idx {
		bad++
		r.Add(finding.Result{Name: "target.index_name." + name, Status: finding.Fail,
			Detail: fmt.Sprintf("tables %s would all go to index %s (index names are lower-cased, invalid characters become '_'), overwriting each other's documents", strings.Join(coll[name], ", "), name),
			Fix:    "give each of them a [[tables]] rule of its own with a distinct target, or leave all but one out"})
	}
	if bad == 0 {
		r.Passf("target.index_names", "%d tables, each to a valid index name of its own or to an index their rules share on purpose", len(tables))
	}
}

// tableNames refuses PostgreSQL target tables that several selected tables would be
// written to without a fan-in rule merging them (route.Set.PGCollisions): rows of equal
// keys would overwrite each other.
func tableNames(r *finding.Report, routes *route.Set, tables []string) {
	coll := routes.PGCollisions(tables)
	for _, name := range slices.Sorted(maps.Keys(coll)) {
		r.Add(finding.Result{Name: "target.table_name." + name, Status: finding.Fail,
			Detail: fmt.Sprintf("tables %s would all be written to table %s, and rows of equal keys would overwrite each other", strings.Join(coll[name], ", "), name),
			Fix:    "give the target a {db} (target = \"{db}.*\"), merge them on purpose with a target naming one table (fan-in: the key gains the source table), or give each a [[tables]] rule of its own"})
	}
	if len(coll) == 0 {
		r.Passf("target.table_names", "%d tables, each to a table of its own or merged by a fan-in rule", len(tables))
	}
}

// zeroDateModeLacks names what sql_mode lacks to refuse zero and partly-zero dates:
// NO_ZERO_DATE and NO_ZERO_IN_DATE only turn them into errors in a strict mode.
func zeroDateModeLacks(sqlMode string) []string {
	modes := map[string]bool{}
	for _, m := range strings.Split(strings.ToUpper(sqlMode), ",") {
		modes[strings.TrimSpace(m)] = true
	}
	if modes["TRADITIONAL"] {
		return nil
	}
	var lacks []string
	for _, m := range []string{"NO_ZERO_DATE", "NO_ZERO_IN_DATE"} {
		if !modes[m] {
			lacks = append(lacks, m)
		}
	}
	if !modes["STRICT_TRANS_TABLES"] && !modes["STRICT_ALL_TABLES"] {
		lacks = append(lacks, "STRICT_TRANS_TABLES")
	}
	return lacks
}

// sampleColumns returns the replicated columns whose values the sample inspects.
func sampleColumns(t *schema.Table, rt *route.Route) (temporal, texts []string) {
	for i := range t.Columns {
		c := &t.Columns[i]
		if !rt.Replicates(c.Name) {
			continue
		}
		switch {
		case c.DataType == "date" || c.DataType == "datetime" || c.DataType == "timestamp":
			temporal = append(temporal, c.Name)
		case isTextColumn(c.DataType) && c.DataType != "enum" && c.DataType != "set" && !c.JSONValid:
			texts = append(texts, c.Name)
		}
	}
	return temporal, texts
}

// sample reads at most ev.SampleLimit rows of t (the first of a plain scan: bounded
// whatever the table's size) and counts per column the rows holding a zero or partly-zero
// date and those holding a NUL byte in text.
func sample(ctx context.Context, conn *source.Conn, t *schema.Table, temporal, texts []string, ev *Evidence) error {
	if ev.SampleLimit <= 0 || len(temporal)+len(texts) == 0 {
		return nil
	}
	var exprs, inner []string
	for _, c := range temporal {
		q := source.QuoteIdent(c)
		exprs = append(exprs, "SUM(MONTH("+q+") = 0 OR DAYOFMONTH("+q+") = 0)")
		inner = append(inner, q)
	}
	for _, c := range texts {
		q := source.QuoteIdent(c)
		// LOCATE on the bytes: a NUL is one zero byte in every character set the mapping
		// accepts (utf8, latin1 and the other single-byte sets).
		exprs = append(exprs, "SUM(LOCATE(X'00', CAST("+q+" AS BINARY)) > 0)")
		inner = append(inner, q)
	}
	query := fmt.Sprintf("SELECT COUNT(*), %s FROM (SELECT %s FROM %s LIMIT %d) s",
		strings.Join(exprs, ", "), strings.Join(inner, ", "), source.QuoteTable(t.Schema, t.Name), ev.SampleLimit)
	rows, err := conn.QueryStrings(ctx, query)
	if err != nil {
		return fmt.Errorf("sample of %s: %w", t.QualifiedName(), err)
	}
	if len(rows) != 1 {
		return fmt.Errorf("sample of %s: %d result rows", t.QualifiedName(), len(rows))
	}
	num := func(p *string) int {
		n, _ := strconv.Atoi(strOf(p))
		return n
	}
	row := rows[0]
	ev.Sampled = num(row[0])
	ev.ZeroDates, ev.NUL = map[string]int{}, map[string]int{}
	for i, c := range temporal {
		ev.ZeroDates[c] = num(row[1+i])
	}
	for i, c := range texts {
		ev.NUL[c] = num(row[1+len(temporal)+i])
	}
	return nil
}

// keyProblem explains why a table has no usable identity, or returns "".
func keyProblem(tb *schema.Table, rt *route.Route) string {
	if len(rt.Key()) > 0 {
		if err := rt.Identify(tb); err != nil {
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

// rowFilter checks a table's row filter (where = "...") against its definition and the
// server, which must both accept it: the snapshot sends it to the server and the stream
// evaluates it itself. It returns the text check shows for the table.
func rowFilter(ctx context.Context, r *finding.Report, conn *source.Conn, name, tname string, t *schema.Table, rt *route.Route) (string, bool) {
	w := rt.Where()
	if w == nil {
		return "", true
	}
	fix := fmt.Sprintf("fix tables[%d].where", rt.Index())
	if _, err := rt.Filter(t); err != nil {
		r.Add(finding.Result{Name: name, Table: tname, Status: finding.Fail, Fix: fix, Detail: err.Error()})
		return "", false
	}
	if _, err := conn.Exec(ctx, "SELECT 1 FROM "+source.QuoteTable(t.Schema, t.Name)+" WHERE "+w.SQL()+" LIMIT 0"); err != nil {
		r.Add(finding.Result{Name: name, Table: tname, Status: finding.Fail, Fix: fix,
			Detail: fmt.Sprintf("tables[%d].where = %q: the source refuses it: %v", rt.Index(), w.Text(), err)})
		return "", false
	}
	return fmt.Sprintf(", row filter: where %s", w.Text()), true
}
