package source

import (
	"reflect"
	"testing"

	"github.com/replicator/replicator/schema"
)

func TestParseForeignKeys(t *testing.T) {
	create := "CREATE TABLE `c` (\n" +
		"  `id` int(11) NOT NULL,\n" +
		"  `pid` int(11) DEFAULT NULL,\n" +
		"  `on delete cascade` int DEFAULT NULL,\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  KEY `c_fk` (`pid`),\n" +
		"  CONSTRAINT `c_fk` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) ON DELETE CASCADE ON UPDATE SET NULL,\n" +
		"  CONSTRAINT `plain` FOREIGN KEY (`on delete cascade`) REFERENCES `other`.`q` (`x`),\n" +
		"  CONSTRAINT `we``ird` FOREIGN KEY (`pid`, `id`) REFERENCES `r` (`a`, `b`) ON UPDATE SET DEFAULT,\n" +
		"  CONSTRAINT `chk` CHECK (`pid` > 0)\n" +
		") ENGINE=InnoDB"
	want := []schema.ForeignKey{
		{Name: "c_fk", OnDelete: "CASCADE", OnUpdate: "SET NULL", RefTable: "p", Columns: []string{"pid"}, RefColumns: []string{"id"}},
		{Name: "plain", OnDelete: "RESTRICT", OnUpdate: "RESTRICT", RefTable: "q", RefSchema: "other", Columns: []string{"on delete cascade"}, RefColumns: []string{"x"}},
		{Name: "we`ird", OnDelete: "RESTRICT", OnUpdate: "SET DEFAULT", RefTable: "r", Columns: []string{"pid", "id"}, RefColumns: []string{"a", "b"}},
	}
	if got := parseForeignKeys(create); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// sql_quote_show_create = 0 and ANSI_QUOTES.
	for _, line := range []string{
		"  CONSTRAINT c_fk FOREIGN KEY (pid) REFERENCES p (id) ON DELETE NO ACTION ON UPDATE CASCADE",
		`  CONSTRAINT "c_fk" FOREIGN KEY ("pid") REFERENCES "p" ("id") ON DELETE NO ACTION ON UPDATE CASCADE`,
	} {
		got := parseForeignKeys(line)
		if len(got) != 1 || !reflect.DeepEqual(got[0], schema.ForeignKey{Name: "c_fk", OnDelete: "NO ACTION", OnUpdate: "CASCADE", RefTable: "p", Columns: []string{"pid"}, RefColumns: []string{"id"}}) {
			t.Errorf("%s: got %+v", line, got)
		}
	}
}
