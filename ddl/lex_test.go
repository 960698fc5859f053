package ddl

import (
	"strings"
	"testing"
)

func TestLex(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want string // the tokens' upper-case text, or the source text of quoted ones
	}{
		{"CREATE /* c */ TABLE -- x\n t", "CREATE TABLE T"},
		{"/*!40101 SET x=1 */ ; # comment", "SET X = 1 ;"},
		{"/*M!100100 ALTER */ TABLE", "ALTER TABLE"},
		{"a--b", "A - - B"}, // "--" without a space is two minus signs
		{"`we``ird` 'it''s' \"d\\\"q\" 1.5 .5 x.y", "`we``ird` 'it''s' \"d\\\"q\" 1.5 .5 X . Y"},
		{"f(a, (b))", "F ( A , ( B ) )"},
		{"ünï 'unterminated", "ÜNÏ 'unterminated"},
	} {
		var got []string
		for _, tk := range lex(c.sql, false, 0) {
			if tk.kind == tkQuoted || tk.kind == tkString {
				got = append(got, c.sql[tk.start:tk.end])
			} else {
				got = append(got, tk.upper)
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("lex(%q) = %q, want %q", c.sql, g, c.want)
		}
	}
	if toks := lex(`"a" 'b'`, true, 0); toks[0].kind != tkQuoted || toks[1].kind != tkString {
		t.Errorf("ANSI_QUOTES: %+v", toks)
	}
	if toks := lex("f((a), b)", false, 0); toks[7].depth != 0 || toks[3].depth != 2 {
		t.Errorf("depths: %+v", toks)
	}
}

func TestFallbackRewrites(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"ALTER ONLINE TABLE t ADD a int", "ALTER  TABLE t ADD a int"},
		{"ALTER TABLE IF EXISTS t WAIT 5 ADD a int", "ALTER TABLE  t  ADD a int"},
		{"DROP TABLE t NOWAIT", "DROP TABLE t "},
		{"RENAME TABLES IF EXISTS a TO b", "RENAME TABLE  a TO b"},
		{"CREATE TABLE t (a int AS (b) PERSISTENT, c int INVISIBLE)", "CREATE TABLE t (a int AS (b) STORED, c int COMMENT '" + markerPrefix + "invisible')"},
		{"CREATE TABLE t (g point NOT NULL SRID 4326, nowait int)", "CREATE TABLE t (g LONGBLOB COMMENT '" + markerPrefix + "type=point' NOT NULL , nowait int)"},
		{"ALTER TABLE t ADD COLUMN point int", "ALTER TABLE t ADD COLUMN point int"},
		{"CREATE TABLE t (a int DEFAULT (1+1), b int DEFAULT uuid())", "CREATE TABLE t (a int COMMENT '" + markerPrefix + "default=312b31', b int COMMENT '" + markerPrefix + "default=757569642829')"},
		{"CREATE TABLE t (a datetime DEFAULT now(3))", "CREATE TABLE t (a datetime DEFAULT now(3))"},
		{"ALTER TABLE t ADD UNIQUE KEY IF NOT EXISTS u (a)", "ALTER TABLE t ADD INDEX IF NOT EXISTS u (a)"},
		{"CREATE TABLE t (a int) START TRANSACTION", "CREATE TABLE t (a int) "},
	} {
		p, _ := fallback(prepared{sql: c.in}, false)
		if p.sql != c.out {
			t.Errorf("fallback(%q)\n got  %q\n want %q", c.in, p.sql, c.out)
		}
	}
}
