-- Nextcloud 27: oc_filecache and oc_preferences.
CREATE TABLE oc_filecache (
  fileid bigint(20) NOT NULL AUTO_INCREMENT,
  storage bigint(20) NOT NULL DEFAULT 0,
  path varchar(4000) COLLATE utf8mb4_bin DEFAULT NULL,
  path_hash varchar(32) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  parent bigint(20) NOT NULL DEFAULT 0,
  name varchar(250) COLLATE utf8mb4_bin DEFAULT NULL,
  mimetype bigint(20) NOT NULL DEFAULT 0,
  mimepart bigint(20) NOT NULL DEFAULT 0,
  size bigint(20) NOT NULL DEFAULT 0,
  mtime bigint(20) NOT NULL DEFAULT 0,
  storage_mtime bigint(20) NOT NULL DEFAULT 0,
  encrypted int(11) NOT NULL DEFAULT 0,
  unencrypted_size bigint(20) NOT NULL DEFAULT 0,
  etag varchar(40) COLLATE utf8mb4_bin DEFAULT NULL,
  permissions int(11) DEFAULT 0,
  checksum varchar(255) COLLATE utf8mb4_bin DEFAULT NULL,
  PRIMARY KEY (fileid),
  UNIQUE KEY fs_storage_path_hash (storage,path_hash),
  KEY fs_parent_name_hash (parent,name),
  KEY fs_storage_mimetype (storage,mimetype),
  KEY fs_mtime (mtime),
  KEY fs_size (size)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=COMPRESSED;
CREATE TABLE oc_preferences (
  userid varchar(64) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  appid varchar(32) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  configkey varchar(64) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  configvalue longtext COLLATE utf8mb4_bin DEFAULT NULL,
  PRIMARY KEY (userid,appid,configkey)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- stream
CREATE TABLE oc_jobs (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  class varchar(255) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  argument varchar(4000) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  last_run int(11) DEFAULT 0,
  last_checked int(11) DEFAULT 0,
  reserved_at int(11) DEFAULT 0,
  execution_duration int(11) NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY job_class_index (class)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
