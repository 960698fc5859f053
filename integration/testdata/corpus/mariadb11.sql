-- What MariaDB-specific schemas hold: SERIAL keys, INET6/INET4/UUID, a cp1251 table.
CREATE TABLE sessions (
  id SERIAL PRIMARY KEY,
  sid UUID NOT NULL,
  client INET6 DEFAULT NULL,
  gw INET4 DEFAULT NULL,
  started datetime(3) NOT NULL DEFAULT current_timestamp(3),
  UNIQUE KEY sid (sid)
);
CREATE TABLE legacy_ru (
  id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  title varchar(100) NOT NULL,
  body text
) DEFAULT CHARSET=cp1251;
-- stream
CREATE TABLE events (
  id SERIAL PRIMARY KEY,
  sid UUID,
  addr INET6,
  note varchar(40) CHARACTER SET cp1251 COLLATE cp1251_bin
);
UPDATE sessions SET gw = '0.0.0.0' WHERE gw IS NULL;
ALTER TABLE sessions ADD KEY client (client), MODIFY gw INET4 NOT NULL DEFAULT '0.0.0.0';
