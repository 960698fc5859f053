package pgddl

import (
	"reflect"
	"strings"
	"testing"

	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// The snapshot renders a table loaded from information_schema (defaults as its text, read
// back with ddl.InfoDefault), the stream a parsed CREATE TABLE (defaults as parsed): both
// through RenderTable, so the same definition gives the same SQL. Each case is one of the
// differences the two renderers had before they were one, with the rendering kept.
func TestRenderSnapshotEqualsStream(t *testing.T) {
	for _, c := range []struct {
		name   string
		sql    string
		target PGTarget // Schema and Table are filled in
		want   []string
	}{{
		// The snapshot rendered no defaults; the stream rendered literal and
		// CURRENT_TIMESTAMP ones. Both do now.
		name: "defaults",
		sql:  "CREATE TABLE t (id int PRIMARY KEY, s varchar(10) NOT NULL DEFAULT 'it''s', n decimal(6,2) DEFAULT 1.5, at datetime(3) DEFAULT CURRENT_TIMESTAMP(3), z date DEFAULT '0000-00-00', u varchar(36) DEFAULT (uuid()), e enum('a','b') NOT NULL DEFAULT 'b', st set('x','y') DEFAULT 'x,y', b bit(3) DEFAULT b'101')",
		want: []string{`CREATE TABLE IF NOT EXISTS "s"."t" ("id" integer NOT NULL, "s" varchar(10) NOT NULL DEFAULT 'it''s', "n" numeric(6,2) DEFAULT 1.50, "at" timestamp(3) without time zone DEFAULT CURRENT_TIMESTAMP(3), "z" date DEFAULT '-infinity', "u" varchar(36), "e" text NOT NULL DEFAULT 'b', "st" text DEFAULT 'x,y', "b" bit(3) DEFAULT B'101', PRIMARY KEY ("id"))`},
	}, {
		// The snapshot made a configured key the PRIMARY KEY and left out the unique index it
		// stands on; the stream created no primary key and a deferrable unique constraint,
		// which INSERT ... ON CONFLICT (code) cannot use as its arbiter.
		name:   "configured key",
		sql:    "CREATE TABLE t (code varchar(8) NOT NULL, v int, UNIQUE KEY uk (code))",
		target: PGTarget{Key: []string{"code"}},
		want:   []string{`CREATE TABLE IF NOT EXISTS "s"."t" ("code" varchar(8) NOT NULL, "v" integer, PRIMARY KEY ("code"))`},
	}, {
		// SERIAL's implied UNIQUE beside the primary key: left out by both (issue 18).
		name: "serial",
		sql:  "CREATE TABLE t (id SERIAL PRIMARY KEY, v int)",
		want: []string{`CREATE TABLE IF NOT EXISTS "s"."t" ("id" numeric(20,0) NOT NULL, "v" integer, PRIMARY KEY ("id"))`},
	}, {
		// The snapshot did not know prefix lengths: it indexed whole varchar columns, made a
		// unique prefix index a full unique constraint and skipped indexes on TEXT. Both use
		// left()/substr() now, and a unique prefix index is a plain index.
		name: "prefix indexes",
		sql:  "CREATE TABLE t (id int PRIMARY KEY, v varchar(500), tx text, bl blob, KEY kv (v(20)), KEY kt (tx(10)), KEY kb (bl(4)), UNIQUE KEY uv (v(30)))",
		want: []string{
			`CREATE TABLE IF NOT EXISTS "s"."t" ("id" integer NOT NULL, "v" varchar(500), "tx" text, "bl" bytea, PRIMARY KEY ("id"))`,
			`CREATE INDEX IF NOT EXISTS "t_kv" ON "s"."t" (left("v", 20))`,
			`CREATE INDEX IF NOT EXISTS "t_kt" ON "s"."t" (left("tx", 10))`,
			`CREATE INDEX IF NOT EXISTS "t_kb" ON "s"."t" (substr("bl", 1, 4))`,
			`CREATE INDEX IF NOT EXISTS "t_uv" ON "s"."t" (left("v", 30))`,
		},
	}, {
		// keyless_index: the snapshot created it, the stream did not.
		name:   "keyless index",
		sql:    "CREATE TABLE t (a int, b varchar(10), KEY kb (b))",
		target: PGTarget{KeylessIndex: []string{"a", "b"}},
		want: []string{
			`CREATE TABLE IF NOT EXISTS "s"."t" ("a" integer, "b" varchar(10))`,
			`CREATE INDEX IF NOT EXISTS "t_kb" ON "s"."t" ("b")`,
			`CREATE INDEX IF NOT EXISTS "t_replicator_keyless" ON "s"."t" ("a", "b")`,
		},
	}, {
		// Unchanged and the same in both: an excluded column and the index on it are left
		// out, FULLTEXT and SPATIAL indexes too, a unique index on a nullable column is a
		// deferrable constraint, a composite key is the primary key.
		name:   "excluded column, fulltext, spatial, nullable unique, composite key",
		sql:    "CREATE TABLE t (a int, b int, secret varchar(10), doc text, g point NOT NULL, m varchar(10), PRIMARY KEY (a, b), KEY ks (secret), FULLTEXT KEY ft (doc), SPATIAL KEY sp (g), UNIQUE KEY um (m))",
		target: PGTarget{Column: func(c string) bool { return c != "secret" }},
		want:   []string{`CREATE TABLE IF NOT EXISTS "s"."t" ("a" integer NOT NULL, "b" integer NOT NULL, "doc" text, "g" bytea NOT NULL, "m" varchar(10), PRIMARY KEY ("a", "b"), CONSTRAINT "t_um" UNIQUE ("m") DEFERRABLE INITIALLY DEFERRED)`},
	}, {
		// Generated and AUTO_INCREMENT columns are plain columns: their values come from the
		// source.
		name: "generated and auto_increment",
		sql:  "CREATE TABLE t (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, a int, b int AS (a * 2) STORED, c int AS (a + 1) VIRTUAL)",
		want: []string{`CREATE TABLE IF NOT EXISTS "s"."t" ("id" bigint NOT NULL, "a" integer, "b" integer, "c" integer, PRIMARY KEY ("id"))`},
	}} {
		t.Run(c.name, func(t *testing.T) {
			chs, err := ddl.Parser{Flavor: ddl.MariaDB}.Parse(c.sql, "d")
			if err != nil {
				t.Fatal(err)
			}
			target := c.target
			target.Schema, target.Table = "s", "t"
			resolve := func(db, table string) (PGTarget, bool) { return target, true }
			plan, err := TranslatePG(chs[0], nil, resolve, mapping.Policy{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plan.Statements, c.want) {
				t.Errorf("stream\n got  %q\n want %q", plan.Statements, c.want)
			}
			// The snapshot's table: the definition information_schema gives, the configured
			// key applied by route.Route.Columns, defaults read back from their text.
			loaded := chs[0].(*ddl.CreateTable).Table.Clone()
			if len(c.target.Key) > 0 {
				if err := loaded.SetKey(c.target.Key); err != nil {
					t.Fatal(err)
				}
			}
			defaults := make([]ddl.Default, len(loaded.Columns))
			for i := range loaded.Columns {
				defaults[i] = ddl.InfoDefault(&loaded.Columns[i], ddl.MariaDB)
			}
			r, err := RenderTable(mapping.Policy{}, loaded, defaults, target)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Statements(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("snapshot\n got  %q\n want %q", got, c.want)
			}
			if !reflect.DeepEqual(r.Notes, plan.Notes) {
				t.Errorf("notes: snapshot %q, stream %q", r.Notes, plan.Notes)
			}
			// The snapshot's schedule: bare table, rows, then key, constraints, indexes.
			if bare := r.CreateBare(); strings.Contains(bare, "PRIMARY KEY") || strings.Contains(bare, "CONSTRAINT") {
				t.Errorf("bare table with keys: %s", bare)
			}
			if (r.AddPrimaryKey() == "") != (len(loaded.Key) == 0) {
				t.Errorf("primary key %q for key %v", r.AddPrimaryKey(), loaded.Key)
			}
		})
	}
}

// A plain index over a whole TEXT, BLOB or JSON column (information_schema can show one
// that MariaDB hashes) is left out by both paths: PostgreSQL's btree rejects long entries.
// The stream used to create it.
func TestRenderUnboundedIndex(t *testing.T) {
	tb := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{
		{Name: "id", DataType: "int", ColumnType: "int(11)"},
		{Name: "doc", DataType: "longtext", ColumnType: "longtext", Nullable: true},
	}, Key: []int{0}, KeyIsPrimary: true, Indexes: []schema.Index{{Name: "kd", Columns: []string{"doc"}}, {Name: "ud", Unique: true, Columns: []string{"doc"}}}}
	r, err := RenderTable(mapping.Policy{}, tb, nil, PGTarget{Schema: "s", Table: "t"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`CREATE TABLE IF NOT EXISTS "s"."t" ("id" integer NOT NULL, "doc" text, PRIMARY KEY ("id"), CONSTRAINT "t_ud" UNIQUE ("doc") DEFERRABLE INITIALLY DEFERRED)`}
	if got := r.Statements(); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "index kd is not created") {
		t.Errorf("notes %q", r.Notes)
	}
}
