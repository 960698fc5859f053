package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
[source]
host = "127.0.0.1"
user = "replicator"
password = "${MYSQL_PASSWORD}"
server_id = 4201

[target]
type = "postgres"
[target.postgres]
url = "postgres://app@127.0.0.1:5432/app?sslmode=disable"

[[tables]]
source = "shop.orders"
`

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseMinimalAppliesDefaults(t *testing.T) {
	c, err := Parse(minimal, env(map[string]string{"MYSQL_PASSWORD": "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Source.Password != "s3cret" {
		t.Errorf("password = %q, want expanded s3cret", c.Source.Password)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"source.port", c.Source.Port, 3306},
		{"source.tls.mode", c.Source.TLS.Mode, "preferred"},
		{"source.connect_timeout", c.Source.ConnectTimeout.Duration, 10 * time.Second},
		{"source.binlog_read_timeout", c.Source.BinlogReadTimeout.Duration, 30 * time.Second},
		{"source.binlog_seek_timeout", c.Source.BinlogSeekTimeout.Duration, 10 * time.Minute},
		{"snapshot.parallelism", c.Snapshot.Parallelism, 4},
		{"snapshot.chunk_rows", c.Snapshot.ChunkRows, 100000},
		{"snapshot.on_existing", c.Snapshot.OnExisting, "error"},
		{"snapshot.on_missing_binlog", c.Snapshot.OnMissingBinlog, "stop"},
		{"apply.batch_rows", c.Apply.BatchRows, 10000},
		{"apply.flush_interval", c.Apply.FlushInterval.Duration, time.Duration(0)},
		{"ddl.on_error", c.DDL.OnError, "stop"},
		{"state.schema", c.State.Schema, "_replicator"},
		{"log.level", c.Log.Level, "info"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if p := c.Tables[0].Pattern(); len(c.Tables) != 1 || !p.Match("shop", "orders") || p.Match("shop", "items") {
		t.Errorf("tables = %+v: the validated pattern must select shop.orders alone", c.Tables)
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	vars := env(map[string]string{"MYSQL_PASSWORD": "x"})
	cases := []struct {
		name string
		edit func(string) string
		want string
	}{
		{"unknown key", func(s string) string {
			return strings.Replace(s, "server_id = 4201", "server_id = 4201\nserverid = 1", 1)
		}, "unknown key source.serverid"},
		{"negative binlog read timeout", func(s string) string {
			return strings.Replace(s, "server_id = 4201", "server_id = 4201\nbinlog_read_timeout = \"-1s\"", 1)
		}, "source.binlog_read_timeout = -1s: must be positive"},
		{"seek timeout under read timeout", func(s string) string {
			return strings.Replace(s, "server_id = 4201", "server_id = 4201\nbinlog_read_timeout = \"1m\"\nbinlog_seek_timeout = \"30s\"", 1)
		}, "source.binlog_seek_timeout = 30s is shorter than source.binlog_read_timeout = 1m0s"},
		{"unknown table", func(s string) string { return s + "\n[snapshots]\nparallelism = 2\n" }, "unknown key snapshots"},
		{"wrong type", func(s string) string {
			return strings.Replace(s, `host = "127.0.0.1"`, `host = "h"`+"\nport = \"3306\"", 1)
		}, "source.port"},
		{"wrong type has line", func(s string) string {
			return strings.Replace(s, `host = "127.0.0.1"`, `host = "h"`+"\nport = \"3306\"", 1)
		}, "line 4"},
		{"syntax", func(s string) string { return s + "\n[source\n" }, "line"},
		{"missing host", func(s string) string { return strings.Replace(s, `host = "127.0.0.1"`, "", 1) }, "source.host is required"},
		{"missing user", func(s string) string { return strings.Replace(s, `user = "replicator"`, "", 1) }, "source.user is required"},
		{"missing server_id", func(s string) string { return strings.Replace(s, "server_id = 4201", "", 1) }, "source.server_id is required"},
		{"negative server_id", func(s string) string { return strings.Replace(s, "server_id = 4201", "server_id = -1", 1) }, "source.server_id"},
		{"bad port", func(s string) string {
			return strings.Replace(s, `host = "127.0.0.1"`, "host = \"h\"\nport = 70000", 1)
		}, "source.port = 70000"},
		{"bad flavor", func(s string) string {
			return strings.Replace(s, "server_id = 4201", "server_id = 4201\nflavor = \"oracle\"", 1)
		}, "source.flavor"},
		{"bad tls mode", func(s string) string {
			return strings.Replace(s, "server_id = 4201", "server_id = 4201\n[source.tls]\nmode = \"sometimes\"", 1)
		}, "source.tls.mode"},
		{"unset env", func(s string) string { return strings.Replace(s, "MYSQL_PASSWORD", "NOPE_NOT_SET", 1) }, "source.password: environment variable NOPE_NOT_SET is not set"},
		{"missing target type", func(s string) string { return strings.Replace(s, `type = "postgres"`, "", 1) }, "target.type is required"},
		{"bad target type", func(s string) string { return strings.Replace(s, `type = "postgres"`, `type = "redis"`, 1) }, "target.type = \"redis\""},
		{"bad pg url", func(s string) string {
			return strings.Replace(s, "postgres://app@127.0.0.1:5432/app?sslmode=disable", "postgres://app@127.0.0.1:5432/app?sslmode=maybe", 1)
		}, "target.postgres.url"},
		{"missing pg url", func(s string) string {
			return strings.Replace(s, `url = "postgres://app@127.0.0.1:5432/app?sslmode=disable"`, "", 1)
		}, "target.postgres.url is required"},
		{"no tables", func(s string) string { return strings.Replace(s, "[[tables]]\nsource = \"shop.orders\"", "", 1) }, "no [[tables]]"},
		{"bad pattern", func(s string) string { return strings.Replace(s, `source = "shop.orders"`, `source = "shoporders"`, 1) }, "tables[0]: source"},
		{"bad glob", func(s string) string { return strings.Replace(s, `source = "shop.orders"`, `source = "shop.[x"`, 1) }, "bad pattern"},
		{"deletes value", func(s string) string {
			return s + "\n[[tables]]\nsource = \"shop.b\"\ndeletes = \"archive\"\n"
		}, `tables[1].deletes = "archive": must be "hard" (default), "soft" or "ignore"`},
		{"deletes case", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, `source = "shop.orders"`+"\ndeletes = \"Soft\"", 1)
		}, `tables[0].deletes = "Soft": must be`},
		{"where function", func(s string) string {
			return s + "\n[[tables]]\nsource = \"shop.b\"\n[[tables]]\nsource = \"shop.c\"\nwhere = \"SLEEP(1) = 0\"\n"
		}, "tables[2].where: function SLEEP is not supported"},
		{"where subquery", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, `source = "shop.orders"`+"\nwhere = \"id IN (SELECT id FROM x)\"", 1)
		}, "tables[0].where: IN (SELECT ...) is not supported"},
		{"where syntax", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, `source = "shop.orders"`+"\nwhere = \"status = \"", 1)
		}, "tables[0].where: does not parse"},
		{"where escapes", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, `source = "shop.orders"`+"\nwhere = \"a = 1) OR (1\"", 1)
		}, "tables[0].where: unbalanced parentheses"},
		{"source_column without fan-in", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, "source = \"shop.*\"\nsource_column = \"src\"", 1)
		}, `tables[0]: source_column = "src": only for a rule that merges several source tables`},
		{"source_column on one table", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, "source = \"shop.orders\"\ntarget = \"all.orders\"\nsource_column = \"src\"", 1)
		}, `tables[0]: source_column = "src": only for`},
		{"fan-in source_column with a dot", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, "source = \"shop_*.orders\"\ntarget = \"all.orders\"\nsource_column = \"a.b\"", 1)
		}, `tables[0]: source_column = "a.b": must be a column name`},
		{"fan-in source_column a marker", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, "source = \"shop_*.orders\"\ntarget = \"all.orders\"\nsource_column = \"_deleted\"", 1)
		}, `tables[0]: source_column = "_deleted": the name of a soft-delete marker`},
		{"fan-in source_column a key column", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, "source = \"shop_*.orders\"\ntarget = \"all.orders\"\nkey = [\"replicator_source\"]", 1)
		}, `tables[0]: source_column = "replicator_source": the rule also names it`},
		{"fan-in keyless_index", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, "source = \"shop_*.orders\"\ntarget = \"all.orders\"\nkeyless_index = [\"a\"]", 1)
		}, `tables[0]: keyless_index: a fan-in rule (target "all.orders" for the tables of "shop_*.orders") needs a key`},
		{"fan-in renamed onto the source column", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, "source = \"shop_*.orders\"\ntarget = \"all.orders\"\nrename = { a = \"replicator_source\" }", 1)
		}, `tables[0].rename: column "a" renamed to "replicator_source", the name of a metadata column`},
		{"columns and exclude", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, "source = \"shop.orders\"\ncolumns = [\"a\"]\nexclude_columns = [\"b\"]", 1)
		}, "columns and exclude_columns"},
		{"key excluded", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, "source = \"shop.orders\"\nkey = [\"a\"]\nexclude_columns = [\"a\"]", 1)
		}, "key column \"a\" is also in exclude_columns"},
		{"field_types on postgres", func(s string) string {
			return strings.Replace(s, `source = "shop.orders"`, "source = \"shop.orders\"\nfield_types = { a = \"text\" }", 1)
		}, "field_types: Elasticsearch targets only"},
		{"parallelism", func(s string) string { return s + "\n[snapshot]\nparallelism = 0\nchunk_rows = 10\n" }, "snapshot.chunk_rows"},
		{"on_existing", func(s string) string { return s + "\n[snapshot]\non_existing = \"drop\"\n" }, "snapshot.on_existing"},
		{"on_missing_binlog", func(s string) string { return s + "\n[snapshot]\non_missing_binlog = \"retry\"\n" }, "snapshot.on_missing_binlog"},
		{"bad duration", func(s string) string { return s + "\n[apply]\nflush_interval = \"soon\"\n" }, "flush_interval"},
		{"ddl on_error", func(s string) string { return s + "\n[ddl]\non_error = \"ignore\"\n" }, "ddl.on_error"},
		{"log level", func(s string) string { return s + "\n[log]\nlevel = \"loud\"\n" }, "log.level"},
		{"state schema", func(s string) string { return s + "\n[state]\nschema = \"bad schema\"\n" }, "state.schema"},
		{"http listen", func(s string) string { return s + "\n[http]\nlisten = \"9187\"\n" }, "http.listen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.edit(minimal), vars)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestFanInRule: a pattern source with a target of one table is a fan-in rule, with the
// source column (default or source_column); other rules are not.
func TestFanInRule(t *testing.T) {
	vars := env(map[string]string{"MYSQL_PASSWORD": "x"})
	cases := []struct {
		source, target, column string
		fanIn                  bool
		want                   string // SourceColumnName
	}{
		{"shop_*.orders", "all.orders", "", true, "replicator_source"},
		{"shop_*.orders", "all.orders", "shard", true, "shard"},
		{"shop.*", "all.everything", "", true, "replicator_source"},
		{"shop_*.orders", "{db}.orders", "", true, "replicator_source"},
		{"shop_*.orders", "all.*", "", false, ""},
		{"shop_*.*", "{db}.{table}", "", false, ""},
		{"shop_*.orders", "", "", false, ""},
		{"shop.orders", "all.orders", "", false, ""},
	}
	for _, c := range cases {
		text := strings.Replace(minimal, `source = "shop.orders"`, fmt.Sprintf("source = %q\ntarget = %q", c.source, c.target), 1)
		if c.target == "" {
			text = strings.Replace(minimal, `source = "shop.orders"`, fmt.Sprintf("source = %q", c.source), 1)
		}
		if c.column != "" {
			text = strings.Replace(text, "[[tables]]\n", "[[tables]]\nsource_column = \""+c.column+"\"\n", 1)
		}
		cfg, err := Parse(text, vars)
		if err != nil {
			t.Fatalf("%s -> %s: %v", c.source, c.target, err)
		}
		r := &cfg.Tables[0]
		if r.FanIn() != c.fanIn || r.SourceColumnName() != c.want {
			t.Errorf("%s -> %s: FanIn %v, SourceColumnName %q; want %v, %q", c.source, c.target, r.FanIn(), r.SourceColumnName(), c.fanIn, c.want)
		}
		if got := r.Transforms().Source(); got != c.want {
			t.Errorf("%s -> %s: compiled source column %q, want %q", c.source, c.target, got, c.want)
		}
	}
}

func TestElasticsearchTarget(t *testing.T) {
	base := strings.Replace(minimal, "type = \"postgres\"\n[target.postgres]\nurl = \"postgres://app@127.0.0.1:5432/app?sslmode=disable\"",
		"type = \"elasticsearch\"\n[target.elasticsearch]\naddresses = [\"${ES_URL}\"]", 1)
	vars := env(map[string]string{"MYSQL_PASSWORD": "x", "ES_URL": "http://127.0.0.1:9200"})
	c, err := Parse(base, vars)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Target.Elasticsearch.Addresses[0]; got != "http://127.0.0.1:9200" {
		t.Errorf("addresses[0] = %q (slices must be expanded too)", got)
	}
	for _, tc := range []struct{ edit, want string }{
		{`target = "Orders"`, "must be lower case"},
		{`target = "a,b"`, "must not contain"},
		{`target = "_x"`, "must not start"},
		{`field_types = { a = "match_only_text" }`, `field_types: column "a" = "match_only_text": must be "text" or "keyword"`},
		{`field_types = { a = "text", A = "keyword" }`, "listed twice"},
		{`deletes = "archive"`, `tables[0].deletes = "archive": must be`},
	} {
		_, err := Parse(strings.Replace(base, `source = "shop.orders"`, "source = \"shop.orders\"\n"+tc.edit, 1), vars)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.edit, err, tc.want)
		}
	}
	c, err = Parse(strings.Replace(base, `source = "shop.orders"`, "source = \"shop.orders\"\nfield_types = { Code = \"keyword\", note = \"text\" }", 1), vars)
	if err != nil || c.Tables[0].FieldTypes["Code"] != "keyword" || c.Tables[0].FieldTypes["note"] != "text" {
		t.Errorf("field_types: %v, %v", err, c.Tables[0].FieldTypes)
	}
	fanIn := strings.Replace(base, `source = "shop.orders"`, "source = \"shop_*.orders\"\ntarget = \"all-orders\"", 1)
	if c, err := Parse(fanIn, vars); err != nil || !c.Tables[0].FanIn() || c.Tables[0].SourceColumnName() != "replicator_source" {
		t.Errorf("fan-in into one index: err = %v", err)
	}
	// An index name with {table} gives each table its own index; one without it and with
	// dots is still one index for all.
	for target, want := range map[string]bool{"{db}-{table}": false, "all.orders": true, "{db}.orders": true, "{table}.x": false} {
		c, err := Parse(strings.Replace(base, `source = "shop.orders"`, "source = \"shop_*.orders\"\ntarget = \""+target+"\"", 1), vars)
		if err != nil || c.Tables[0].FanIn() != want {
			t.Errorf("target %q: err = %v, fan-in %v, want %v", target, err, err == nil && c.Tables[0].FanIn(), want)
		}
	}
	bad := strings.Replace(base, "${ES_URL}", "127.0.0.1:9200", 1)
	if _, err := Parse(bad, vars); err == nil || !strings.Contains(err.Error(), "target.elasticsearch.addresses[0]") {
		t.Errorf("err = %v, want addresses[0] named", err)
	}
}

func TestPasswordFileAndEscapes(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "pw")
	if err := os.WriteFile(pf, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(minimal, `password = "${MYSQL_PASSWORD}"`, `password_file = "`+pf+`"`, 1)
	c, err := Parse(text, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Source.Password != "from-file" {
		t.Errorf("password = %q", c.Source.Password)
	}
	text = strings.Replace(minimal, `password = "${MYSQL_PASSWORD}"`, `password = "a$${B}c$d"`, 1)
	c, err = Parse(text, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Source.Password != "a${B}c$d" {
		t.Errorf("password = %q, want literal a${B}c$d", c.Source.Password)
	}
	both := strings.Replace(minimal, `password = "${MYSQL_PASSWORD}"`, `password = "x"`+"\npassword_file = \""+pf+`"`, 1)
	if _, err := Parse(both, env(nil)); err == nil || !strings.Contains(err.Error(), "password_file") {
		t.Errorf("err = %v", err)
	}
}

