package pgddl

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
)

type pgCase struct {
	name   string
	flavor ddl.Flavor
	setup  []string // statements applied to the catalog first
	sql    string
	want   []string // exact PostgreSQL statements, in order
	notes  []string // exact notes
	err    string   // "unsupported: ...", "untranslatable: ...", "apply: ..." substring of the error
}

// ordersTable is the table most ALTER cases start from.
const ordersTable = "CREATE TABLE orders (id bigint unsigned NOT NULL AUTO_INCREMENT, customer varchar(64) NOT NULL, " +
	"total decimal(10,2) NOT NULL DEFAULT 0, status enum('new','paid') NOT NULL DEFAULT 'new', note text, " +
	"secret varchar(10), created datetime(3) DEFAULT CURRENT_TIMESTAMP(3), PRIMARY KEY (id), " +
	"UNIQUE KEY uk_customer (customer, status), KEY idx_total (total))"

// testResolver replicates every table of every database to the same schema and table, except
// database "other" and tables named x_*, routes database "legacy" to schema "archive", and
// leaves out columns named "secret".
func testResolver(db, table string) (PGTarget, bool) {
	if db == "other" || strings.HasPrefix(table, "x_") {
		return PGTarget{}, false
	}
	schema := db
	if db == "legacy" {
		schema = "archive"
	}
	return PGTarget{Schema: schema, Table: table, Column: func(c string) bool { return c != "secret" }}, true
}

// translateCase runs a case: the setup into a catalog, then the statement through Parse and
// TranslatePG, returning the statements, notes and error text ("unsupported: ...",
// "untranslatable: ..." or "apply: ...").
func translateCase(t *testing.T, c pgCase) (stmts, notes []string, errText string) {
	t.Helper()
	p := ddl.Parser{Flavor: c.flavor}
	cat := ddl.Catalog{}
	for _, s := range c.setup {
		chs, err := p.Parse(s, "shop")
		if err != nil {
			t.Fatalf("setup %q: %v", s, err)
		}
		for _, ch := range chs {
			if err := cat.Apply(ch); err != nil {
				t.Fatalf("setup %q: %v", s, err)
			}
		}
	}
	chs, err := p.Parse(c.sql, "shop")
	if err != nil {
		var ue *ddl.UnsupportedError
		if !errors.As(err, &ue) {
			t.Fatalf("parse error of type %T: %v", err, err)
		}
		return nil, nil, "unsupported: " + ue.Reason
	}
	for _, ch := range chs {
		plan, err := TranslatePG(ch, cat, testResolver, mapping.Policy{})
		if err != nil {
			var te *UntranslatableError
			var ae *ddl.ApplyError
			switch {
			case errors.As(err, &te):
				return stmts, notes, "untranslatable: " + te.Error()
			case errors.As(err, &ae):
				return stmts, notes, "apply: " + ae.Error()
			}
			t.Fatalf("translate error of type %T: %v", err, err)
		}
		stmts = append(stmts, plan.Statements...)
		notes = append(notes, plan.Notes...)
		if err := cat.Apply(ch); err != nil && !errors.Is(err, ddl.ErrNotTracked) {
			t.Fatalf("apply after translation: %v", err)
		}
	}
	return stmts, notes, ""
}

func TestTranslatePG(t *testing.T) {
	dump := map[string]map[string]any{}
	for _, c := range pgCases {
		t.Run(c.name, func(t *testing.T) {
			stmts, notes, errText := translateCase(t, c)
			dump[c.name] = map[string]any{"want": stmts, "notes": notes, "err": errText}
			if !reflect.DeepEqual(stmts, c.want) {
				t.Errorf("%s\n got  %q\n want %q", c.sql, stmts, c.want)
			}
			if !reflect.DeepEqual(notes, c.notes) {
				t.Errorf("%s\n notes %q\n want  %q", c.sql, notes, c.notes)
			}
			if c.err == "" && errText != "" || c.err != "" && !strings.Contains(errText, c.err) {
				t.Errorf("%s\n error %q\n want  %q", c.sql, errText, c.err)
			}
		})
	}
	if path := os.Getenv("DDL_DUMP"); path != "" { // to review changed outputs
		b, _ := json.MarshalIndent(dump, "", " ")
		os.WriteFile(path, b, 0o644)
	}
}

// SERIAL is BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE: beside PRIMARY KEY (id) its
// unique index repeats the key and is not created (a deferrable constraint on the key
// columns would make every upsert fail), in CREATE TABLE and in ALTER TABLE ADD UNIQUE.
func TestTranslateSerialKey(t *testing.T) {
	resolve := func(db, table string) (PGTarget, bool) { return PGTarget{Schema: db, Table: table}, true }
	for _, sql := range []string{
		"CREATE TABLE t (id SERIAL PRIMARY KEY, v int)",
		"CREATE TABLE t (id SERIAL, v int, PRIMARY KEY (id))",
	} {
		ch, err := ddl.Parse(sql, "d")
		if err != nil {
			t.Fatal(err)
		}
		plan, err := TranslatePG(ch[0], nil, resolve, mapping.Policy{})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Statements) != 1 || strings.Contains(plan.Statements[0], "UNIQUE") || !strings.Contains(plan.Statements[0], `PRIMARY KEY ("id")`) {
			t.Errorf("%s: %q", sql, plan.Statements)
		}
	}
}
