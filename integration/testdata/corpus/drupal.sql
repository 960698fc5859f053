-- Drupal 10: node, node_field_data and a cache bin (BLOB data, decimal expire).
CREATE TABLE node (
  nid int(10) unsigned NOT NULL AUTO_INCREMENT,
  vid int(10) unsigned DEFAULT NULL,
  type varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  uuid varchar(128) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  langcode varchar(12) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  PRIMARY KEY (nid),
  UNIQUE KEY node_field__uuid__value (uuid),
  UNIQUE KEY node__revision_id (vid),
  KEY node_field__type__target_id (type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='The base table for node entities.';
CREATE TABLE node_field_data (
  nid int(10) unsigned NOT NULL,
  vid int(10) unsigned NOT NULL,
  type varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  langcode varchar(12) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  status tinyint(4) NOT NULL,
  uid int(10) unsigned NOT NULL,
  title varchar(255) NOT NULL,
  created int(11) NOT NULL,
  changed int(11) DEFAULT NULL,
  promote tinyint(4) DEFAULT NULL,
  sticky tinyint(4) DEFAULT NULL,
  default_langcode tinyint(4) NOT NULL,
  PRIMARY KEY (nid,langcode),
  KEY node__id__default_langcode__langcode (nid,default_langcode,langcode),
  KEY node_field__title (title(191)),
  KEY node__status_type (status,type,nid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE cache_default (
  cid varchar(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  data longblob DEFAULT NULL,
  expire int(11) NOT NULL DEFAULT 0,
  created decimal(14,3) NOT NULL DEFAULT 0.000,
  serialized smallint(6) NOT NULL DEFAULT 0,
  tags longtext DEFAULT NULL,
  checksum varchar(255) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  PRIMARY KEY (cid),
  KEY expire (expire),
  KEY created (created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
-- stream
CREATE TABLE cache_render LIKE cache_default;