func TestPatterns(t *testing.T) {
	cases := []struct {
		pat       string
		db, table string
		want      bool
	}{
		{"shop.orders", "shop", "orders", true},
		{"shop.orders", "shop", "Orders", false},
		{"shop.*", "shop", "anything", true},
		{"shop.*", "shop2", "x", false},
		{"*", "shop", "x", true},
		{"*", "mysql", "user", false},
		{"*", "information_schema", "tables", false},
		{"shop.order_?", "shop", "order_1", true},
		{"`my.db`.`t`", "my.db", "t", true},
		{"*.orders", "eu", "orders", true},
	}
	for _, tc := range cases {
		p, err := ParsePattern(tc.pat)
		if err != nil {
			t.Fatalf("%s: %v", tc.pat, err)
		}
		if got := p.Match(tc.db, tc.table); got != tc.want {
			t.Errorf("%s.Match(%s, %s) = %v, want %v", tc.pat, tc.db, tc.table, got, tc.want)
		}
	}
	for _, bad := range []string{"", "a.b.c", ".x", "x.", "`a.b"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%q) = nil error", bad)
		}
	}
}

func TestExampleConfigParses(t *testing.T) {
	b, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(string(b), env(map[string]string{"MYSQL_PASSWORD": "x"})); err != nil {
		t.Fatalf("config.example.toml: %v", err)
	}
}

func TestMappingDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	vars := env(map[string]string{"MYSQL_PASSWORD": "x"})
	c, err := Parse(minimal, vars)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Mapping, DefaultMapping(); got != want {
		t.Errorf("mapping defaults = %+v, want %+v", got, want)
	}
	if c.Mapping.TinyInt1AsBoolean || c.Mapping.ZeroDates != "infinity" || c.Mapping.TextNUL != "error" || c.Mapping.Spatial != "bytea" || c.Mapping.MariaDBJSON != "text" {
		t.Errorf("mapping defaults = %+v", c.Mapping)
	}
	for _, tc := range []struct{ text, key string }{
		{"zero_dates = \"zero\"", "mapping.zero_dates"},
		{"text_nul = \"keep\"", "mapping.text_nul"},
		{"spatial = \"geometry\"", "mapping.spatial"},
		{"mariadb_json = \"jsonb\"", "mapping.mariadb_json"},
		{"tinyint1_as_boolean = \"yes\"", "tinyint1_as_boolean"},
		{"nul = \"error\"", "mapping.nul"},
	} {
		_, err := Parse(minimal+"[mapping]\n"+tc.text+"\n", vars)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: err = %v, want one naming %s", tc.text, err, tc.key)
		}
	}

	p := filepath.Join(t.TempDir(), "c.toml")
	text := strings.Replace(minimal, "${MYSQL_PASSWORD}", "x", 1) + `
[mapping]
tinyint1_as_boolean = true
zero_dates = "null"
text_nul = "replace"
spatial = "postgis"
mariadb_json = "json"
`
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Mapping{TinyInt1AsBoolean: true, ZeroDates: "null", TextNUL: "replace", Spatial: "postgis", MariaDBJSON: "json"}
	if c.Mapping != want {
		t.Errorf("after Load, Mapping = %+v, want %+v", c.Mapping, want)
	}
	if got := (Mapping{}).WithDefaults(); got != DefaultMapping() {
		t.Errorf("Mapping{}.WithDefaults() = %+v, want %+v", got, DefaultMapping())
	}
}

