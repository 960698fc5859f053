-- phpBB 3.3: phpbb_users and phpbb_posts (mediumtext, unsigned ints, ip as varchar).
CREATE TABLE phpbb_posts (
  post_id int(10) unsigned NOT NULL AUTO_INCREMENT,
  topic_id int(10) unsigned NOT NULL DEFAULT 0,
  forum_id mediumint(8) unsigned NOT NULL DEFAULT 0,
  poster_id int(10) unsigned NOT NULL DEFAULT 0,
  poster_ip varchar(40) COLLATE utf8_bin NOT NULL DEFAULT '',
  post_time int(11) unsigned NOT NULL DEFAULT 0,
  post_subject varchar(255) COLLATE utf8_unicode_ci NOT NULL DEFAULT '',
  post_text mediumtext COLLATE utf8_bin NOT NULL,
  post_checksum varchar(32) COLLATE utf8_bin NOT NULL DEFAULT '',
  bbcode_bitfield varchar(255) COLLATE utf8_bin NOT NULL DEFAULT '',
  post_visibility tinyint(3) NOT NULL DEFAULT 0,
  PRIMARY KEY (post_id),
  KEY forum_id (forum_id),
  KEY topic_id (topic_id),
  KEY poster_ip (poster_ip),
  KEY tid_post_time (topic_id,post_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_bin;
CREATE TABLE phpbb_users (
  user_id int(10) unsigned NOT NULL AUTO_INCREMENT,
  user_type tinyint(2) NOT NULL DEFAULT 0,
  group_id mediumint(8) unsigned NOT NULL DEFAULT 3,
  username varchar(255) COLLATE utf8_bin NOT NULL DEFAULT '',
  username_clean varchar(255) COLLATE utf8_bin NOT NULL DEFAULT '',
  user_regdate int(11) unsigned NOT NULL DEFAULT 0,
  user_email varchar(100) COLLATE utf8_bin NOT NULL DEFAULT '',
  user_lastvisit int(11) unsigned NOT NULL DEFAULT 0,
  user_timezone varchar(100) COLLATE utf8_bin NOT NULL DEFAULT '',
  user_sig mediumtext COLLATE utf8_bin NOT NULL,
  PRIMARY KEY (user_id),
  UNIQUE KEY username_clean (username_clean),
  KEY user_type (user_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_bin;
