package ddl

import (
	"reflect"
	"testing"

	"github.com/replicator/replicator/schema"
)

// TestColumnFields: a column parsed from DDL has the fields source.LoadTable reads for the
// same definition. The MariaDB expectations were checked against MariaDB 10.11's
// information_schema.
func TestColumnFields(t *testing.T) {
	null := ptr("NULL")
	cases := []struct {
		flavor Flavor
		def    string
		want   schema.Column
	}{
		// integers: display widths on MariaDB, none on MySQL 8 (but TINYINT(1), ZEROFILL)
		{MariaDB, "c int", schema.Column{DataType: "int", ColumnType: "int(11)", Nullable: true, Default: null}},
		{MySQL, "c int", schema.Column{DataType: "int", ColumnType: "int", Nullable: true}},
		{MariaDB, "c int unsigned NOT NULL", schema.Column{DataType: "int", ColumnType: "int(10) unsigned", Unsigned: true}},
		{MySQL, "c int unsigned NOT NULL", schema.Column{DataType: "int", ColumnType: "int unsigned", Unsigned: true}},
		{MariaDB, "c int(5) zerofill", schema.Column{DataType: "int", ColumnType: "int(5) unsigned zerofill", Unsigned: true, Nullable: true, Default: null}},
		{MySQL, "c int zerofill", schema.Column{DataType: "int", ColumnType: "int(10) unsigned zerofill", Unsigned: true, Nullable: true}},
		{MariaDB, "c tinyint", schema.Column{DataType: "tinyint", ColumnType: "tinyint(4)", Nullable: true, Default: null}},
		{MySQL, "c bool DEFAULT TRUE", schema.Column{DataType: "tinyint", ColumnType: "tinyint(1)", Nullable: true, Default: ptr("1")}},
		{MariaDB, "c smallint unsigned", schema.Column{DataType: "smallint", ColumnType: "smallint(5) unsigned", Unsigned: true, Nullable: true, Default: null}},
		{MariaDB, "c mediumint", schema.Column{DataType: "mediumint", ColumnType: "mediumint(9)", Nullable: true, Default: null}},
		{MariaDB, "c bigint(20) unsigned", schema.Column{DataType: "bigint", ColumnType: "bigint(20) unsigned", Unsigned: true, Nullable: true, Default: null}},
		{MySQL, "c serial", schema.Column{DataType: "bigint", ColumnType: "bigint unsigned", Unsigned: true, AutoIncrement: true}},
		{MariaDB, "c int DEFAULT 1e3", schema.Column{DataType: "int", ColumnType: "int(11)", Nullable: true, Default: ptr("1000")}},
		{MariaDB, "c int DEFAULT '5'", schema.Column{DataType: "int", ColumnType: "int(11)", Nullable: true, Default: ptr("5")}},
		{MariaDB, "c int DEFAULT NULL", schema.Column{DataType: "int", ColumnType: "int(11)", Nullable: true, Default: null}},
		{MySQL, "c int DEFAULT NULL", schema.Column{DataType: "int", ColumnType: "int", Nullable: true}},
		{MySQL, "c int DEFAULT -3", schema.Column{DataType: "int", ColumnType: "int", Nullable: true, Default: ptr("-3")}},
		// decimal, float, bit
		{MariaDB, "c decimal", schema.Column{DataType: "decimal", ColumnType: "decimal(10,0)", Precision: 10, Nullable: true, Default: null}},
		{MariaDB, "c decimal(6,2) DEFAULT '3.1'", schema.Column{DataType: "decimal", ColumnType: "decimal(6,2)", Precision: 6, Scale: 2, Nullable: true, Default: ptr("3.10")}},
		{MySQL, "c numeric(5,2) unsigned DEFAULT 1", schema.Column{DataType: "decimal", ColumnType: "decimal(5,2) unsigned", Unsigned: true, Precision: 5, Scale: 2, Nullable: true, Default: ptr("1.00")}},
		{MariaDB, "c float(7,4)", schema.Column{DataType: "float", ColumnType: "float(7,4)", Nullable: true, Default: null}},
		{MariaDB, "c float(30)", schema.Column{DataType: "double", ColumnType: "double", Nullable: true, Default: null}},
		{MariaDB, "c real", schema.Column{DataType: "double", ColumnType: "double", Nullable: true, Default: null}},
		{MariaDB, "c double(6,2) DEFAULT -1.5", schema.Column{DataType: "double", ColumnType: "double(6,2)", Nullable: true, Default: ptr("-1.50")}},
		{MariaDB, "c float DEFAULT -0.0", schema.Column{DataType: "float", ColumnType: "float", Nullable: true, Default: ptr("0")}},
		{MariaDB, "c bit", schema.Column{DataType: "bit", ColumnType: "bit(1)", Precision: 1, Nullable: true, Default: null}},
		{MariaDB, "c bit(3) DEFAULT 5", schema.Column{DataType: "bit", ColumnType: "bit(3)", Precision: 3, Nullable: true, Default: ptr("b'101'")}},
		{MySQL, "c bit(8) DEFAULT b'00000101'", schema.Column{DataType: "bit", ColumnType: "bit(8)", Precision: 8, Nullable: true, Default: ptr("b'101'")}},
		// temporal
		{MariaDB, "c year", schema.Column{DataType: "year", ColumnType: "year(4)", Nullable: true, Default: null}},
		{MySQL, "c year", schema.Column{DataType: "year", ColumnType: "year", Nullable: true}},
		{MariaDB, "c datetime(6)", schema.Column{DataType: "datetime", ColumnType: "datetime(6)", FracDigits: 6, Nullable: true, Default: null}},
		{MariaDB, "c time", schema.Column{DataType: "time", ColumnType: "time", Nullable: true, Default: null}},
		{MariaDB, "c timestamp(3) NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)", schema.Column{DataType: "timestamp", ColumnType: "timestamp(3)", FracDigits: 3, Nullable: true, Default: ptr("current_timestamp(3)")}},
		{MySQL, "c timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)", schema.Column{DataType: "timestamp", ColumnType: "timestamp(3)", FracDigits: 3, Default: ptr("CURRENT_TIMESTAMP(3)")}},
		{MariaDB, "c datetime DEFAULT now()", schema.Column{DataType: "datetime", ColumnType: "datetime", Nullable: true, Default: ptr("current_timestamp()")}},
		{MySQL, "c datetime DEFAULT localtimestamp", schema.Column{DataType: "datetime", ColumnType: "datetime", Nullable: true, Default: ptr("CURRENT_TIMESTAMP")}},
		// MariaDB shows curdate(): expression text is this package's rendering
		{MariaDB, "c date DEFAULT (curdate())", schema.Column{DataType: "date", ColumnType: "date", Nullable: true, Default: ptr("current_date()"), DefaultExpr: true}},
		{MariaDB, "c datetime DEFAULT '2020-01-02 03:04:05'", schema.Column{DataType: "datetime", ColumnType: "datetime", Nullable: true, Default: ptr("'2020-01-02 03:04:05'")}},
		// strings and binary
		{MariaDB, "c char", schema.Column{DataType: "char", ColumnType: "char(1)", CharLength: 1, Nullable: true, Default: null}},
		{MariaDB, "c varchar(5) DEFAULT 'it''s'", schema.Column{DataType: "varchar", ColumnType: "varchar(5)", CharLength: 5, Nullable: true, Default: ptr("'it''s'")}},
		{MySQL, "c varchar(5) DEFAULT 'it''s'", schema.Column{DataType: "varchar", ColumnType: "varchar(5)", CharLength: 5, Nullable: true, Default: ptr("it's")}},
		{MariaDB, "c varchar(3) DEFAULT 0x41", schema.Column{DataType: "varchar", ColumnType: "varchar(3)", CharLength: 3, Nullable: true, Default: ptr("'A'")}},
		{MariaDB, "c varchar(10) CHARACTER SET latin1 COLLATE latin1_bin", schema.Column{DataType: "varchar", ColumnType: "varchar(10)", CharLength: 10, Charset: "latin1", Collation: "latin1_bin", Nullable: true, Default: null}},
		{MariaDB, "c varchar(4) COLLATE utf8mb4_bin", schema.Column{DataType: "varchar", ColumnType: "varchar(4)", CharLength: 4, Charset: "utf8mb4", Collation: "utf8mb4_bin", Nullable: true, Default: null}},
		{MariaDB, "c varchar(3) CHARSET latin1 BINARY", schema.Column{DataType: "varchar", ColumnType: "varchar(3)", CharLength: 3, Charset: "latin1", Collation: "latin1_bin", Nullable: true, Default: null}},
		{MariaDB, "c binary", schema.Column{DataType: "binary", ColumnType: "binary(1)", CharLength: 1, Nullable: true, Default: null}},
		{MariaDB, "c varbinary(3) DEFAULT 'a\\\\b'", schema.Column{DataType: "varbinary", ColumnType: "varbinary(3)", CharLength: 3, Nullable: true, Default: ptr(`'a\\b'`)}},
		{MariaDB, "c text(100) CHARSET latin1", schema.Column{DataType: "tinytext", ColumnType: "tinytext", CharLength: 255, Charset: "latin1", Nullable: true, Default: null}},
		{MariaDB, "c text(100)", schema.Column{DataType: "text", ColumnType: "text", CharLength: 65535, Nullable: true, Default: null}},
		{MariaDB, "c long varchar", schema.Column{DataType: "mediumtext", ColumnType: "mediumtext", CharLength: 16777215, Nullable: true, Default: null}},
		{MariaDB, "c blob(300)", schema.Column{DataType: "blob", ColumnType: "blob", CharLength: 65535, Nullable: true, Default: null}},
		{MariaDB, "c longblob", schema.Column{DataType: "longblob", ColumnType: "longblob", CharLength: 4294967295, Nullable: true, Default: null}},
		{MariaDB, "c enum('x','y,z','it''s') DEFAULT 'x'", schema.Column{DataType: "enum", ColumnType: "enum('x','y,z','it''s')", CharLength: 4, Elems: []string{"x", "y,z", "it's"}, Nullable: true, Default: ptr("'x'")}},
		{MariaDB, "c set('a','b') DEFAULT 'a,b'", schema.Column{DataType: "set", ColumnType: "set('a','b')", CharLength: 3, Elems: []string{"a", "b"}, Nullable: true, Default: ptr("'a,b'")}},
		{MySQL, "c enum('a','b') DEFAULT 2", schema.Column{DataType: "enum", ColumnType: "enum('a','b')", CharLength: 1, Elems: []string{"a", "b"}, Nullable: true, Default: ptr("b")}},
		// JSON is a type on MySQL and LONGTEXT on MariaDB
		{MySQL, "c json", schema.Column{DataType: "json", ColumnType: "json", Nullable: true}},
		{MariaDB, "c json", schema.Column{DataType: "longtext", ColumnType: "longtext", CharLength: 4294967295, Charset: "utf8mb4", Collation: "utf8mb4_bin", Nullable: true, Default: null, JSONValid: true}},
		// spatial types, generated and invisible columns (MariaDB syntax through the rewrites)
		{MariaDB, "c geometry", schema.Column{DataType: "geometry", ColumnType: "geometry", Nullable: true, Default: null}},
		{MySQL, "c point NOT NULL SRID 4326", schema.Column{DataType: "point", ColumnType: "point"}},
		{MariaDB, "c int AS (1 + 1) VIRTUAL", schema.Column{DataType: "int", ColumnType: "int(11)", Generated: "VIRTUAL", Nullable: true, Default: null}},
		{MariaDB, "c int AS (1 + 1) PERSISTENT", schema.Column{DataType: "int", ColumnType: "int(11)", Generated: "STORED", Nullable: true, Default: null}},
		{MariaDB, "c int INVISIBLE COMMENT 'hidden'", schema.Column{DataType: "int", ColumnType: "int(11)", Invisible: true, Comment: "hidden", Nullable: true, Default: null}},
		{MariaDB, "c int DEFAULT (1+1)", schema.Column{DataType: "int", ColumnType: "int(11)", Nullable: true, Default: ptr("(1 + 1)"), DefaultExpr: true}},
		{MariaDB, "c varchar(36) DEFAULT uuid()", schema.Column{DataType: "varchar", ColumnType: "varchar(36)", CharLength: 36, Nullable: true, Default: ptr("uuid()"), DefaultExpr: true}},
		{MySQL, "c varchar(36) DEFAULT (UUID())", schema.Column{DataType: "varchar", ColumnType: "varchar(36)", CharLength: 36, Nullable: true, Default: ptr("uuid()"), DefaultExpr: true}},
		{MySQL, "c vector(3)", schema.Column{DataType: "vector", ColumnType: "vector(3)", Nullable: true}},
		// keys
		{MariaDB, "c int AUTO_INCREMENT PRIMARY KEY", schema.Column{DataType: "int", ColumnType: "int(11)", AutoIncrement: true}},
		{MariaDB, "c int KEY", schema.Column{DataType: "int", ColumnType: "int(11)"}},
	}
	for _, c := range cases {
		chs, err := Parser{Flavor: c.flavor}.Parse("CREATE TABLE t ("+c.def+")", "db")
		if err != nil {
			t.Errorf("%s %q: %v", c.flavor, c.def, err)
			continue
		}
		got := chs[0].(*CreateTable).Table.Columns[0]
		c.want.Name = "c"
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %q:\n got  %s\n want %s", c.flavor, c.def, showColumn(got), showColumn(c.want))
		}
	}
}

