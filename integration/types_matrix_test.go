//go:build integration

package integration

import "strings"

// The matrix of MySQL/MariaDB types under the default [mapping] rules, with the value each
// row must have in PostgreSQL (value::text, TimeZone UTC) and in Elasticsearch (_source,
// JSON). Literals, not derived: this is the README's type table, row by row. The writing
// session runs with time_zone '+05:30', so TIMESTAMP literals are 5:30 ahead of the UTC
// the targets show.

var (
	zeros64 = strings.Repeat("0", 64)
	ones64  = strings.Repeat("1", 64)
	bit64hi = "1" + strings.Repeat("0", 62) + "1"
	ab1000  = strings.Repeat("ab", 1000)
)

// Integers at their extremes, TINYINT(1)/BOOL kept as numbers, BIT(1) and BIT(64).
// Rows: min, max, zero, typical, NULL. The test node has no unsigned_long (its launcher
// loads only the server and the HTTP module), so BIGINT UNSIGNED and BIT(64) are exact
// decimal strings in Elasticsearch (README: double + keyword subfield).
var typesInts = ttable{name: "ints", cols: []tcol{
	col("ti", "TINYINT", s("-128", "127", "0", "-5", "NULL"), s("-128", "127", "0", "-5", tNull), s("-128", "127", "0", "-5", "null")),
	col("tiu", "TINYINT UNSIGNED", s("0", "255", "0", "200", "NULL"), s("0", "255", "0", "200", tNull), s("0", "255", "0", "200", "null")),
	col("t1", "TINYINT(1)", s("-128", "127", "0", "1", "NULL"), s("-128", "127", "0", "1", tNull), s("-128", "127", "0", "1", "null")),
	col("bo", "BOOL", s("FALSE", "TRUE", "0", "2", "NULL"), s("0", "1", "0", "2", tNull), s("0", "1", "0", "2", "null")),
	col("si", "SMALLINT", s("-32768", "32767", "0", "-300", "NULL"), s("-32768", "32767", "0", "-300", tNull), s("-32768", "32767", "0", "-300", "null")),
	col("siu", "SMALLINT UNSIGNED", s("0", "65535", "0", "40000", "NULL"), s("0", "65535", "0", "40000", tNull), s("0", "65535", "0", "40000", "null")),
	col("mi", "MEDIUMINT", s("-8388608", "8388607", "0", "-70000", "NULL"), s("-8388608", "8388607", "0", "-70000", tNull), s("-8388608", "8388607", "0", "-70000", "null")),
	col("miu", "MEDIUMINT UNSIGNED", s("0", "16777215", "0", "9000000", "NULL"), s("0", "16777215", "0", "9000000", tNull), s("0", "16777215", "0", "9000000", "null")),
	col("i", "INT", s("-2147483648", "2147483647", "0", "123456", "NULL"), s("-2147483648", "2147483647", "0", "123456", tNull), s("-2147483648", "2147483647", "0", "123456", "null")),
	col("iu", "INT UNSIGNED", s("0", "4294967295", "0", "3000000000", "NULL"), s("0", "4294967295", "0", "3000000000", tNull), s("0", "4294967295", "0", "3000000000", "null")),
	col("bi", "BIGINT", s("-9223372036854775808", "9223372036854775807", "0", "-1", "NULL"), s("-9223372036854775808", "9223372036854775807", "0", "-1", tNull), s("-9223372036854775808", "9223372036854775807", "0", "-1", "null")),
	col("biu", "BIGINT UNSIGNED", s("0", "18446744073709551615", "0", "9223372036854775808", "NULL"), s("0", "18446744073709551615", "0", "9223372036854775808", tNull), s(`"0"`, `"18446744073709551615"`, `"0"`, `"9223372036854775808"`, "null")),
	col("b1", "BIT(1)", s("b'0'", "b'1'", "0", "1", "NULL"), s("0", "1", "0", "1", tNull), s("0", "1", "0", "1", "null")),
	col("b10", "BIT(10)", s("b'0'", "b'1111111111'", "0", "b'1000000001'", "NULL"), s("0000000000", "1111111111", "0000000000", "1000000001", tNull), s("0", "1023", "0", "513", "null")),
	col("b64", "BIT(64)", s("0", "0xFFFFFFFFFFFFFFFF", "b'0'", "0x8000000000000001", "NULL"), s(zeros64, ones64, zeros64, bit64hi, tNull), s(`"0"`, `"18446744073709551615"`, `"0"`, `"9223372036854775809"`, "null")),
}}

