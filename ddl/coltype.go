package ddl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/types"

	"github.com/replicator/replicator/schema"
)

// setType fills the type fields of col from a parsed type the way information_schema shows
// them, so that a definition tracked from DDL equals one read by source.LoadTable:
//
//   - DataType is DATA_TYPE: "int", "varchar", "enum", "longtext"...; aliases are resolved
//     (BOOL -> tinyint, REAL -> double, LONG VARCHAR -> mediumtext, TEXT(M) -> the smallest
//     text type holding M characters, FLOAT(p>24) -> double).
//   - ColumnType is COLUMN_TYPE. MariaDB (and MySQL before 8.0.19) shows integer display
//     widths, "int(11)", "int(10) unsigned"; MySQL 8 shows "int", "int unsigned", keeping a
//     width only for TINYINT(1) and ZEROFILL. YEAR is "year(4)" on MariaDB, "year" on MySQL.
//   - JSON is "json" on MySQL and LONGTEXT (utf8mb4_bin) on MariaDB, where it is an alias.
//   - CharLength is CHARACTER_MAXIMUM_LENGTH: the declared length of CHAR/VARCHAR/BINARY/
//     VARBINARY, the type's maximum for TEXT and BLOB types, the longest member of an ENUM
//     and the length of all members joined by commas for a SET.
//   - Precision and Scale are set for DECIMAL (default (10,0)), Precision for BIT (default
//     1), FracDigits for TIME, DATETIME and TIMESTAMP, exactly the fields LoadTable sets.
//
// Charset and Collation are set only when the definition (or, for CREATE TABLE, the table's
// default) names them: the server's and database's defaults are not in the statement.
func setType(col *schema.Column, ft *types.FieldType, flavor Flavor) error {
	flag := ft.GetFlag()
	flen, dec := ft.GetFlen(), ft.GetDecimal()
	zerofill := mysql.HasZerofillFlag(flag)
	col.Unsigned = mysql.HasUnsignedFlag(flag) || zerofill
	binary := ft.GetCharset() == "binary"
	sign := ""
	if col.Unsigned {
		sign = " unsigned"
	}
	if zerofill {
		sign += " zerofill"
	}
	switch tp := ft.GetType(); tp {
	case mysql.TypeTiny, mysql.TypeShort, mysql.TypeInt24, mysql.TypeLong, mysql.TypeLonglong:
		name := intNames[tp]
		col.DataType = name
		width := flen
		if width <= 0 {
			width = defaultWidth(tp, col.Unsigned)
		}
		switch {
		case flavor == MariaDB || zerofill:
			col.ColumnType = fmt.Sprintf("%s(%d)%s", name, width, sign)
		case tp == mysql.TypeTiny && flen == 1:
			col.ColumnType = "tinyint(1)" + sign
		default:
			col.ColumnType = name + sign
		}
	case mysql.TypeFloat, mysql.TypeDouble:
		col.DataType = "float"
		if tp == mysql.TypeDouble {
			col.DataType = "double"
		}
		col.ColumnType = col.DataType
		if flen > 0 && dec >= 0 {
			col.ColumnType = fmt.Sprintf("%s(%d,%d)", col.DataType, flen, dec)
		}
		col.ColumnType += sign
	case mysql.TypeNewDecimal:
		col.DataType = "decimal"
		col.Precision, col.Scale = flen, dec
		if col.Precision <= 0 {
			col.Precision = 10
		}
		if col.Scale < 0 {
			col.Scale = 0
		}
		col.ColumnType = fmt.Sprintf("decimal(%d,%d)%s", col.Precision, col.Scale, sign)
	case mysql.TypeBit:
		col.DataType = "bit"
		col.Precision = max(flen, 1)
		col.ColumnType = fmt.Sprintf("bit(%d)", col.Precision)
	case mysql.TypeYear:
		col.DataType, col.ColumnType = "year", "year"
		if flavor == MariaDB {
			col.ColumnType = "year(4)"
		}
	case mysql.TypeDate:
		col.DataType, col.ColumnType = "date", "date"
	case mysql.TypeDuration, mysql.TypeDatetime, mysql.TypeTimestamp:
		col.DataType = map[byte]string{mysql.TypeDuration: "time", mysql.TypeDatetime: "datetime", mysql.TypeTimestamp: "timestamp"}[tp]
		col.FracDigits = max(dec, 0)
		col.ColumnType = col.DataType
		if col.FracDigits > 0 {
			col.ColumnType = fmt.Sprintf("%s(%d)", col.DataType, col.FracDigits)
		}
	case mysql.TypeString, mysql.TypeVarchar, mysql.TypeVarString:
		col.DataType = "char"
		if tp != mysql.TypeString {
			col.DataType = "varchar"
		}
		if binary {
			col.DataType = strings.TrimSuffix(col.DataType, "char") + "binary" // binary, varbinary
		}
		col.CharLength = int64(flen)
		if flen < 0 {
			col.CharLength = 1
		}
		col.ColumnType = fmt.Sprintf("%s(%d)", col.DataType, col.CharLength)
	case mysql.TypeTinyBlob, mysql.TypeBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob:
		size := blobSize(tp, flen, binary, ft.GetCharset())
		if binary {
			col.DataType = blobNames[size]
		} else {
			col.DataType = textNames[size]
		}
		col.ColumnType = col.DataType
		col.CharLength = blobLengths[size]
	case mysql.TypeEnum, mysql.TypeSet:
		col.Elems = append([]string(nil), ft.GetElems()...)
		col.DataType = "enum"
		if tp == mysql.TypeSet {
			col.DataType = "set"
		}
		quoted := make([]string, len(col.Elems))
		for i, e := range col.Elems {
			quoted[i] = "'" + strings.ReplaceAll(e, "'", "''") + "'"
			n := int64(len([]rune(e)))
			if tp == mysql.TypeSet {
				if i > 0 {
					col.CharLength++
				}
				col.CharLength += n
			} else if n > col.CharLength {
				col.CharLength = n
			}
		}
		col.ColumnType = col.DataType + "(" + strings.Join(quoted, ",") + ")"
	case mysql.TypeJSON:
		if flavor == MariaDB {
			col.DataType, col.ColumnType = "longtext", "longtext"
			col.CharLength = blobLengths[3]
			col.Charset, col.Collation = "utf8mb4", "utf8mb4_bin"
			// MariaDB adds a json_valid CHECK to a JSON column; LoadTable reports it so.
			col.JSONValid = true
		} else {
			col.DataType, col.ColumnType = "json", "json"
		}
		return nil
	case mysql.TypeTiDBVectorFloat32:
		col.DataType = "vector"
		col.ColumnType = "vector"
		if flen > 0 {
			col.ColumnType = fmt.Sprintf("vector(%d)", flen)
		}
		return nil
	default:
		return fmt.Errorf("column %s: type %s is not supported", col.Name, ft.String())
	}
	if isStringType(col.DataType) {
		col.Charset, col.Collation = ft.GetCharset(), ft.GetCollate()
	}
	return nil
}

