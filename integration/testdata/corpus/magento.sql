-- Magento 2 catalog EAV tables (excerpt of the sample data's schema).
CREATE TABLE catalog_product_entity (
  entity_id int(10) unsigned NOT NULL AUTO_INCREMENT,
  attribute_set_id smallint(5) unsigned NOT NULL DEFAULT 0,
  type_id varchar(32) NOT NULL DEFAULT 'simple',
  sku varchar(64) NOT NULL,
  has_options smallint(6) NOT NULL DEFAULT 0,
  required_options smallint(5) unsigned NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (entity_id),
  KEY CATALOG_PRODUCT_ENTITY_ATTRIBUTE_SET_ID (attribute_set_id),
  KEY CATALOG_PRODUCT_ENTITY_SKU (sku)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COMMENT='Catalog Product Table';
CREATE TABLE catalog_product_entity_decimal (
  value_id int(11) NOT NULL AUTO_INCREMENT,
  attribute_id smallint(5) unsigned NOT NULL DEFAULT 0,
  store_id smallint(5) unsigned NOT NULL DEFAULT 0,
  entity_id int(10) unsigned NOT NULL DEFAULT 0,
  value decimal(20,6) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_DECIMAL_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id,attribute_id,store_id),
  KEY CATALOG_PRODUCT_ENTITY_DECIMAL_STORE_ID (store_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3;
CREATE TABLE catalog_product_entity_varchar (
  value_id int(11) NOT NULL AUTO_INCREMENT,
  attribute_id smallint(5) unsigned NOT NULL DEFAULT 0,
  store_id smallint(5) unsigned NOT NULL DEFAULT 0,
  entity_id int(10) unsigned NOT NULL DEFAULT 0,
  value varchar(255) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_VARCHAR_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id,attribute_id,store_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3;
-- stream
CREATE TABLE catalog_product_entity_int (
  value_id int(11) NOT NULL AUTO_INCREMENT,
  attribute_id smallint(5) unsigned NOT NULL DEFAULT 0,
  store_id smallint(5) unsigned NOT NULL DEFAULT 0,
  entity_id int(10) unsigned NOT NULL DEFAULT 0,
  value int(11) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_INT_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id,attribute_id,store_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3;