// DECIMAL without precision loss, FLOAT as MariaDB shows it (6 significant digits, or D
// decimals of FLOAT(M,D)), DOUBLE exactly. Rows: min, max, zero, tiny, typical, two more,
// NULL.
var typesNums = ttable{name: "nums", cols: []tcol{
	col("dec", "DECIMAL(65,30)",
		s("-99999999999999999999999999999999999.999999999999999999999999999999", "99999999999999999999999999999999999.999999999999999999999999999999", "0",
			"0.000000000000000000000000000001", "-1.5", "12345678901234567890.123456789012345678901234567890", "-0.000000000000000000000000000001", "NULL"),
		s("-99999999999999999999999999999999999.999999999999999999999999999999", "99999999999999999999999999999999999.999999999999999999999999999999", "0.000000000000000000000000000000",
			"0.000000000000000000000000000001", "-1.500000000000000000000000000000", "12345678901234567890.123456789012345678901234567890", "-0.000000000000000000000000000001", tNull),
		s(`"-99999999999999999999999999999999999.999999999999999999999999999999"`, `"99999999999999999999999999999999999.999999999999999999999999999999"`, `"0.000000000000000000000000000000"`,
			`"0.000000000000000000000000000001"`, `"-1.500000000000000000000000000000"`, `"12345678901234567890.123456789012345678901234567890"`, `"-0.000000000000000000000000000001"`, "null")),
	col("d5", "DECIMAL(5,0)", s("-99999", "99999", "0", "1", "42", "-7", "7", "NULL"), s("-99999", "99999", "0", "1", "42", "-7", "7", tNull), s(`"-99999"`, `"99999"`, `"0"`, `"1"`, `"42"`, `"-7"`, `"7"`, "null")),
	col("du", "DECIMAL(10,2) UNSIGNED", s("0", "99999999.99", "0", "0.01", "1.5", "10", "0.1", "NULL"), s("0.00", "99999999.99", "0.00", "0.01", "1.50", "10.00", "0.10", tNull), s(`"0.00"`, `"99999999.99"`, `"0.00"`, `"0.01"`, `"1.50"`, `"10.00"`, `"0.10"`, "null")),
	// MariaDB shows 3.40282e38, 0.0000000001, 123457000, 1.1, -1.17549e-38.
	col("f", "FLOAT",
		s("-3.4028234e38", "3.4028234e38", "0", "1e-10", "123456789", "1.1", "-1.17549435e-38", "NULL"),
		s("-3.40282e+38", "3.40282e+38", "0", "1e-10", "1.23457e+08", "1.1", "-1.17549e-38", tNull),
		s("-3.40282e+38", "3.40282e+38", "0", "1e-10", "1.23457e+08", "1.1", "-1.17549e-38", "null")),
	col("d", "DOUBLE",
		s("-1.7976931348623157e308", "1.7976931348623157e308", "0", "5e-324", "123456789.123", "0.30000000000000004", "1e21", "NULL"),
		s("-1.7976931348623157e+308", "1.7976931348623157e+308", "0", "5e-324", "123456789.123", "0.30000000000000004", "1e+21", tNull),
		s("-1.7976931348623157e+308", "1.7976931348623157e+308", "0", "5e-324", "1.23456789123e+08", "0.30000000000000004", "1e+21", "null")),
	// MariaDB shows -1234.500, 1234567.125, 0.000, 0.001, 1.500, 3.142, 100.000.
	col("fd", "FLOAT(10,3)",
		s("-1234.5", "1234567.125", "0", "0.001", "1.5", "3.14159", "100", "NULL"),
		s("-1234.5", "1.2345671e+06", "0", "0.001", "1.5", "3.142", "100", tNull),
		s("-1234.5", "1.2345671e+06", "0", "0.001", "1.5", "3.142", "100", "null")),
	col("dd", "DOUBLE(20,5)",
		s("-123456.78901", "98765.4321", "0", "0.00001", "2.5", "1.005", "7", "NULL"),
		s("-123456.78901", "98765.4321", "0", "1e-05", "2.5", "1.005", "7", tNull),
		s("-123456.78901", "98765.4321", "0", "1e-05", "2.5", "1.005", "7", "null")),
}}

