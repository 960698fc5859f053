package ddl

import "testing"

// MariaDB statements the TiDB grammar rejects as written: collations and character sets it
// does not know, and MariaDB's INET6, INET4 and UUID types. The definition keeps the names
// written.
func TestParseMariaDBNames(t *testing.T) {
	type want struct{ col, dataType, charset, collation string }
	for _, c := range []struct {
		sql  string
		want []want
	}{
		{"CREATE TABLE t (id int PRIMARY KEY, v varchar(10) COLLATE utf8mb4_uca1400_ai_ci)", []want{{"v", "varchar", "utf8mb4", "utf8mb4_uca1400_ai_ci"}}},
		{"CREATE TABLE t (id int PRIMARY KEY, v varchar(10)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_swedish_nopad_as_cs", []want{{"v", "varchar", "utf8mb4", "utf8mb4_uca1400_swedish_nopad_as_cs"}}},
		{"CREATE TABLE t (id int PRIMARY KEY, v varchar(10) CHARACTER SET cp1251 COLLATE cp1251_bin, w text) DEFAULT CHARSET koi8r", []want{{"v", "varchar", "cp1251", "cp1251_bin"}, {"w", "text", "koi8r", ""}}},
		{"CREATE TABLE t (id int PRIMARY KEY, a INET6 NOT NULL DEFAULT '::1', b INET4 COMMENT 'x', uuid UUID, KEY (uuid))", []want{{"a", "inet6", "", ""}, {"b", "inet4", "", ""}, {"uuid", "uuid", "", ""}}},
	} {
		ch, err := Parse(c.sql, "d")
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		ct := ch[0].(*CreateTable)
		for _, w := range c.want {
			col := ct.Table.Columns[ct.Table.ColumnIndex(w.col)]
			if col.DataType != w.dataType || col.Charset != w.charset || col.Collation != w.collation {
				t.Errorf("%s: column %s is %s %s %s, want %+v", c.sql, w.col, col.DataType, col.Charset, col.Collation, w)
			}
		}
	}
	for _, sql := range []string{
		"ALTER TABLE t MODIFY v varchar(10) COLLATE utf8mb4_uca1400_ai_ci",
		"ALTER TABLE t CONVERT TO CHARACTER SET latin2 COLLATE latin2_czech_cs",
		"ALTER TABLE t ADD COLUMN c UUID NOT NULL, MODIFY a INET6",
		"ALTER TABLE t ADD COLUMN ip VARCHAR(40) NULL, LOCK=NONE, ALGORITHM=NOCOPY",
	} {
		if _, err := Parse(sql, "d"); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
}
