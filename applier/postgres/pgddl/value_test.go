package pgddl

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPGIndexName(t *testing.T) {
	if got := PGIndexName("orders", "IDX_Total"); got != "orders_idx_total" {
		t.Errorf("got %q", got)
	}
	long := strings.Repeat("t", 60)
	a, b := PGIndexName(long, "index_one"), PGIndexName(long, "index_two")
	if len(a) > 63 || len(b) > 63 || a == b || a != PGIndexName(long, "INDEX_ONE") {
		t.Errorf("long names %q %q", a, b)
	}
	// cut at a character boundary
	if got := PGIndexName(strings.Repeat("é", 40), "i"); len(got) > 63 || !utf8.ValidString(got) {
		t.Errorf("unicode %q", got)
	}
}

func TestDropPrimaryKeyQuoting(t *testing.T) {
	got := dropPrimaryKeyPG(PGTarget{Schema: "s'1", Table: "t%$ddl$"})
	want := `DO $ddl1$DECLARE n text; BEGIN SELECT conname INTO n FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass('"s''1"."t%$ddl$"') AND contype = 'p'; ` +
		`IF n IS NOT NULL THEN EXECUTE format('ALTER TABLE "s''1"."t%%$ddl$" DROP CONSTRAINT %I', n); END IF; END$ddl1$`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPGString(t *testing.T) {
	for in, want := range map[string]string{"plain": "'plain'", "it's": "'it''s'", `a\b'c`: `E'a\\b''c'`} {
		if got := pgString(in); got != want {
			t.Errorf("pgString(%q) = %s, want %s", in, got, want)
		}
	}
}