func TestSecretsListedAndNotInErrors(t *testing.T) {
	const pw = "Pg-Secret-77"
	base := func(url, extra string) string {
		return "[source]\nhost = \"h\"\nuser = \"u\"\npassword = \"Src-Secret-55\"\nserver_id = 9\n[target]\ntype = \"postgres\"\n[target.postgres]\nurl = '" + url + "'\n" + extra + "[[tables]]\nsource = \"a.*\"\n"
	}
	c, err := Parse(base("postgres://u:"+pw+"@h/db", ""), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Secrets(), " ")
	for _, want := range []string{"Src-Secret-55", pw} {
		if !strings.Contains(got, want) {
			t.Errorf("Secrets() = %q lacks %q", got, want)
		}
	}
	for _, url := range []string{
		"postgres://u:" + pw + "@h:notaport/db",
		"postgres://u:" + pw + "@h/db?sslmode=bogus",
		"host=h port=x user=u password=" + pw + " dbname=d",
		"host=h user=u password='" + pw + "' sslmode=bogus",
		"postgres://u:${bad-" + pw + "}@h/db",
	} {
		_, err := Parse(base(url, ""), func(string) (string, bool) { return "", false })
		if err == nil {
			t.Errorf("%s: accepted", url)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error prints the password: %v", err)
		}
	}
	es := "[source]\nhost = \"h\"\nuser = \"u\"\nserver_id = 9\n[target]\ntype = \"elasticsearch\"\n[target.elasticsearch]\naddresses = [\"ftp://e:" + pw + "@h:9200\"]\n[[tables]]\nsource = \"a.*\"\n"
	if _, err := Parse(es, func(string) (string, bool) { return "", false }); err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("Elasticsearch address: %v", err)
	}
}

