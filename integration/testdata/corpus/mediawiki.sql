-- MediaWiki 1.39 (binary-collated varbinary titles, tinyblob flags).
CREATE TABLE page (
  page_id int(10) unsigned NOT NULL AUTO_INCREMENT,
  page_namespace int(11) NOT NULL,
  page_title varbinary(255) NOT NULL,
  page_is_redirect tinyint(3) unsigned NOT NULL DEFAULT 0,
  page_is_new tinyint(3) unsigned NOT NULL DEFAULT 0,
  page_random double unsigned NOT NULL,
  page_touched binary(14) NOT NULL,
  page_links_updated varbinary(14) DEFAULT NULL,
  page_latest int(10) unsigned NOT NULL,
  page_len int(10) unsigned NOT NULL,
  page_content_model varbinary(32) DEFAULT NULL,
  page_lang varbinary(35) DEFAULT NULL,
  PRIMARY KEY (page_id),
  UNIQUE KEY page_name_title (page_namespace,page_title),
  KEY page_random (page_random),
  KEY page_len (page_len)
) ENGINE=InnoDB DEFAULT CHARSET=binary;
CREATE TABLE text (
  old_id int(10) unsigned NOT NULL AUTO_INCREMENT,
  old_text mediumblob NOT NULL,
  old_flags tinyblob NOT NULL,
  PRIMARY KEY (old_id)
) ENGINE=InnoDB DEFAULT CHARSET=binary;
-- stream
CREATE TABLE user_properties (
  up_user int(10) unsigned NOT NULL,
  up_property varbinary(255) NOT NULL,
  up_value blob DEFAULT NULL,
  PRIMARY KEY (up_user,up_property),
  KEY up_property (up_property)
) ENGINE=InnoDB DEFAULT CHARSET=binary;