// DATE, DATETIME(0..6), TIMESTAMP(0..6) (written at +05:30), TIME with negative and > 24 h
// values, YEAR. Zero and partly-zero dates are -infinity in PostgreSQL and kept as text in
// Elasticsearch (mapping.zero_dates = "infinity"). Rows: min, max, zero, partly zero (or a
// second typical value where the type has none), typical, NULL.
var typesTemporal = ttable{name: "temporal", cols: []tcol{
	col("da", "DATE",
		s("'0001-01-01'", "'9999-12-31'", "'0000-00-00'", "'2020-00-15'", "'2020-02-29'", "NULL"),
		s("0001-01-01", "9999-12-31", "-infinity", "-infinity", "2020-02-29", tNull),
		s(`"0001-01-01"`, `"9999-12-31"`, `"0000-00-00"`, `"2020-00-15"`, `"2020-02-29"`, "null")),
	col("dt0", "DATETIME",
		s("'0001-01-01 00:00:00'", "'9999-12-31 23:59:59'", "'0000-00-00 00:00:00'", "'2020-01-00 10:00:00'", "'2020-06-15 12:34:56'", "NULL"),
		s("0001-01-01 00:00:00", "9999-12-31 23:59:59", "-infinity", "-infinity", "2020-06-15 12:34:56", tNull),
		s(`"0001-01-01 00:00:00"`, `"9999-12-31 23:59:59"`, `"0000-00-00 00:00:00"`, `"2020-01-00 10:00:00"`, `"2020-06-15 12:34:56"`, "null")),
	col("dt1", "DATETIME(1)",
		s("'0001-01-01 00:00:00.0'", "'9999-12-31 23:59:59.9'", "'0000-00-00 00:00:00.0'", "'0000-06-15 00:00:00.5'", "'2020-06-15 12:34:56.7'", "NULL"),
		s("0001-01-01 00:00:00", "9999-12-31 23:59:59.9", "-infinity", "-infinity", "2020-06-15 12:34:56.7", tNull),
		s(`"0001-01-01 00:00:00.0"`, `"9999-12-31 23:59:59.9"`, `"0000-00-00 00:00:00.0"`, `"0000-06-15 00:00:00.5"`, `"2020-06-15 12:34:56.7"`, "null")),
	col("dt3", "DATETIME(3)",
		s("'0001-01-01 00:00:00.000'", "'9999-12-31 23:59:59.999'", "'0000-00-00 00:00:00.000'", "'2020-00-00 00:00:00.001'", "'2020-06-15 12:34:56.789'", "NULL"),
		s("0001-01-01 00:00:00", "9999-12-31 23:59:59.999", "-infinity", "-infinity", "2020-06-15 12:34:56.789", tNull),
		s(`"0001-01-01 00:00:00.000"`, `"9999-12-31 23:59:59.999"`, `"0000-00-00 00:00:00.000"`, `"2020-00-00 00:00:00.001"`, `"2020-06-15 12:34:56.789"`, "null")),
	col("dt6", "DATETIME(6)",
		s("'0001-01-01 00:00:00.000000'", "'9999-12-31 23:59:59.999999'", "'0000-00-00 00:00:00.000000'", "'2020-02-00 23:59:59.999999'", "'2020-06-15 12:34:56.000001'", "NULL"),
		s("0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", "-infinity", "-infinity", "2020-06-15 12:34:56.000001", tNull),
		s(`"0001-01-01 00:00:00.000000"`, `"9999-12-31 23:59:59.999999"`, `"0000-00-00 00:00:00.000000"`, `"2020-02-00 23:59:59.999999"`, `"2020-06-15 12:34:56.000001"`, "null")),
	col("ts0", "TIMESTAMP NULL",
		s("'1970-01-01 05:30:01'", "'2038-01-19 08:44:07'", "'0000-00-00 00:00:00'", "'2000-01-01 05:29:59'", "'2020-06-15 18:04:56'", "NULL"),
		s("1970-01-01 00:00:01+00", "2038-01-19 03:14:07+00", "-infinity", "1999-12-31 23:59:59+00", "2020-06-15 12:34:56+00", tNull),
		s(`"1970-01-01 00:00:01"`, `"2038-01-19 03:14:07"`, `"0000-00-00 00:00:00"`, `"1999-12-31 23:59:59"`, `"2020-06-15 12:34:56"`, "null")),
	col("ts2", "TIMESTAMP(2) NULL",
		s("'1970-01-01 05:30:01.00'", "'2038-01-19 08:44:07.99'", "'0000-00-00 00:00:00.00'", "'2000-01-01 05:29:59.5'", "'2020-06-15 18:04:56.01'", "NULL"),
		s("1970-01-01 00:00:01+00", "2038-01-19 03:14:07.99+00", "-infinity", "1999-12-31 23:59:59.5+00", "2020-06-15 12:34:56.01+00", tNull),
		s(`"1970-01-01 00:00:01.00"`, `"2038-01-19 03:14:07.99"`, `"0000-00-00 00:00:00.00"`, `"1999-12-31 23:59:59.50"`, `"2020-06-15 12:34:56.01"`, "null")),
	col("ts4", "TIMESTAMP(4) NULL",
		s("'1970-01-01 05:30:01.0000'", "'2038-01-19 08:44:07.9999'", "'0000-00-00 00:00:00.0000'", "'2000-01-01 05:29:59.0001'", "'2020-06-15 18:04:56.1234'", "NULL"),
		s("1970-01-01 00:00:01+00", "2038-01-19 03:14:07.9999+00", "-infinity", "1999-12-31 23:59:59.0001+00", "2020-06-15 12:34:56.1234+00", tNull),
		s(`"1970-01-01 00:00:01.0000"`, `"2038-01-19 03:14:07.9999"`, `"0000-00-00 00:00:00.0000"`, `"1999-12-31 23:59:59.0001"`, `"2020-06-15 12:34:56.1234"`, "null")),
	col("ts6", "TIMESTAMP(6) NULL",
		s("'1970-01-01 05:30:01.000000'", "'2038-01-19 08:44:07.999999'", "'0000-00-00 00:00:00.000000'", "'2000-01-01 05:29:59.500000'", "'2020-06-15 18:04:56.000001'", "NULL"),
		s("1970-01-01 00:00:01+00", "2038-01-19 03:14:07.999999+00", "-infinity", "1999-12-31 23:59:59.5+00", "2020-06-15 12:34:56.000001+00", tNull),
		s(`"1970-01-01 00:00:01.000000"`, `"2038-01-19 03:14:07.999999"`, `"0000-00-00 00:00:00.000000"`, `"1999-12-31 23:59:59.500000"`, `"2020-06-15 12:34:56.000001"`, "null")),
	col("tm0", "TIME",
		s("'-838:59:59'", "'838:59:59'", "'00:00:00'", "'-00:00:01'", "'100:00:00'", "NULL"),
		s("-838:59:59", "838:59:59", "00:00:00", "-00:00:01", "100:00:00", tNull),
		s(`"-838:59:59"`, `"838:59:59"`, `"00:00:00"`, `"-00:00:01"`, `"100:00:00"`, "null")),
	col("tm1", "TIME(1)",
		s("'-838:59:58.9'", "'838:59:58.9'", "'00:00:00.0'", "'-00:00:00.5'", "'23:59:59.1'", "NULL"),
		s("-838:59:58.9", "838:59:58.9", "00:00:00", "-00:00:00.5", "23:59:59.1", tNull),
		s(`"-838:59:58.9"`, `"838:59:58.9"`, `"00:00:00.0"`, `"-00:00:00.5"`, `"23:59:59.1"`, "null")),
	col("tm3", "TIME(3)",
		s("'-838:59:58.999'", "'838:59:58.999'", "'00:00:00.000'", "'-12:00:00.250'", "'01:02:03.004'", "NULL"),
		s("-838:59:58.999", "838:59:58.999", "00:00:00", "-12:00:00.25", "01:02:03.004", tNull),
		s(`"-838:59:58.999"`, `"838:59:58.999"`, `"00:00:00.000"`, `"-12:00:00.250"`, `"01:02:03.004"`, "null")),
	col("tm6", "TIME(6)",
		s("'-838:59:58.999999'", "'838:59:58.000001'", "'00:00:00.000000'", "'-00:00:00.000001'", "'12:00:00.5'", "NULL"),
		s("-838:59:58.999999", "838:59:58.000001", "00:00:00", "-00:00:00.000001", "12:00:00.5", tNull),
		s(`"-838:59:58.999999"`, `"838:59:58.000001"`, `"00:00:00.000000"`, `"-00:00:00.000001"`, `"12:00:00.500000"`, "null")),
	col("y", "YEAR",
		s("1901", "2155", "'0000'", "2000", "2024", "NULL"),
		s("1901", "2155", "0", "2000", "2024", tNull),
		s("1901", "2155", "0", "2000", "2024", "null")),
}}

