-- Zabbix 5.0 history tables: no primary key and no unique index at all (6.0 added them),
-- only a non-unique (itemid, clock) index; duplicate rows are legal.
-- targets: postgres (Elasticsearch refuses keyless tables)
CREATE TABLE history (
  itemid bigint(20) unsigned NOT NULL,
  clock int(11) NOT NULL DEFAULT 0,
  value double(16,4) NOT NULL DEFAULT 0.0000,
  ns int(11) NOT NULL DEFAULT 0,
  KEY history_1 (itemid,clock)
) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_bin;
CREATE TABLE history_uint (
  itemid bigint(20) unsigned NOT NULL,
  clock int(11) NOT NULL DEFAULT 0,
  value bigint(20) unsigned NOT NULL DEFAULT 0,
  ns int(11) NOT NULL DEFAULT 0,
  KEY history_uint_1 (itemid,clock)
) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_bin;
-- stream
CREATE TABLE history_log (
  itemid bigint(20) unsigned NOT NULL,
  clock int(11) NOT NULL DEFAULT 0,
  timestamp int(11) NOT NULL DEFAULT 0,
  source varchar(64) NOT NULL DEFAULT '',
  severity int(11) NOT NULL DEFAULT 0,
  value text NOT NULL,
  logeventid int(11) NOT NULL DEFAULT 0,
  ns int(11) NOT NULL DEFAULT 0,
  KEY history_log_1 (itemid,clock)
) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_bin;
