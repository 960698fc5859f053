-- Zabbix 6.0 history tables (primary keys since 6.0; older versions had none) and items.
CREATE TABLE history (
  itemid bigint(20) unsigned NOT NULL,
  clock int(11) NOT NULL DEFAULT 0,
  value double NOT NULL DEFAULT 0,
  ns int(11) NOT NULL DEFAULT 0,
  PRIMARY KEY (itemid,clock,ns)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE history_str (
  itemid bigint(20) unsigned NOT NULL,
  clock int(11) NOT NULL DEFAULT 0,
  value varchar(255) NOT NULL DEFAULT '',
  ns int(11) NOT NULL DEFAULT 0,
  PRIMARY KEY (itemid,clock,ns)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE trends_uint (
  itemid bigint(20) unsigned NOT NULL,
  clock int(11) NOT NULL DEFAULT 0,
  num int(11) NOT NULL DEFAULT 0,
  value_min bigint(20) unsigned NOT NULL DEFAULT 0,
  value_avg bigint(20) unsigned NOT NULL DEFAULT 0,
  value_max bigint(20) unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (itemid,clock)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- stream
CREATE TABLE history_text (
  itemid bigint(20) unsigned NOT NULL,
  clock int(11) NOT NULL DEFAULT 0,
  value text NOT NULL,
  ns int(11) NOT NULL DEFAULT 0,
  PRIMARY KEY (itemid,clock,ns)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