// Text in utf8mb4 (emoji), utf8mb3, latin1 (MySQL's latin1 is Windows-1252 with the five
// undefined bytes as C1 controls), gbk and cp1251 (whose undefined 0x98 the server shows
// as '?'), ENUM (a member with a comma, the empty invalid value) and SET (empty, and
// next to a comma member). Rows: empty, specials, non-ASCII, trailing spaces, typical,
// NULL.
var typesText = ttable{name: "text", options: "DEFAULT CHARSET=utf8mb4", cols: []tcol{
	col("c", "CHAR(10)",
		s("''", `'a\tb'`, "'é😀'", "'ab  '", "' x'", "NULL"),
		s("", "a\tb", "é😀", "ab", " x", tNull),
		s(`""`, `"a\tb"`, `"é😀"`, `"ab"`, `" x"`, "null")),
	col("v", "VARCHAR(20)",
		s("''", `'a\tb\nc\\d"e\'f'`, "'😀👍🏽'", "'ab  '", "REPEAT('x', 20)", "NULL"),
		s("", "a\tb\nc\\d\"e'f", "😀👍🏽", "ab  ", strings.Repeat("x", 20), tNull),
		s(`""`, `"a\tb\nc\\d\"e'f"`, `"😀👍🏽"`, `"ab  "`, `"`+strings.Repeat("x", 20)+`"`, "null")),
	col("t", "TEXT",
		s("''", `'line1\nline2\r\n'`, "'Ünïcödé — 日本語 😀'", "'tab\there '", "REPEAT('ab', 1000)", "NULL"),
		s("", "line1\nline2\r\n", "Ünïcödé — 日本語 😀", "tab\there ", ab1000, tNull),
		s(`""`, `"line1\nline2\r\n"`, `"Ünïcödé — 日本語 😀"`, `"tab\there "`, `"`+ab1000+`"`, "null")),
	col("tt", "TINYTEXT", s("''", "'x'", "'ü'", "'y '", "'tiny'", "NULL"), s("", "x", "ü", "y ", "tiny", tNull), s(`""`, `"x"`, `"ü"`, `"y "`, `"tiny"`, "null")),
	col("mt", "MEDIUMTEXT", s("''", "'x'", "'🎉'", "'y '", "'medium'", "NULL"), s("", "x", "🎉", "y ", "medium", tNull), s(`""`, `"x"`, `"🎉"`, `"y "`, `"medium"`, "null")),
	col("lt", "LONGTEXT", s("''", "'x'", "'𝄞'", "'y '", "'long'", "NULL"), s("", "x", "𝄞", "y ", "long", tNull), s(`""`, `"x"`, `"𝄞"`, `"y "`, `"long"`, "null")),
	col("m3", "VARCHAR(20) CHARACTER SET utf8mb3",
		s("''", "'abc'", "'é日本'", "'x '", "'€'", "NULL"),
		s("", "abc", "é日本", "x ", "€", tNull),
		s(`""`, `"abc"`, `"é日本"`, `"x "`, `"€"`, "null")),
	col("l1", "VARCHAR(20) CHARACTER SET latin1",
		s("''", "'abc'", "_latin1 0x80818D8F909D9FA0FF", "'café '", "_latin1 0xC0E9", "NULL"),
		s("", "abc", "€\u0081\u008d\u008f\u0090\u009dŸ\u00a0ÿ", "café ", "Àé", tNull),
		s(`""`, `"abc"`, `"€\u0081\u008d\u008f\u0090\u009dŸ\u00a0ÿ"`, `"café "`, `"Àé"`, "null")),
	col("lc", "CHAR(5) CHARACTER SET latin1",
		s("''", "'a'", "_latin1 0xE9", "'b  '", "'abcde'", "NULL"),
		s("", "a", "é", "b", "abcde", tNull),
		s(`""`, `"a"`, `"é"`, `"b"`, `"abcde"`, "null")),
	col("g", "VARCHAR(20) CHARACTER SET gbk",
		s("''", "'abc'", "_gbk 0xC4E3BAC3A3A1", "'中文 '", "'汉字'", "NULL"),
		s("", "abc", "你好！", "中文 ", "汉字", tNull),
		s(`""`, `"abc"`, `"你好！"`, `"中文 "`, `"汉字"`, "null")),
	col("cy", "VARCHAR(20) CHARACTER SET cp1251",
		s("''", "'abc'", "_cp1251 0xC0E1E2", "_cp1251 0x8898", "'Привет'", "NULL"),
		s("", "abc", "Абв", "€?", "Привет", tNull),
		s(`""`, `"abc"`, `"Абв"`, `"€?"`, `"Привет"`, "null")),
	col("e", "ENUM('a','b,c','it''s','é')",
		s("'a'", "'b,c'", "'it''s'", "'é'", "'not a member'", "NULL"),
		s("a", "b,c", "it's", "é", "", tNull),
		s(`"a"`, `"b,c"`, `"it's"`, `"é"`, `""`, "null")),
	col("st", "SET('a','b','c d','é')",
		s("''", "'a,b'", "'é,c d,b,a'", "'é'", "'c d'", "NULL"),
		s("", "a,b", "a,b,c d,é", "é", "c d", tNull),
		s(`[]`, `["a","b"]`, `["a","b","c d","é"]`, `["é"]`, `["c d"]`, "null")),
}}