func TestSecretsSkipValuesShownAnyway(t *testing.T) {
	text := "[source]\nhost = \"h\"\nuser = \"replicator\"\npassword = \"replicator\"\nserver_id = 9\n[target]\ntype = \"postgres\"\n[target.postgres]\nurl = 'postgres://app:app-secret-1@dbhost/appdb'\n[[tables]]\nsource = \"a.*\"\n"
	c, err := Parse(text, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	got := c.Secrets()
	for _, s := range got {
		if s == "replicator" {
			t.Errorf("the password equal to the user name (and the program's name) is redacted: %q", got)
		}
	}
	if len(got) == 0 || got[0] != "app-secret-1" {
		t.Errorf("Secrets() = %q, want the URL's password", got)
	}
}

func TestBinlogSeekTimeoutFollowsReadTimeout(t *testing.T) {
	vars := env(map[string]string{"MYSQL_PASSWORD": "x"})
	cases := []struct {
		name       string
		keys       string
		read, seek time.Duration
	}{
		{"defaults", "", 30 * time.Second, 10 * time.Minute},
		{"short read timeout keeps the seek default", `binlog_read_timeout = "300ms"`, 300 * time.Millisecond, 10 * time.Minute},
		{"long read timeout lifts the seek default", `binlog_read_timeout = "20m"`, 20 * time.Minute, 20 * time.Minute},
		{"both set", "binlog_read_timeout = \"5s\"\nbinlog_seek_timeout = \"1h\"", 5 * time.Second, time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.Replace(minimal, "server_id = 4201", "server_id = 4201\n"+tc.keys, 1), vars)
			if err != nil {
				t.Fatal(err)
			}
			if c.Source.BinlogReadTimeout.Duration != tc.read || c.Source.BinlogSeekTimeout.Duration != tc.seek {
				t.Errorf("read, seek = %s, %s; want %s, %s", c.Source.BinlogReadTimeout.Duration, c.Source.BinlogSeekTimeout.Duration, tc.read, tc.seek)
			}
		})
	}
}