func showColumn(c schema.Column) string {
	d := "nil"
	if c.Default != nil {
		d = "«" + *c.Default + "»"
	}
	c.Default = nil
	return sprint(c) + " Default=" + d
}

// TestCreateTableKeys: keys, index names and table options of CREATE TABLE.
func TestCreateTableKeys(t *testing.T) {
	chs, err := Parser{Flavor: MariaDB}.Parse("CREATE TABLE `Shop`.t (id int, a varchar(3) NOT NULL, b varchar(3), c text, d int, "+
		"PRIMARY KEY (ID), UNIQUE KEY (a), KEY (c(10), d), UNIQUE KEY (A, d), KEY (a), FULLTEXT (c), KEY ((d + 1)), "+
		"CONSTRAINT fk FOREIGN KEY (d) REFERENCES u (x) ON DELETE CASCADE, FOREIGN KEY (b) REFERENCES u (y), CHECK (d > 0)) "+
		"ENGINE=innodb COMMENT='hi' DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci", "db")
	if err != nil {
		t.Fatal(err)
	}
	ct := chs[0].(*CreateTable)
	tb := ct.Table
	if tb.Schema != "Shop" || tb.Name != "t" || tb.Engine != "InnoDB" || tb.Comment != "hi" {
		t.Errorf("table %+v", tb)
	}
	if !reflect.DeepEqual(tb.KeyNames(), []string{"id"}) || !tb.KeyIsPrimary || tb.Columns[0].Nullable {
		t.Errorf("key %v primary %v", tb.KeyNames(), tb.KeyIsPrimary)
	}
	if c := tb.Columns[1]; c.Charset != "utf8mb4" || c.Collation != "utf8mb4_unicode_ci" {
		t.Errorf("column a charset %q collation %q", c.Charset, c.Collation)
	}
	want := []schema.Index{
		{Name: "a", Unique: true, Columns: []string{"a"}},
		{Name: "c", Columns: []string{"c", "d"}, Lengths: []int{10, 0}},
		{Name: "a_2", Unique: true, Columns: []string{"a", "d"}},
		{Name: "a_3", Columns: []string{"a"}},
		{Name: "c_2", Columns: []string{"c"}, Kind: "FULLTEXT"},
		{Name: "fk", Columns: []string{"d"}}, // InnoDB's index for the foreign key
		{Name: "b", Columns: []string{"b"}},
	}
	if !reflect.DeepEqual(tb.Indexes, want) {
		t.Errorf("indexes\n got  %+v\n want %+v", tb.Indexes, want)
	}
	wantFK := []schema.ForeignKey{{Name: "fk", OnDelete: "CASCADE", OnUpdate: "RESTRICT", RefTable: "u", Columns: []string{"d"}, RefColumns: []string{"x"}}}
	if !reflect.DeepEqual(tb.ForeignKeys, wantFK) {
		t.Errorf("foreign keys %+v", tb.ForeignKeys)
	}
}