// Binary strings, BLOBs, MariaDB's JSON (text by default), spatial types (bytea of
// MySQL's SRID + WKB by default). Rows: empty, NUL bytes, 0xFF, typical, NULL.
var typesBinary = ttable{name: "binary", cols: []tcol{
	col("bn", "BINARY(4)",
		s("''", "0x00", "0xFFFFFFFF", "'a'", "NULL"),
		s(`\x00000000`, `\x00000000`, `\xffffffff`, `\x61000000`, tNull),
		s(`"AAAAAA=="`, `"AAAAAA=="`, `"/////w=="`, `"YQAAAA=="`, "null")),
	col("vb", "VARBINARY(10)",
		s("''", "0x00", "0xFF00FF", "'abc'", "NULL"),
		s(`\x`, `\x00`, `\xff00ff`, `\x616263`, tNull),
		s(`""`, `"AA=="`, `"/wD/"`, `"YWJj"`, "null")),
	col("tb", "TINYBLOB", s("''", "0x000102", "0xFF", "'x'", "NULL"), s(`\x`, `\x000102`, `\xff`, `\x78`, tNull), s(`""`, `"AAEC"`, `"/w=="`, `"eA=="`, "null")),
	col("bl", "BLOB", s("''", "0x00", "0x00FF", "'abc'", "NULL"), s(`\x`, `\x00`, `\x00ff`, `\x616263`, tNull), s(`""`, `"AA=="`, `"AP8="`, `"YWJj"`, "null")),
	col("mb", "MEDIUMBLOB", s("''", "0x00", "0xFF00FF", "'x'", "NULL"), s(`\x`, `\x00`, `\xff00ff`, `\x78`, tNull), s(`""`, `"AA=="`, `"/wD/"`, `"eA=="`, "null")),
	col("lb", "LONGBLOB", s("''", "0x000102", "0xFFFFFFFF", "'abc'", "NULL"), s(`\x`, `\x000102`, `\xffffffff`, `\x616263`, tNull), s(`""`, `"AAEC"`, `"/////w=="`, `"YWJj"`, "null")),
	col("j", "JSON",
		s(`'{}'`, `'{"a": 1, "b": [true, null, "x\\u0000y"]}'`, `'"str"'`, `'3.50'`, "NULL"),
		s(`{}`, `{"a": 1, "b": [true, null, "x\u0000y"]}`, `"str"`, `3.50`, tNull),
		s(`"{}"`, `"{\"a\": 1, \"b\": [true, null, \"x\\u0000y\"]}"`, `"\"str\""`, `"3.50"`, "null")),
	col("gm", "GEOMETRY",
		s("ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('LINESTRING(0 0,1 1)', 4326)", "ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))')", "ST_GeomFromText('GEOMETRYCOLLECTION EMPTY')", "NULL"),
		s(`\x000000000101000000000000000000f03f0000000000000040`, `\xe610000001020000000200000000000000000000000000000000000000000000000000f03f000000000000f03f`,
			`\x000000000103000000010000000400000000000000000000000000000000000000000000000000f03f0000000000000000000000000000f03f000000000000f03f00000000000000000000000000000000`,
			`\x00000000010700000000000000`, tNull),
		s(`"AAAAAAEBAAAAAAAAAAAA8D8AAAAAAAAAQA=="`, `"5hAAAAECAAAAAgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADwPwAAAAAAAPA/"`,
			`"AAAAAAEDAAAAAQAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA8D8AAAAAAAAAAAAAAAAAAPA/AAAAAAAA8D8AAAAAAAAAAAAAAAAAAAAA"`,
			`"AAAAAAEHAAAAAAAAAA=="`, "null")),
	col("pt", "POINT",
		s("ST_GeomFromText('POINT(-71.06 42.36)', 4326)", "ST_GeomFromText('POINT(-1.5 0)')", "ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('POINT(1 2)')", "NULL"),
		s(`\xe61000000101000000a4703d0ad7c351c0ae47e17a142e4540`, `\x000000000101000000000000000000f8bf0000000000000000`, `\x000000000101000000000000000000f03f0000000000000040`, `\x000000000101000000000000000000f03f0000000000000040`, tNull),
		s(`"5hAAAAEBAAAApHA9CtfDUcCuR+F6FC5FQA=="`, `"AAAAAAEBAAAAAAAAAAAA+L8AAAAAAAAAAA=="`, `"AAAAAAEBAAAAAAAAAAAA8D8AAAAAAAAAQA=="`, `"AAAAAAEBAAAAAAAAAAAA8D8AAAAAAAAAQA=="`, "null")),
	col("mp", "MULTIPOINT",
		s("ST_GeomFromText('MULTIPOINT(1 1,2 2)', 3857)", "NULL", "NULL", "NULL", "NULL"),
		s(`\x110f00000104000000020000000101000000000000000000f03f000000000000f03f010100000000000000000000400000000000000040`, tNull, tNull, tNull, tNull),
		s(`"EQ8AAAEEAAAAAgAAAAEBAAAAAAAAAAAA8D8AAAAAAADwPwEBAAAAAAAAAAAAAEAAAAAAAAAAQA=="`, "null", "null", "null", "null")),
}}