var intNames = map[byte]string{mysql.TypeTiny: "tinyint", mysql.TypeShort: "smallint",
	mysql.TypeInt24: "mediumint", mysql.TypeLong: "int", mysql.TypeLonglong: "bigint"}

// defaultWidth is the display width the server gives an integer type declared without one.
func defaultWidth(tp byte, unsigned bool) int {
	w := map[byte][2]int{mysql.TypeTiny: {4, 3}, mysql.TypeShort: {6, 5}, mysql.TypeInt24: {9, 8},
		mysql.TypeLong: {11, 10}, mysql.TypeLonglong: {20, 20}}[tp]
	if unsigned {
		return w[1]
	}
	return w[0]
}

var (
	textNames   = [4]string{"tinytext", "text", "mediumtext", "longtext"}
	blobNames   = [4]string{"tinyblob", "blob", "mediumblob", "longblob"}
	blobLengths = [4]int64{255, 65535, 16777215, 4294967295}
)

// blobSize picks the TEXT/BLOB size class. TEXT(M) and BLOB(M) become the smallest type that
// holds M characters (bytes for BLOB); characters are counted at the charset's maximum width,
// utf8mb4's 4 bytes when the definition names no charset.
func blobSize(tp byte, flen int, binary bool, charset string) int {
	switch tp {
	case mysql.TypeTinyBlob:
		return 0
	case mysql.TypeMediumBlob:
		return 2
	case mysql.TypeLongBlob:
		return 3
	}
	if flen <= 0 {
		return 1
	}
	bytes := int64(flen)
	if !binary {
		bytes *= int64(charsetWidth(charset))
	}
	for i, l := range blobLengths {
		if bytes <= l {
			return i
		}
	}
	return 3
}

func charsetWidth(cs string) int {
	switch strings.ToLower(cs) {
	case "latin1", "ascii", "binary", "latin2", "latin5", "latin7", "cp1250", "cp1251", "cp1256", "cp1257", "cp850", "cp852", "cp866", "koi8r", "koi8u", "greek", "hebrew", "swe7", "tis620", "armscii8", "geostd8", "dec8", "hp8", "keybcs2", "macce", "macroman":
		return 1
	case "ucs2", "gbk", "big5", "sjis", "cp932", "euckr", "gb2312":
		return 2
	case "utf8", "utf8mb3", "ujis", "eucjpms":
		return 3
	}
	return 4
}

// isStringType reports the types that have a character set.
func isStringType(dataType string) bool {
	switch dataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return true
	}
	return false
}

// isNumericType reports the types whose defaults information_schema shows as bare numbers.
func isNumericType(dataType string) bool {
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric",
		"float", "double", "year":
		return true
	}
	return false
}

func isIntegerType(dataType string) bool {
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year":
		return true
	}
	return false
}

// floatScale returns D of FLOAT(M,D) / DOUBLE(M,D) from the column type, or -1.
func floatScale(col *schema.Column) int {
	if col.DataType != "float" && col.DataType != "double" {
		return -1
	}
	_, rest, ok := strings.Cut(col.ColumnType, ",")
	if !ok {
		return -1
	}
	digits, _, _ := strings.Cut(rest, ")")
	d, err := strconv.Atoi(strings.TrimSpace(digits))
	if err != nil {
		return -1
	}
	return d
}
