package ddl

import (
	"fmt"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

func TestExplore(t *testing.T) {
	p := parser.New()
	for _, s := range []string{
		"ALTER TABLE IF EXISTS t ADD b int",
		"CREATE INDEX IF NOT EXISTS i ON t (a)",
		"DROP INDEX IF EXISTS i ON t",
		"CREATE TABLE t (a int STORAGE DEFAULT)",
		"CREATE TABLE t (a geometry, SPATIAL KEY (a))",
		"CREATE TABLE t (a point NOT NULL, SPATIAL INDEX sp (a))",
		"CREATE SPATIAL INDEX i ON t (a)",
		"ALTER TABLE t ADD FULLTEXT (a)",
		"CREATE TABLE t (a int, b text, FULLTEXT KEY f (b), UNIQUE KEY (a), KEY (a, b(10)), PRIMARY KEY (a))",
		"CREATE TABLE t (a int auto_increment primary key, b int unique, c int key)",
		"CREATE TABLE t (a int) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='hi'",
		"CREATE TABLE t (a varchar(10) CHARACTER SET latin1 COLLATE latin1_bin, b text CHARSET utf8mb4, c varchar(3) BINARY)",
		"CREATE TABLE t (a tinytext, b mediumtext, c longtext, d tinyblob, e blob, f mediumblob, g longblob, h nchar(3), i nvarchar(4), j long varchar, k int1, l int2, m int3, n int4, o int8, p dec(4), q fixed(4,1), r numeric, s float4, t float8, u double(6,2), v boolean, w bit, x integer, y middleint, z datetime, aa timestamp, ab date)",
		"CREATE TABLE t (a vector(3))",
		"CREATE TABLE t (a geometry, b point, c linestring, d polygon, e multipoint, f multilinestring, g multipolygon, h geometrycollection)",
		"CREATE TABLE t (a float(30), b float(10), c decimal, d decimal(65,30))",
		"CREATE TABLE t (a int comment 'x' not null default '5', b char(0))",
		"CREATE TABLE t (a datetime default now(), b datetime(2) default current_timestamp(2), c timestamp default localtimestamp, d date default (curdate()), e varchar(3) default 0x41, f int default null, g varchar(5) default 'it''s', h varbinary(3) default 'a\\b')",
		"CREATE TABLE t LIKE u",
		"CREATE TABLE t (LIKE u)",
		"CREATE TABLE t SELECT 1 AS a",
		"CREATE TABLE t (a int) SELECT 1 AS a",
		"RENAME TABLE a TO tmp, b TO a, tmp TO b",
		"RENAME TABLES a TO b",
		"ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0 FIRST, ADD INDEX (c)",
		"ALTER TABLE t ADD PRIMARY KEY (a, b), DROP PRIMARY KEY",
		"ALTER TABLE t ADD KEY `order` (`order`)",
		"ALTER TABLE `select` CHANGE `order` `Order` int",
		"ALTER TABLE t ALTER COLUMN a SET DEFAULT (uuid())",
		"ALTER TABLE t ADD COLUMN x json DEFAULT ('{}')",
		"CREATE TABLE `ünï` (`ç` int)",
		"CREATE TABLE t (a int) ; ",
		"ALTER TABLE t ADD CONSTRAINT CHECK (a > 0)",
		"ALTER TABLE t DROP CHECK c",
		"ALTER TABLE t ADD INDEX i (a) USING BTREE COMMENT 'x' INVISIBLE",
		"ALTER TABLE t ALTER INDEX i INVISIBLE",
		"ALTER TABLE t ORDER BY a",
		"ALTER TABLE t FORCE",
		"ALTER TABLE t DISCARD TABLESPACE",
		"ALTER TABLE t TRUNCATE PARTITION p1",
		"ALTER TABLE t EXCHANGE PARTITION p1 WITH TABLE u",
		"ALTER TABLE t ADD PARTITION (PARTITION p3 VALUES LESS THAN (10))",
		"ALTER TABLE t REMOVE PARTITIONING",
		"ALTER TABLE t AUTO_INCREMENT = 5",
		"ALTER TABLE t DEFAULT CHARSET utf8mb4",
		"ALTER TABLE t CHARACTER SET = utf8mb4 COLLATE utf8mb4_bin",
		"ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
		"ALTER TABLE t RENAME KEY a TO b",
		"ALTER TABLE t RENAME AS u",
		"ALTER TABLE d1.t RENAME d2.u",
		"ALTER TABLE t ADD COLUMN c INT NOT NULL AUTO_INCREMENT PRIMARY KEY",
		"ALTER TABLE t ENABLE KEYS",
		"CREATE TABLE t (a int NOT NULL, CONSTRAINT pk PRIMARY KEY (a), CONSTRAINT uq UNIQUE (a), CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (a) ON DELETE SET NULL ON UPDATE CASCADE, CHECK (a>0))",
		"CREATE TABLE t (a int references u(a))",
		"DROP TABLE IF EXISTS a, b.c CASCADE",
		"DROP VIEW v",
		"CREATE VIEW v AS SELECT 1",
		"ALTER DATABASE d CHARACTER SET utf8mb4",
		"BEGIN",
		"COMMIT",
		"FLUSH PRIVILEGES",
		"SET @a = 1",
		"CREATE TABLE t (a enum('x','y,z','it''s') default 'x', b set('a','b') default 'a,b')",
		"CREATE TABLE t (a int signed)",
		"CREATE TABLE t (a time(3), b year(4), c timestamp(6) NULL)",
		"CREATE TABLE t (a char(10) ascii, b varchar(10) unicode)",
		"ALTER TABLE t MODIFY a bigint UNSIGNED NOT NULL AFTER b",
		"ALTER TABLE t ALTER COLUMN a SET DEFAULT 'x', ALTER b DROP DEFAULT",
		"CREATE TABLE t (a bit(3) default 5, b int default 1e3, c double default -1.5, d decimal(6,2) default '3.1')",
		"CREATE TABLE t (a int) DEFAULT CHARSET=latin1 /*!50100 PARTITION BY RANGE (a) (PARTITION p0 VALUES LESS THAN (10) ENGINE = InnoDB) */",
		"CREATE TABLE t (id int) ROW_FORMAT=DYNAMIC PAGE_CHECKSUM=1",
		"CREATE TABLE t (id int) TRANSACTIONAL=1",
		"CREATE TABLE t (a datetime ON UPDATE CURRENT_TIMESTAMP)",
		"CREATE TABLE t (a int) /*M!100000 COMMENT 'x' */",
		"create table t (a int) ENGINE=Aria",
		"CREATE TABLE t (a int, b int, PRIMARY KEY (a) USING BTREE, KEY k (b) USING HASH) ",
		"CREATE TABLE t (a varchar(10) default current_user())",
		"CREATE TABLE t(a int DEFAULT 1 + 1)",
		"CREATE TABLE t(a datetime DEFAULT '2020-01-01 00:00:00', b date default '0000-00-00', c time default '-838:59:59')",
		"CREATE TABLE t(a binary(16) default '', b blob default 'x')",
} {
		stmts, warns, err := p.Parse(s, "", "")
		if err != nil {
			fmt.Printf("%-60q ERR %v\n", s, err)
			continue
		}
		for _, st := range stmts {
			fmt.Printf("%-60q %T warns=%v\n", s, st, warns)
			if a, ok := st.(*ast.AlterTableStmt); ok {
				for _, sp := range a.Specs {
					fmt.Printf("     spec tp=%d ifne=%v ife=%v\n", sp.Tp, sp.IfNotExists, sp.IfExists)
				}
			}
			if c, ok := st.(*ast.CreateTableStmt); ok {
				for _, col := range c.Cols {
					fmt.Printf("     col %s tp=%d flen=%d dec=%d flag=%d elems=%v str=%s ch=%q col=%q\n", col.Name.Name.O, col.Tp.GetType(), col.Tp.GetFlen(), col.Tp.GetDecimal(), col.Tp.GetFlag(), col.Tp.GetElems(), col.Tp.String(), col.Tp.GetCharset(), col.Tp.GetCollate())
					for _, o := range col.Options {
						fmt.Printf("        opt %d %T stored=%v\n", o.Tp, o.Expr, o.Stored)
					}
				}
			}
		}
	}
}