// Values up to 16 MiB (compared by MD5). Rows: the largest MEDIUMBLOB and a 16 MiB
// LONGBLOB, then small ones.
var typesLarge = ttable{name: "large", cols: []tcol{
	{name: "mb", def: "MEDIUMBLOB", digest: true,
		vals: s("REPEAT('a', 16777215)", "'x'"),
		pg:   s("59bc7c3cf08fcff32cf523fcd58df01d", "9dd4e461268c8034f5c8564e155c67a6"),
		es:   s("59bc7c3cf08fcff32cf523fcd58df01d", "9dd4e461268c8034f5c8564e155c67a6")},
	{name: "lb", def: "LONGBLOB", digest: true,
		vals: s("REPEAT(0x00FF, 8388608)", "''"),
		pg:   s("e098eaab512453b7c78e32da7bf98a48", "d41d8cd98f00b204e9800998ecf8427e"),
		es:   s("e098eaab512453b7c78e32da7bf98a48", "d41d8cd98f00b204e9800998ecf8427e")},
}}

// Generated columns (VIRTUAL and STORED) arrive as plain columns holding the values the
// source computed: MariaDB's row events carry them with binlog_row_image=FULL. INVISIBLE
// columns are replicated like any other.
var typesGenerated = ttable{name: "generated", cols: []tcol{
	col("a", "INT", s("1", "-5", "NULL"), s("1", "-5", tNull), s("1", "-5", "null")),
	{name: "v", def: "INT AS (a * 2) VIRTUAL", gen: true, pg: s("2", "-10", tNull), es: s("2", "-10", "null"), vals: s("", "", "")},
	{name: "st", def: "VARCHAR(30) AS (CONCAT('s', a)) STORED", gen: true, pg: s("s1", "s-5", tNull), es: s(`"s1"`, `"s-5"`, "null"), vals: s("", "", "")},
	col("h", "INT INVISIBLE", s("7", "NULL", "-1"), s("7", tNull, "-1"), s("7", "null", "-1")),
}}

// A table without a primary key, replicated by the key the configuration names.
var typesKeyless = ttable{name: "keyless", keyless: true, cols: []tcol{
	col("v", "VARCHAR(10)", s("'a'", "'b'", "NULL"), s("a", "b", tNull), s(`"a"`, `"b"`, "null")),
}}
