-- Moodle 4 excerpt: mdl_user, mdl_logstore_standard_log (bigint ids, char(1) flags, longtext other).
CREATE TABLE mdl_user (
  id bigint(10) NOT NULL AUTO_INCREMENT,
  auth varchar(20) NOT NULL DEFAULT 'manual',
  confirmed tinyint(1) NOT NULL DEFAULT 0,
  deleted tinyint(1) NOT NULL DEFAULT 0,
  mnethostid bigint(10) NOT NULL DEFAULT 0,
  username varchar(100) NOT NULL DEFAULT '',
  password varchar(255) NOT NULL DEFAULT '',
  firstname varchar(100) NOT NULL DEFAULT '',
  lastname varchar(100) NOT NULL DEFAULT '',
  email varchar(100) NOT NULL DEFAULT '',
  lang varchar(30) NOT NULL DEFAULT 'en',
  timecreated bigint(10) NOT NULL DEFAULT 0,
  description longtext DEFAULT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY mdl_user_mneuse_uix (mnethostid,username),
  KEY mdl_user_del_ix (deleted),
  KEY mdl_user_ema_ix (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci ROW_FORMAT=DYNAMIC COMMENT='One record for each person';
CREATE TABLE mdl_logstore_standard_log (
  id bigint(10) NOT NULL AUTO_INCREMENT,
  eventname varchar(255) NOT NULL DEFAULT '',
  component varchar(100) NOT NULL DEFAULT '',
  action varchar(100) NOT NULL DEFAULT '',
  crud varchar(1) NOT NULL DEFAULT '',
  edulevel tinyint(1) NOT NULL,
  contextid bigint(10) NOT NULL,
  userid bigint(10) NOT NULL,
  other longtext DEFAULT NULL,
  timecreated bigint(10) NOT NULL,
  origin varchar(10) DEFAULT NULL,
  ip varchar(45) DEFAULT NULL,
  PRIMARY KEY (id),
  KEY mdl_logsstanlog_tim_ix (timecreated),
  KEY mdl_logsstanlog_useconconcr_ix (userid,contextid,crud)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
