package pgddl

import "github.com/replicator/replicator/ddl"

// pgCases are MySQL/MariaDB statements with their exact PostgreSQL translation (or the
// error they give). Each runs against a catalog built from its setup statements.
var pgCases = []pgCase{
	{
		name: "create basic types",
		sql:  `CREATE TABLE items (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, sku varchar(32) NOT NULL, qty smallint unsigned NOT NULL DEFAULT 0, price decimal(10,2) DEFAULT '9.5', big bigint unsigned, flag tinyint(1) NOT NULL DEFAULT TRUE, ratio double, f float DEFAULT 1.5)`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."items" ("id" integer NOT NULL, "sku" varchar(32) NOT NULL, "qty" integer NOT NULL DEFAULT 0, "price" numeric(10,2) DEFAULT 9.50, "big" numeric(20,0), "flag" smallint NOT NULL DEFAULT 1, "ratio" double precision, "f" real DEFAULT 1.5, PRIMARY KEY ("id"))`,
		},
	},
	{
		name: "create temporal defaults",
		sql:  `CREATE TABLE ev (id int PRIMARY KEY, at datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3), ts timestamp NULL DEFAULT NOW(), d date DEFAULT '2024-02-29', zero datetime DEFAULT '0000-00-00 00:00:00', t time(2) DEFAULT '-12:30:00', y year DEFAULT 2024)`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."ev" ("id" integer NOT NULL, "at" timestamp(3) without time zone NOT NULL DEFAULT CURRENT_TIMESTAMP(3), "ts" timestamp(0) with time zone DEFAULT CURRENT_TIMESTAMP, "d" date DEFAULT '2024-02-29', "zero" timestamp(0) without time zone DEFAULT '-infinity', "t" interval(2) DEFAULT '-12:30:00', "y" smallint DEFAULT 2024, PRIMARY KEY ("id"))`,
		},
	},
	{
		name: "create strings and binary",
		sql:  `CREATE TABLE docs (id int PRIMARY KEY, title varchar(200) DEFAULT 'it''s', code char(3) DEFAULT 'a\\b', body longtext, kind enum('a','b') NOT NULL DEFAULT 'b', tags set('x','y') DEFAULT 'x,y', h binary(4) DEFAULT 'ab', blobby mediumblob, bits bit(5) DEFAULT b'101', j json)`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."docs" ("id" integer NOT NULL, "title" varchar(200) DEFAULT 'it''s', "code" varchar(3) DEFAULT E'a\\b', "body" text, "kind" text NOT NULL DEFAULT 'b', "tags" text DEFAULT 'x,y', "h" bytea DEFAULT '\x61620000'::bytea, "blobby" bytea, "bits" bit(5) DEFAULT B'00101', "j" jsonb, PRIMARY KEY ("id"))`,
		},
	},
	{
		name: "create unique index fulltext spatial",
		sql:  `CREATE TABLE places (id int PRIMARY KEY, name varchar(100) NOT NULL, slug varchar(100), descr text, geo point NOT NULL, UNIQUE KEY uq_slug (slug), KEY (name, slug), FULLTEXT KEY ft (descr), SPATIAL KEY sp (geo))`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."places" ("id" integer NOT NULL, "name" varchar(100) NOT NULL, "slug" varchar(100), "descr" text, "geo" bytea NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "places_uq_slug" UNIQUE ("slug") DEFERRABLE INITIALLY DEFERRED)`,
			`CREATE INDEX IF NOT EXISTS "places_name" ON "shop"."places" ("name", "slug")`,
		},
		notes: []string{
			`shop.places: FULLTEXT index ft is not created in PostgreSQL`,
			`shop.places: SPATIAL index sp is not created in PostgreSQL`,
		},
	},
	{
		name: "create prefix indexes",
		sql:  `CREATE TABLE pref (id int PRIMARY KEY, t text, b blob, v varchar(500), KEY kt (t(10)), KEY kb (b(4)), UNIQUE KEY uv (v(20)))`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."pref" ("id" integer NOT NULL, "t" text, "b" bytea, "v" varchar(500), PRIMARY KEY ("id"))`,
			`CREATE INDEX IF NOT EXISTS "pref_kt" ON "shop"."pref" (left("t", 10))`,
			`CREATE INDEX IF NOT EXISTS "pref_kb" ON "shop"."pref" (substr("b", 1, 4))`,
			`CREATE INDEX IF NOT EXISTS "pref_uv" ON "shop"."pref" (left("v", 20))`,
		},
		notes: []string{
			`shop.pref: unique index uv has a prefix part: created as a plain index`,
		},
	},
	{
		name: "create composite pk and inline unique",
		sql:  `CREATE TABLE link (a int, b int, c varchar(10) UNIQUE, PRIMARY KEY (a, b))`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."link" ("a" integer NOT NULL, "b" integer NOT NULL, "c" varchar(10), PRIMARY KEY ("a", "b"), CONSTRAINT "link_c" UNIQUE ("c") DEFERRABLE INITIALLY DEFERRED)`,
		},
	},
	{
		name: "create if not exists",
		sql:  `CREATE TABLE IF NOT EXISTS shop.newt (id int PRIMARY KEY)`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."newt" ("id" integer NOT NULL, PRIMARY KEY ("id"))`,
		},
	},
	{
		name:  "create if not exists on tracked table",
		setup: []string{`CREATE TABLE kept (id int PRIMARY KEY)`},
		sql:   `CREATE TABLE IF NOT EXISTS kept (id int PRIMARY KEY, x int, KEY (x))`,
	},
	{
		name: "create or replace mariadb",
		sql:  `CREATE OR REPLACE TABLE rep (id int PRIMARY KEY)`,
		want: []string{
			`DROP TABLE IF EXISTS "shop"."rep"`,
			`CREATE TABLE IF NOT EXISTS "shop"."rep" ("id" integer NOT NULL, PRIMARY KEY ("id"))`,
		},
	},
	{
		name: "create excluded column",
		sql:  `CREATE TABLE acct (id int PRIMARY KEY, login varchar(20), secret varchar(64), KEY ks (secret), KEY kl (login))`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."acct" ("id" integer NOT NULL, "login" varchar(20), PRIMARY KEY ("id"))`,
			`CREATE INDEX IF NOT EXISTS "acct_kl" ON "shop"."acct" ("login")`,
		},
		notes: []string{
			`shop.acct: index ks is not created in PostgreSQL: column secret is not replicated`,
		},
	},
	{
		name: "create not selected",
		sql:  `CREATE TABLE x_scratch (id int PRIMARY KEY)`,
	},
	{
		name: "create qualified other db",
		sql:  `CREATE TABLE other.t (id int PRIMARY KEY)`,
	},
	{
		name: "create routed schema",
		sql:  `CREATE TABLE legacy.old (id int PRIMARY KEY)`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "archive"."old" ("id" integer NOT NULL, PRIMARY KEY ("id"))`,
		},
	},
	{
		name: "create reserved identifiers",
		sql:  "CREATE TABLE `order` (`select` int PRIMARY KEY, `from` varchar(3), KEY `where` (`from`))",
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."order" ("select" integer NOT NULL, "from" varchar(3), PRIMARY KEY ("select"))`,
			`CREATE INDEX IF NOT EXISTS "order_where" ON "shop"."order" ("from")`,
		},
	},
	{
		name: "create mixed case identifiers",
		sql:  "CREATE TABLE `MyTable` (`Id` int PRIMARY KEY, `UserName` varchar(20))",
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."MyTable" ("Id" integer NOT NULL, "UserName" varchar(20), PRIMARY KEY ("Id"))`,
		},
	},
	{
		name: "create spaces quotes unicode",
		sql:  "CREATE TABLE `my table` (`my col` int PRIMARY KEY, `a\"b` int, `c``d` int, `ünï` varchar(5), `日本` int)",
		want: []string{
			"CREATE TABLE IF NOT EXISTS \"shop\".\"my table\" (\"my col\" integer NOT NULL, \"a\"\"b\" integer, \"c`d\" integer, \"ünï\" varchar(5), \"日本\" integer, PRIMARY KEY (\"my col\"))",
		},
	},
	{
		name: "create comments",
		sql:  `/* leading */ CREATE TABLE cm (id int PRIMARY KEY) -- trailing`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."cm" ("id" integer NOT NULL, PRIMARY KEY ("id"))`,
		},
	},
	{
		name: "create executable comment",
		sql:  `CREATE TABLE ec (id int PRIMARY KEY) /*!50100 PARTITION BY HASH (id) PARTITIONS 2 */`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."ec" ("id" integer NOT NULL, PRIMARY KEY ("id"))`,
		},
	},
	{
		name: "create generated and serial",
		sql:  `CREATE TABLE gen (id serial, a int, b int AS (a * 2) STORED, c int GENERATED ALWAYS AS (a + 1) VIRTUAL)`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."gen" ("id" numeric(20,0) NOT NULL, "a" integer, "b" integer, "c" integer, CONSTRAINT "gen_id" UNIQUE ("id") DEFERRABLE INITIALLY DEFERRED)`,
		},
	},
	{
		name: "create persistent invisible mariadb",
		sql:  `CREATE TABLE mdb (id int PRIMARY KEY, a int, b int AS (a + 1) PERSISTENT, c int INVISIBLE)`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."mdb" ("id" integer NOT NULL, "a" integer, "b" integer, "c" integer, PRIMARY KEY ("id"))`,
		},
	},
	{
		name:  "create like",
		setup: []string{`CREATE TABLE src (id int PRIMARY KEY, n varchar(5) DEFAULT 'x', UNIQUE KEY un (n))`},
		sql:   `CREATE TABLE dst LIKE src`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."dst" ("id" integer NOT NULL, "n" varchar(5), PRIMARY KEY ("id"), CONSTRAINT "dst_un" UNIQUE ("n") DEFERRABLE INITIALLY DEFERRED)`,
		},
		notes: []string{
			`shop.dst: column defaults are not copied from shop.src`,
		},
	},
	{
		name: "create like untracked",
		sql:  `CREATE TABLE dst2 LIKE nowhere`,
		err:  `untranslatable: cannot translate CREATE TABLE shop.dst2 LIKE shop.nowhere to PostgreSQL: the definition of shop.nowhere is not tracked`,
	},
	{
		name: "create select rejected",
		sql:  `CREATE TABLE cts SELECT 1 AS a`,
		err:  `unsupported: CREATE TABLE ... SELECT takes its columns from a query`,
	},
	{
		name: "create vector",
		sql:  `CREATE TABLE vec (id int PRIMARY KEY, v vector(3))`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."vec" ("id" integer NOT NULL, "v" bytea, PRIMARY KEY ("id"))`,
		},
	},
	{
		name: "create inet6 inet4 uuid",
		sql:  `CREATE TABLE ip (id int PRIMARY KEY, a inet6, b inet4 NOT NULL DEFAULT '0.0.0.0', u uuid)`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."ip" ("id" integer NOT NULL, "a" inet, "b" inet NOT NULL DEFAULT '0.0.0.0', "u" uuid, PRIMARY KEY ("id"))`,
		},
	},
	{
		name:  "add column end",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN coupon varchar(20)`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "coupon" varchar(20)`,
		},
	},
	{
		name:  "add column not null implicit default",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN qty int NOT NULL, ADD COLUMN kind enum('x','y') NOT NULL FIRST, ADD COLUMN b binary(2) NOT NULL AFTER id, ADD COLUMN d date NOT NULL`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "qty" integer NOT NULL DEFAULT 0, ADD COLUMN IF NOT EXISTS "kind" text NOT NULL DEFAULT 'x', ADD COLUMN IF NOT EXISTS "b" bytea NOT NULL DEFAULT '\x0000'::bytea, ADD COLUMN IF NOT EXISTS "d" date NOT NULL DEFAULT '-infinity'`,
			`ALTER TABLE "shop"."orders" ALTER COLUMN "qty" DROP DEFAULT, ALTER COLUMN "kind" DROP DEFAULT, ALTER COLUMN "b" DROP DEFAULT, ALTER COLUMN "d" DROP DEFAULT`,
		},
	},
	{
		name:  "add column with default",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN region char(2) NOT NULL DEFAULT 'EU' AFTER customer`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "region" varchar(2) NOT NULL DEFAULT 'EU'`,
		},
	},
	{
		name:  "add column current timestamp",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN updated timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "updated" timestamp(6) with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP(6)`,
		},
		notes: []string{
			`shop.orders.updated: existing rows get PostgreSQL's current time, not the source's`,
		},
	},
	{
		name:  "add column if not exists mariadb",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text, ADD COLUMN IF NOT EXISTS extra int`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "extra" integer`,
		},
	},
	{
		name:  "add columns parenthesized",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD (a int, b int DEFAULT 3)`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "a" integer, ADD COLUMN IF NOT EXISTS "b" integer DEFAULT 3`,
		},
	},
	{
		name:  "add column auto increment rejected",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN seq int NOT NULL AUTO_INCREMENT UNIQUE`,
		err:   `untranslatable: cannot translate ALTER TABLE shop.orders ADD COLUMN seq to PostgreSQL: AUTO_INCREMENT: the source fills it in for the existing rows, and the binary log does not carry those values`,
	},
	{
		name:  "add generated column rejected",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN twice decimal(12,2) AS (total * 2) STORED`,
		err:   `untranslatable: cannot translate ALTER TABLE shop.orders ADD COLUMN twice to PostgreSQL: a generated column: the source fills it in for the existing rows, and the binary log does not carry those values`,
	},
	{
		name:  "add column expression default rejected",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN uid varchar(36) DEFAULT (uuid())`,
		err:   `untranslatable: cannot translate ALTER TABLE shop.orders ADD COLUMN uid to PostgreSQL: default uuid(): the source fills it in for the existing rows, and the binary log does not carry those values`,
	},
	{
		name:  "add and drop excluded column",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN secret2 int, DROP COLUMN secret, ADD COLUMN secret int AFTER id`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "secret2" integer`,
		},
	},
	{
		name:  "drop column",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP COLUMN note`,
		want: []string{
			`ALTER TABLE "shop"."orders" DROP COLUMN IF EXISTS "note"`,
		},
	},
	{
		name:  "drop column if exists mariadb",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP COLUMN IF EXISTS nope, DROP COLUMN IF EXISTS note`,
		want: []string{
			`ALTER TABLE "shop"."orders" DROP COLUMN IF EXISTS "note"`,
		},
	},
	{
		name:  "drop column shrinks unique",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP COLUMN status`,
		want: []string{
			`ALTER TABLE "shop"."orders" DROP COLUMN IF EXISTS "status", DROP CONSTRAINT IF EXISTS "orders_uk_customer"`,
			`ALTER TABLE "shop"."orders" ADD CONSTRAINT "orders_uk_customer" UNIQUE ("customer") DEFERRABLE INITIALLY DEFERRED`,
		},
	},
	{
		name:  "modify type and null",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders MODIFY total decimal(14,4) NULL`,
		want: []string{
			`ALTER TABLE "shop"."orders" ALTER COLUMN "total" TYPE numeric(14,4) USING "total"::numeric(14,4), ALTER COLUMN "total" DROP NOT NULL, ALTER COLUMN "total" DROP DEFAULT`,
		},
	},
	{
		name:  "modify same pg type",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders MODIFY customer varchar(64) NOT NULL COMMENT 'who'`,
	},
	{
		name:  "modify position only",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders MODIFY note text AFTER id`,
	},
	{
		name:  "modify key column keeps not null",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders MODIFY id bigint`,
		want: []string{
			`ALTER TABLE "shop"."orders" ALTER COLUMN "id" TYPE bigint USING "id"::bigint`,
		},
	},
	{
		name:  "change rename and retype",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders CHANGE customer client varchar(128) NOT NULL`,
		want: []string{
			`ALTER TABLE "shop"."orders" RENAME COLUMN "customer" TO "client"`,
			`ALTER TABLE "shop"."orders" ALTER COLUMN "client" TYPE varchar(128) USING "client"::varchar(128)`,
		},
	},
	{
		name:  "change case only",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders CHANGE note Note text`,
		want: []string{
			`ALTER TABLE "shop"."orders" RENAME COLUMN "note" TO "Note"`,
		},
	},
	{
		name:  "rename column",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders RENAME COLUMN note TO remark`,
		want: []string{
			`ALTER TABLE "shop"."orders" RENAME COLUMN "note" TO "remark"`,
		},
	},
	{
		name:  "swap columns",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders RENAME COLUMN note TO customer, RENAME COLUMN customer TO note`,
		want: []string{
			`ALTER TABLE "shop"."orders" RENAME COLUMN "note" TO "note_rename_tmp"`,
			`ALTER TABLE "shop"."orders" RENAME COLUMN "customer" TO "note"`,
			`ALTER TABLE "shop"."orders" RENAME COLUMN "note_rename_tmp" TO "customer"`,
		},
	},
	{
		name:  "swap columns with change",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders CHANGE note customer varchar(64) NOT NULL, CHANGE customer note text`,
		want: []string{
			`ALTER TABLE "shop"."orders" RENAME COLUMN "note" TO "note_rename_tmp"`,
			`ALTER TABLE "shop"."orders" RENAME COLUMN "customer" TO "note"`,
			`ALTER TABLE "shop"."orders" RENAME COLUMN "note_rename_tmp" TO "customer"`,
			`ALTER TABLE "shop"."orders" ALTER COLUMN "customer" TYPE varchar(64) USING "customer"::varchar(64), ALTER COLUMN "customer" SET NOT NULL, ALTER COLUMN "note" TYPE text USING "note"::text, ALTER COLUMN "note" DROP NOT NULL`,
		},
	},
	{
		name:  "rename into excluded rejected",
		setup: []string{ordersTable, `ALTER TABLE orders DROP COLUMN secret`},
		sql:   `ALTER TABLE orders RENAME COLUMN note TO secret`,
		err:   `untranslatable: cannot translate ALTER TABLE shop.orders RENAME COLUMN note to PostgreSQL: the column would move into or out of the replicated columns`,
	},
	{
		name:  "set and drop default",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ALTER COLUMN total SET DEFAULT 5, ALTER COLUMN status DROP DEFAULT, ALTER note SET DEFAULT NULL`,
		want: []string{
			`ALTER TABLE "shop"."orders" ALTER COLUMN "total" SET DEFAULT 5.00, ALTER COLUMN "status" DROP DEFAULT, ALTER COLUMN "note" DROP DEFAULT`,
		},
	},
	{
		name:  "set default expression",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ALTER COLUMN note SET DEFAULT (concat('a', 'b'))`,
		want: []string{
			`ALTER TABLE "shop"."orders" ALTER COLUMN "note" DROP DEFAULT`,
		},
		notes: []string{
			`shop.orders.note: expression default concat('a', 'b') is not translated`,
		},
	},
	{
		name:  "add index and unique",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD INDEX idx_created (created), ADD UNIQUE KEY uq_note (note(20)), ADD UNIQUE (created, id)`,
		want: []string{
			`ALTER TABLE "shop"."orders" DROP CONSTRAINT IF EXISTS "orders_created"`,
			`ALTER TABLE "shop"."orders" ADD CONSTRAINT "orders_created" UNIQUE ("created", "id") DEFERRABLE INITIALLY DEFERRED`,
			`CREATE INDEX IF NOT EXISTS "orders_idx_created" ON "shop"."orders" ("created")`,
			`CREATE INDEX IF NOT EXISTS "orders_uq_note" ON "shop"."orders" (left("note", 20))`,
		},
		notes: []string{
			`shop.orders: unique index uq_note has a prefix part: created as a plain index`,
		},
	},
	{
		name:  "add unnamed index name taken",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD INDEX (total), ADD INDEX (total)`,
		want: []string{
			`CREATE INDEX IF NOT EXISTS "orders_total" ON "shop"."orders" ("total")`,
			`CREATE INDEX IF NOT EXISTS "orders_total_2" ON "shop"."orders" ("total")`,
		},
	},
	{
		name:  "create index statement",
		setup: []string{ordersTable},
		sql:   `CREATE INDEX idx_c ON orders (customer(8), created)`,
		want: []string{
			`CREATE INDEX IF NOT EXISTS "orders_idx_c" ON "shop"."orders" (left("customer", 8), "created")`,
		},
	},
	{
		name:  "create unique index statement",
		setup: []string{ordersTable},
		sql:   `CREATE UNIQUE INDEX uq_c ON orders (created)`,
		want: []string{
			`ALTER TABLE "shop"."orders" DROP CONSTRAINT IF EXISTS "orders_uq_c"`,
			`ALTER TABLE "shop"."orders" ADD CONSTRAINT "orders_uq_c" UNIQUE ("created") DEFERRABLE INITIALLY DEFERRED`,
		},
	},
	{
		name:  "create fulltext index statement",
		setup: []string{ordersTable},
		sql:   `CREATE FULLTEXT INDEX ft ON orders (note)`,
		notes: []string{
			`shop.orders: FULLTEXT index ft is not created in PostgreSQL`,
		},
	},
	{
		name:  "drop index",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP INDEX idx_total`,
		want: []string{
			`DROP INDEX IF EXISTS "shop"."orders_idx_total"`,
		},
	},
	{
		name:  "drop unique index",
		setup: []string{ordersTable},
		sql:   `DROP INDEX uk_customer ON orders`,
		want: []string{
			`ALTER TABLE "shop"."orders" DROP CONSTRAINT IF EXISTS "orders_uk_customer"`,
			`DROP INDEX IF EXISTS "shop"."orders_uk_customer"`,
		},
	},
	{
		name:  "drop index if exists mariadb",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP INDEX IF EXISTS nope`,
	},
	{
		name:  "rename index",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders RENAME INDEX idx_total TO idx_sum`,
		want: []string{
			`ALTER INDEX IF EXISTS "shop"."orders_idx_total" RENAME TO "orders_idx_sum"`,
		},
	},
	{
		name:  "drop and add primary key",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP PRIMARY KEY, ADD PRIMARY KEY (id, customer)`,
		want: []string{
			`DO $ddl$DECLARE n text; BEGIN SELECT conname INTO n FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass('"shop"."orders"') AND contype = 'p'; IF n IS NOT NULL THEN EXECUTE format('ALTER TABLE "shop"."orders" DROP CONSTRAINT %I', n); END IF; END$ddl$`,
			`ALTER TABLE "shop"."orders" ADD PRIMARY KEY ("id", "customer")`,
		},
	},
	{
		name:  "drop primary key",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders MODIFY id bigint unsigned NOT NULL, DROP PRIMARY KEY`,
		want: []string{
			`DO $ddl$DECLARE n text; BEGIN SELECT conname INTO n FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass('"shop"."orders"') AND contype = 'p'; IF n IS NOT NULL THEN EXECUTE format('ALTER TABLE "shop"."orders" DROP CONSTRAINT %I', n); END IF; END$ddl$`,
		},
	},
	{
		name:  "add primary key to keyless",
		setup: []string{`CREATE TABLE nokey (a int, b int)`},
		sql:   `ALTER TABLE nokey ADD PRIMARY KEY (a)`,
		want: []string{
			`DO $ddl$DECLARE n text; BEGIN SELECT conname INTO n FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass('"shop"."nokey"') AND contype = 'p'; IF n IS NOT NULL THEN EXECUTE format('ALTER TABLE "shop"."nokey" DROP CONSTRAINT %I', n); END IF; END$ddl$`,
			`ALTER TABLE "shop"."nokey" ADD PRIMARY KEY ("a")`,
		},
	},
	{
		name:  "add foreign key",
		setup: []string{ordersTable, `CREATE TABLE cust (id int PRIMARY KEY)`},
		sql:   `ALTER TABLE orders ADD COLUMN cust_id int, ADD CONSTRAINT fk_cust FOREIGN KEY (cust_id) REFERENCES cust (id) ON DELETE CASCADE`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "cust_id" integer`,
			`CREATE INDEX IF NOT EXISTS "orders_fk_cust" ON "shop"."orders" ("cust_id")`,
		},
		notes: []string{
			`shop.orders: foreign key fk_cust is not created in PostgreSQL`,
		},
	},
	{
		name:  "drop foreign key",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP FOREIGN KEY fk_x`,
	},
	{
		name:  "algorithm lock ignored",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN z int, ALGORITHM=INPLACE, LOCK=NONE`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "z" integer`,
		},
	},
	{
		name:  "engine only no change",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ENGINE=InnoDB`,
	},
	{
		name:  "wait nowait mariadb",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders WAIT 10 ADD COLUMN w int`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "w" integer`,
		},
	},
	{
		name:  "alter online mariadb",
		setup: []string{ordersTable},
		sql:   `ALTER ONLINE TABLE orders ADD COLUMN o int`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "o" integer`,
		},
	},
	{
		name: "alter if exists untracked mariadb",
		sql:  `ALTER TABLE IF EXISTS ghost ADD COLUMN a int`,
		notes: []string{
			`shop.ghost: ALTER TABLE IF EXISTS of a table that is not tracked: nothing done`,
		},
	},
	{
		name: "alter untracked table blind",
		sql:  `ALTER TABLE blind ADD COLUMN a int NOT NULL DEFAULT 1, MODIFY b bigint, DROP INDEX i, ADD UNIQUE (a), DROP COLUMN c`,
		want: []string{
			`ALTER TABLE "shop"."blind" DROP CONSTRAINT IF EXISTS "blind_i", DROP CONSTRAINT IF EXISTS "blind_a", DROP COLUMN IF EXISTS "c"`,
			`DROP INDEX IF EXISTS "shop"."blind_i"`,
			`ALTER TABLE "shop"."blind" ADD COLUMN IF NOT EXISTS "a" integer NOT NULL DEFAULT 1, ALTER COLUMN "b" TYPE bigint USING "b"::bigint, ALTER COLUMN "b" DROP NOT NULL, ALTER COLUMN "b" DROP DEFAULT, ADD CONSTRAINT "blind_a" UNIQUE ("a") DEFERRABLE INITIALLY DEFERRED`,
		},
	},
	{
		name: "alter not selected",
		sql:  `ALTER TABLE x_tmp ADD COLUMN a int`,
	},
	{
		name:  "alter rename table",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders RENAME TO orders_v2`,
		want: []string{
			`ALTER TABLE IF EXISTS "shop"."orders" RENAME TO "orders_v2"`,
			`ALTER INDEX IF EXISTS "shop"."orders_uk_customer" RENAME TO "orders_v2_uk_customer"`,
			`ALTER INDEX IF EXISTS "shop"."orders_idx_total" RENAME TO "orders_v2_idx_total"`,
		},
	},
	{
		name:  "alter rename across schema",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders RENAME legacy.orders`,
		want: []string{
			`ALTER TABLE IF EXISTS "shop"."orders" SET SCHEMA "archive"`,
		},
	},
	{
		name:  "alter rename out of set rejected",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders RENAME TO x_orders`,
		err:   `untranslatable: cannot translate ALTER TABLE shop.orders RENAME TO shop.x_orders to PostgreSQL: shop.x_orders is not replicated: the table would leave the replicated set`,
	},
	{
		name:  "alter column mismatch",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP COLUMN missing`,
		err:   `apply: apply DDL to shop.orders: column missing to drop does not exist`,
	},
	{
		name:  "rename table",
		setup: []string{ordersTable},
		sql:   `RENAME TABLE orders TO orders_old`,
		want: []string{
			`ALTER TABLE IF EXISTS "shop"."orders" RENAME TO "orders_old"`,
			`ALTER INDEX IF EXISTS "shop"."orders_uk_customer" RENAME TO "orders_old_uk_customer"`,
			`ALTER INDEX IF EXISTS "shop"."orders_idx_total" RENAME TO "orders_old_idx_total"`,
		},
	},
	{
		name:  "rename swap",
		setup: []string{ordersTable, `CREATE TABLE orders_new LIKE orders`},
		sql:   `RENAME TABLE orders TO orders_tmp, orders_new TO orders, orders_tmp TO orders_new`,
		want: []string{
			`ALTER TABLE IF EXISTS "shop"."orders_new" RENAME TO "orders_new_rename_tmp"`,
			`ALTER INDEX IF EXISTS "shop"."orders_new_uk_customer" RENAME TO "orders_new_rename_tmp_uk_customer"`,
			`ALTER INDEX IF EXISTS "shop"."orders_new_idx_total" RENAME TO "orders_new_rename_tmp_idx_total"`,
			`ALTER TABLE IF EXISTS "shop"."orders" RENAME TO "orders_new"`,
			`ALTER INDEX IF EXISTS "shop"."orders_uk_customer" RENAME TO "orders_new_uk_customer"`,
			`ALTER INDEX IF EXISTS "shop"."orders_idx_total" RENAME TO "orders_new_idx_total"`,
			`ALTER TABLE IF EXISTS "shop"."orders_new_rename_tmp" RENAME TO "orders"`,
			`ALTER INDEX IF EXISTS "shop"."orders_new_rename_tmp_uk_customer" RENAME TO "orders_uk_customer"`,
			`ALTER INDEX IF EXISTS "shop"."orders_new_rename_tmp_idx_total" RENAME TO "orders_idx_total"`,
		},
	},
	{
		name:  "rename ghost cutover",
		setup: []string{ordersTable, `CREATE TABLE _orders_gho LIKE orders`},
		sql:   `RENAME TABLE orders TO _orders_del, _orders_gho TO orders`,
		want: []string{
			`ALTER TABLE IF EXISTS "shop"."orders" RENAME TO "_orders_del"`,
			`ALTER INDEX IF EXISTS "shop"."orders_uk_customer" RENAME TO "_orders_del_uk_customer"`,
			`ALTER INDEX IF EXISTS "shop"."orders_idx_total" RENAME TO "_orders_del_idx_total"`,
			`ALTER TABLE IF EXISTS "shop"."_orders_gho" RENAME TO "orders"`,
			`ALTER INDEX IF EXISTS "shop"."_orders_gho_uk_customer" RENAME TO "orders_uk_customer"`,
			`ALTER INDEX IF EXISTS "shop"."_orders_gho_idx_total" RENAME TO "orders_idx_total"`,
		},
	},
	{
		name:  "rename into set rejected",
		setup: []string{ordersTable},
		sql:   `RENAME TABLE x_staging TO orders2`,
		err:   `untranslatable: cannot translate RENAME TABLE shop.x_staging TO shop.orders2 to PostgreSQL: shop.x_staging is not replicated: its rows were never copied (select it too, or snapshot shop.orders2 again)`,
	},
	{
		name:  "rename through unselected temp",
		setup: []string{ordersTable, `CREATE TABLE b (id int PRIMARY KEY)`},
		sql:   `RENAME TABLE orders TO x_t, b TO orders, x_t TO b`,
		want: []string{
			`ALTER TABLE IF EXISTS "shop"."b" RENAME TO "b_rename_tmp"`,
			`ALTER TABLE IF EXISTS "shop"."orders" RENAME TO "b"`,
			`ALTER INDEX IF EXISTS "shop"."orders_uk_customer" RENAME TO "b_uk_customer"`,
			`ALTER INDEX IF EXISTS "shop"."orders_idx_total" RENAME TO "b_idx_total"`,
			`ALTER TABLE IF EXISTS "shop"."b_rename_tmp" RENAME TO "orders"`,
		},
	},
	{
		name:  "drop tables",
		setup: []string{ordersTable},
		sql:   "DROP TABLE IF EXISTS orders, x_junk, other.t, `weird``name`",
		want: []string{
			"DROP TABLE IF EXISTS \"shop\".\"orders\", \"shop\".\"weird`name\"",
		},
	},
	{
		name: "drop temporary ignored",
		sql:  `DROP TEMPORARY TABLE IF EXISTS tt`,
	},
	{
		name:  "truncate",
		setup: []string{ordersTable},
		sql:   `TRUNCATE TABLE orders`,
		want: []string{
			`TRUNCATE TABLE "shop"."orders"`,
		},
	},
	{
		name:  "truncate short",
		setup: []string{ordersTable},
		sql:   `TRUNCATE orders`,
		want: []string{
			`TRUNCATE TABLE "shop"."orders"`,
		},
	},
	{
		name: "create database",
		sql:  "CREATE DATABASE IF NOT EXISTS `new db` CHARACTER SET utf8mb4",
		want: []string{
			`CREATE SCHEMA IF NOT EXISTS "new db"`,
		},
	},
	{
		name: "drop database",
		sql:  `DROP DATABASE IF EXISTS shop2`,
		want: []string{
			`DROP SCHEMA IF EXISTS "shop2" CASCADE`,
		},
	},
	{
		name:  "drop partition rejected",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP PARTITION p0`,
		err:   `unsupported: DROP PARTITION deletes rows without row events in the binary log`,
	},
	{
		name:  "convert charset",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders CONVERT TO CHARACTER SET utf8mb4`,
	},
	{
		name:  "check constraint ignored",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD CONSTRAINT chk CHECK (total >= 0)`,
	},
	{
		name:  "drop check ignored",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP CHECK chk`,
	},
	{
		name:  "drop constraint unique",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders DROP CONSTRAINT uk_customer`,
		want: []string{
			`ALTER TABLE "shop"."orders" DROP CONSTRAINT IF EXISTS "orders_uk_customer"`,
			`DROP INDEX IF EXISTS "shop"."orders_uk_customer"`,
		},
	},
	{
		name:  "add unique if not exists mariadb",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD UNIQUE KEY IF NOT EXISTS uq_note (note(10))`,
		want: []string{
			`CREATE INDEX IF NOT EXISTS "orders_uq_note" ON "shop"."orders" (left("note", 10))`,
		},
		notes: []string{
			`shop.orders: unique index uq_note has a prefix part: created as a plain index`,
		},
	},
	{
		name: "ansi quotes off double quoted string",
		sql:  `CREATE TABLE dq (id int PRIMARY KEY, s varchar(5) DEFAULT "x")`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."dq" ("id" integer NOT NULL, "s" varchar(5) DEFAULT 'x', PRIMARY KEY ("id"))`,
		},
	},
	{
		name: "long identifiers",
		sql:  "CREATE TABLE `a_very_long_table_name_that_goes_on_and_on_for_sixty_chars_x` (id int PRIMARY KEY, v int, KEY `an_index_name_that_is_also_rather_long_indeed_yes_it_is_sixty` (v))",
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."a_very_long_table_name_that_goes_on_and_on_for_sixty_chars_x" ("id" integer NOT NULL, "v" integer, PRIMARY KEY ("id"))`,
			`CREATE INDEX IF NOT EXISTS "a_very_long_table_name_that_goes_on_and_on_for_sixty_c_a06555e6" ON "shop"."a_very_long_table_name_that_goes_on_and_on_for_sixty_chars_x" ("v")`,
		},
	},
	{
		name:  "modify enum members same pg type",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders MODIFY status enum('new','paid','void') NOT NULL DEFAULT 'new'`,
	},
	{
		name:  "change into excluded rejected",
		setup: []string{ordersTable, `ALTER TABLE orders DROP COLUMN secret`},
		sql:   `ALTER TABLE orders CHANGE note secret text`,
		err:   `untranslatable: cannot translate ALTER TABLE shop.orders CHANGE note to PostgreSQL: the column would move into or out of the replicated columns`,
	},
	{
		name:  "add column first inline unique",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN code varchar(8) UNIQUE FIRST`,
		want: []string{
			`ALTER TABLE "shop"."orders" DROP CONSTRAINT IF EXISTS "orders_code"`,
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "code" varchar(8), ADD CONSTRAINT "orders_code" UNIQUE ("code") DEFERRABLE INITIALLY DEFERRED`,
		},
	},
	{
		name:  "add json not null",
		setup: []string{ordersTable},
		sql:   `ALTER TABLE orders ADD COLUMN attrs json NOT NULL`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "attrs" jsonb NOT NULL DEFAULT 'null'`,
			`ALTER TABLE "shop"."orders" ALTER COLUMN "attrs" DROP DEFAULT`,
		},
	},
	{
		name:   "add json not null (mariadb flavor)",
		flavor: ddl.MariaDB,
		setup:  []string{ordersTable},
		sql:    `ALTER TABLE orders ADD COLUMN attrs json NOT NULL`,
		want: []string{
			`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "attrs" text NOT NULL DEFAULT ''`,
			`ALTER TABLE "shop"."orders" ALTER COLUMN "attrs" DROP DEFAULT`,
		},
	},
	{
		name:  "set default bit and binary",
		setup: []string{`CREATE TABLE bb (id int PRIMARY KEY, b bit(4), h binary(3))`},
		sql:   `ALTER TABLE bb ALTER COLUMN b SET DEFAULT 5, ALTER COLUMN h SET DEFAULT 'a'`,
		want: []string{
			`ALTER TABLE "shop"."bb" ALTER COLUMN "b" SET DEFAULT B'0101', ALTER COLUMN "h" SET DEFAULT '\x610000'::bytea`,
		},
	},
	{
		name:  "rename table into routed schema",
		setup: []string{ordersTable},
		sql:   `RENAME TABLE orders TO legacy.orders2`,
		want: []string{
			`ALTER TABLE IF EXISTS "shop"."orders" SET SCHEMA "archive"`,
			`ALTER TABLE IF EXISTS "archive"."orders" RENAME TO "orders2"`,
			`ALTER INDEX IF EXISTS "archive"."orders_uk_customer" RENAME TO "orders2_uk_customer"`,
			`ALTER INDEX IF EXISTS "archive"."orders_idx_total" RENAME TO "orders2_idx_total"`,
		},
	},
	{
		name: "create database routed",
		sql:  `CREATE SCHEMA legacy`,
		want: []string{
			`CREATE SCHEMA IF NOT EXISTS "archive"`,
		},
	},
	{
		name: "drop database not replicated",
		sql:  `DROP DATABASE other`,
	},
	{
		name:  "drop column in primary key shrinks it",
		setup: []string{`CREATE TABLE pk2 (a int, b int, c int, PRIMARY KEY (a, b), KEY kbc (b, c))`},
		sql:   `ALTER TABLE pk2 DROP COLUMN b`,
		want: []string{
			`DO $ddl$DECLARE n text; BEGIN SELECT conname INTO n FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass('"shop"."pk2"') AND contype = 'p'; IF n IS NOT NULL THEN EXECUTE format('ALTER TABLE "shop"."pk2" DROP CONSTRAINT %I', n); END IF; END$ddl$`,
			`ALTER TABLE "shop"."pk2" DROP COLUMN IF EXISTS "b"`,
			`DROP INDEX IF EXISTS "shop"."pk2_kbc"`,
			`ALTER TABLE "shop"."pk2" ADD PRIMARY KEY ("a")`,
			`CREATE INDEX IF NOT EXISTS "pk2_kbc" ON "shop"."pk2" ("c")`,
		},
	},
	{
		name:  "mixed case column drop",
		setup: []string{`CREATE TABLE mc (Id int PRIMARY KEY, UserName varchar(10), Other int)`},
		sql:   `ALTER TABLE mc DROP COLUMN USERNAME, MODIFY ID bigint`,
		want: []string{
			`ALTER TABLE "shop"."mc" DROP COLUMN IF EXISTS "UserName"`,
			`ALTER TABLE "shop"."mc" RENAME COLUMN "Id" TO "ID"`,
			`ALTER TABLE "shop"."mc" ALTER COLUMN "ID" TYPE bigint USING "ID"::bigint`,
		},
	},
	{
		name:  "modify takes the written case",
		setup: []string{`CREATE TABLE mc (Id int PRIMARY KEY, UserName varchar(10))`},
		sql:   `ALTER TABLE mc MODIFY username varchar(20)`,
		want: []string{
			`ALTER TABLE "shop"."mc" RENAME COLUMN "UserName" TO "username"`,
			`ALTER TABLE "shop"."mc" ALTER COLUMN "username" TYPE varchar(20) USING "username"::varchar(20)`,
		},
	},
	{
		name: "multi statement text",
		sql:  `CREATE TABLE m1 (id int PRIMARY KEY); CREATE TABLE m2 (id int PRIMARY KEY)`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."m1" ("id" integer NOT NULL, PRIMARY KEY ("id"))`,
			`CREATE TABLE IF NOT EXISTS "shop"."m2" ("id" integer NOT NULL, PRIMARY KEY ("id"))`,
		},
	},
	{
		name: "qualified with backticks and dots",
		sql:  "ALTER TABLE `shop`.`we.ird` ADD COLUMN `x.y` int",
		want: []string{
			`ALTER TABLE "shop"."we.ird" ADD COLUMN IF NOT EXISTS "x.y" integer`,
		},
	},
	{
		name: "create timestamp literal default",
		sql:  `CREATE TABLE tl (id int PRIMARY KEY, ts timestamp NOT NULL DEFAULT '2020-01-02 03:04:05', d date NOT NULL DEFAULT '2020-00-00')`,
		want: []string{
			`CREATE TABLE IF NOT EXISTS "shop"."tl" ("id" integer NOT NULL, "ts" timestamp(0) with time zone NOT NULL DEFAULT '2020-01-02 03:04:05+00', "d" date NOT NULL DEFAULT '-infinity', PRIMARY KEY ("id"))`,
		},
	},
}
