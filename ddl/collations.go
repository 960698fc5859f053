package ddl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/charset"
)

// The TiDB parser knows few character sets (utf8, utf8mb4, ascii, latin1, binary, gbk,
// gb18030) and MySQL's collations only: a MariaDB statement naming cp1251, koi8r or
// utf8mb4_uca1400_ai_ci (MariaDB 11's default) fails with "Unknown character set" or
// "[ddl:1273]Unknown collation" and would stop replication. The parser only checks that a
// name exists; the names it keeps are the ones written, which is what the tracked definition
// wants. So every MariaDB character set and collation is registered with the parser once,
// before any statement is parsed (registration writes maps that parsing reads, hence init).

// mariadbCharsets are MariaDB 10.11's character sets: name, default collation, bytes per
// character at most (information_schema.CHARACTER_SETS).
var mariadbCharsets = []struct {
	name, collation string
	maxlen          int
}{
	{"armscii8", "armscii8_general_ci", 1},
	{"ascii", "ascii_general_ci", 1},
	{"big5", "big5_chinese_ci", 2},
	{"binary", "binary", 1},
	{"cp1250", "cp1250_general_ci", 1},
	{"cp1251", "cp1251_general_ci", 1},
	{"cp1256", "cp1256_general_ci", 1},
	{"cp1257", "cp1257_general_ci", 1},
	{"cp850", "cp850_general_ci", 1},
	{"cp852", "cp852_general_ci", 1},
	{"cp866", "cp866_general_ci", 1},
	{"cp932", "cp932_japanese_ci", 2},
	{"dec8", "dec8_swedish_ci", 1},
	{"eucjpms", "eucjpms_japanese_ci", 3},
	{"euckr", "euckr_korean_ci", 2},
	{"gb2312", "gb2312_chinese_ci", 2},
	{"gbk", "gbk_chinese_ci", 2},
	{"geostd8", "geostd8_general_ci", 1},
	{"greek", "greek_general_ci", 1},
	{"hebrew", "hebrew_general_ci", 1},
	{"hp8", "hp8_english_ci", 1},
	{"keybcs2", "keybcs2_general_ci", 1},
	{"koi8r", "koi8r_general_ci", 1},
	{"koi8u", "koi8u_general_ci", 1},
	{"latin1", "latin1_swedish_ci", 1},
	{"latin2", "latin2_general_ci", 1},
	{"latin5", "latin5_turkish_ci", 1},
	{"latin7", "latin7_general_ci", 1},
	{"macce", "macce_general_ci", 1},
	{"macroman", "macroman_general_ci", 1},
	{"sjis", "sjis_japanese_ci", 2},
	{"swe7", "swe7_swedish_ci", 1},
	{"tis620", "tis620_thai_ci", 1},
	{"ucs2", "ucs2_general_ci", 2},
	{"ujis", "ujis_japanese_ci", 3},
	{"utf16", "utf16_general_ci", 4},
	{"utf16le", "utf16le_general_ci", 4},
	{"utf32", "utf32_general_ci", 4},
	{"utf8mb3", "utf8mb3_general_ci", 3},
	{"utf8mb4", "utf8mb4_general_ci", 4},
}

// mariadbCollations lists MariaDB 10.11's collations by character set, as suffixes of
// "<charset>_" (information_schema.COLLATIONS).
var mariadbCollations = map[string]string{
	"armscii8": "bin general_ci general_nopad_ci nopad_bin",
	"ascii":    "bin general_ci general_nopad_ci nopad_bin",
	"big5":     "bin chinese_ci chinese_nopad_ci nopad_bin",
	"cp1250":   "bin croatian_ci czech_cs general_ci general_nopad_ci nopad_bin polish_ci",
	"cp1251":   "bin bulgarian_ci general_ci general_cs general_nopad_ci nopad_bin ukrainian_ci",
	"cp1256":   "bin general_ci general_nopad_ci nopad_bin",
	"cp1257":   "bin general_ci general_nopad_ci lithuanian_ci nopad_bin",
	"cp850":    "bin general_ci general_nopad_ci nopad_bin",
	"cp852":    "bin general_ci general_nopad_ci nopad_bin",
	"cp866":    "bin general_ci general_nopad_ci nopad_bin",
	"cp932":    "bin japanese_ci japanese_nopad_ci nopad_bin",
	"dec8":     "bin nopad_bin swedish_ci swedish_nopad_ci",
	"eucjpms":  "bin japanese_ci japanese_nopad_ci nopad_bin",
	"euckr":    "bin korean_ci korean_nopad_ci nopad_bin",
	"gb2312":   "bin chinese_ci chinese_nopad_ci nopad_bin",
	"gbk":      "bin chinese_ci chinese_nopad_ci nopad_bin",
	"geostd8":  "bin general_ci general_nopad_ci nopad_bin",
	"greek":    "bin general_ci general_nopad_ci nopad_bin",
	"hebrew":   "bin general_ci general_nopad_ci nopad_bin",
	"hp8":      "bin english_ci english_nopad_ci nopad_bin",
	"keybcs2":  "bin general_ci general_nopad_ci nopad_bin",
	"koi8r":    "bin general_ci general_nopad_ci nopad_bin",
	"koi8u":    "bin general_ci general_nopad_ci nopad_bin",
	"latin1":   "bin danish_ci general_ci general_cs german1_ci german2_ci nopad_bin spanish_ci swedish_ci swedish_nopad_ci",
	"latin2":   "bin croatian_ci czech_cs general_ci general_nopad_ci hungarian_ci nopad_bin",
	"latin5":   "bin nopad_bin turkish_ci turkish_nopad_ci",
	"latin7":   "bin estonian_cs general_ci general_cs general_nopad_ci nopad_bin",
	"macce":    "bin general_ci general_nopad_ci nopad_bin",
	"macroman": "bin general_ci general_nopad_ci nopad_bin",
	"sjis":     "bin japanese_ci japanese_nopad_ci nopad_bin",
	"swe7":     "bin nopad_bin swedish_ci swedish_nopad_ci",
	"tis620":   "bin nopad_bin thai_ci thai_nopad_ci",
	"ucs2":     "bin croatian_ci croatian_mysql561_ci czech_ci danish_ci esperanto_ci estonian_ci general_ci general_mysql500_ci general_nopad_ci german2_ci hungarian_ci icelandic_ci latvian_ci lithuanian_ci myanmar_ci nopad_bin persian_ci polish_ci romanian_ci roman_ci sinhala_ci slovak_ci slovenian_ci spanish2_ci spanish_ci swedish_ci thai_520_w2 turkish_ci unicode_520_ci unicode_520_nopad_ci unicode_ci unicode_nopad_ci vietnamese_ci",
	"ujis":     "bin japanese_ci japanese_nopad_ci nopad_bin",
	"utf16":    "bin croatian_ci croatian_mysql561_ci czech_ci danish_ci esperanto_ci estonian_ci general_ci general_nopad_ci german2_ci hungarian_ci icelandic_ci latvian_ci lithuanian_ci myanmar_ci nopad_bin persian_ci polish_ci romanian_ci roman_ci sinhala_ci slovak_ci slovenian_ci spanish2_ci spanish_ci swedish_ci thai_520_w2 turkish_ci unicode_520_ci unicode_520_nopad_ci unicode_ci unicode_nopad_ci vietnamese_ci",
	"utf16le":  "bin general_ci general_nopad_ci nopad_bin",
	"utf32":    "bin croatian_ci croatian_mysql561_ci czech_ci danish_ci esperanto_ci estonian_ci general_ci general_nopad_ci german2_ci hungarian_ci icelandic_ci latvian_ci lithuanian_ci myanmar_ci nopad_bin persian_ci polish_ci romanian_ci roman_ci sinhala_ci slovak_ci slovenian_ci spanish2_ci spanish_ci swedish_ci thai_520_w2 turkish_ci unicode_520_ci unicode_520_nopad_ci unicode_ci unicode_nopad_ci vietnamese_ci",
	"utf8mb3":  "bin croatian_ci croatian_mysql561_ci czech_ci danish_ci esperanto_ci estonian_ci general_ci general_mysql500_ci general_nopad_ci german2_ci hungarian_ci icelandic_ci latvian_ci lithuanian_ci myanmar_ci nopad_bin persian_ci polish_ci romanian_ci roman_ci sinhala_ci slovak_ci slovenian_ci spanish2_ci spanish_ci swedish_ci thai_520_w2 turkish_ci unicode_520_ci unicode_520_nopad_ci unicode_ci unicode_nopad_ci vietnamese_ci",
	"utf8mb4":  "bin croatian_ci croatian_mysql561_ci czech_ci danish_ci esperanto_ci estonian_ci general_ci general_nopad_ci german2_ci hungarian_ci icelandic_ci latvian_ci lithuanian_ci myanmar_ci nopad_bin persian_ci polish_ci romanian_ci roman_ci sinhala_ci slovak_ci slovenian_ci spanish2_ci spanish_ci swedish_ci thai_520_w2 turkish_ci unicode_520_ci unicode_520_nopad_ci unicode_ci unicode_nopad_ci vietnamese_ci",
}

// uca1400Languages are the tailorings of MariaDB 11's UCA 14.0.0 collations, named
// <charset>_uca1400[_<language>][_nopad]_<ai|as>_<ci|cs>.
var uca1400Languages = []string{"", "icelandic", "latvian", "romanian", "slovenian", "polish",
	"estonian", "spanish", "swedish", "turkish", "czech", "danish", "lithuanian", "slovak",
	"spanish2", "roman", "persian", "esperanto", "hungarian", "sinhala", "german2", "croatian",
	"vietnamese"}

// mariadbCollationNames returns every collation name registered by registerMariaDB, with
// its character set.
func mariadbCollationNames() map[string]string {
	names := map[string]string{}
	for cs, suffixes := range mariadbCollations {
		for _, s := range strings.Fields(suffixes) {
			names[cs+"_"+s] = cs
		}
	}
	for _, cs := range []string{"utf8mb3", "utf8mb4", "ucs2", "utf16", "utf32"} {
		for _, lang := range uca1400Languages {
			for _, pad := range []string{"", "_nopad"} {
				for _, strength := range []string{"_ai_ci", "_ai_cs", "_as_ci", "_as_cs"} {
					name := cs + "_uca1400"
					if lang != "" {
						name += "_" + lang
					}
					names[name+pad+strength] = cs
				}
			}
		}
	}
	return names
}

// registeredCollationID is the first collation id given to a registered collation: far
// above MySQL's and MariaDB's, so no known id is taken over.
const registeredCollationID = 100000

func init() { registerMariaDB() }

func registerMariaDB() {
	for _, c := range mariadbCharsets {
		if _, err := charset.GetCharsetInfo(c.name); err == nil || c.name == "utf8mb3" {
			continue
		}
		charset.AddCharset(&charset.Charset{Name: c.name, DefaultCollation: c.collation,
			Collations: map[string]*charset.Collation{}, Desc: "MariaDB " + c.name, Maxlen: c.maxlen})
	}
	names := mariadbCollationNames()
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted) // stable ids, whatever the map order
	id := registeredCollationID
	for _, n := range sorted {
		if _, err := charset.GetCollationByName(n); err == nil {
			continue
		}
		cs := names[n]
		if cs == "utf8mb3" {
			cs = "utf8" // the parser's name for it
		}
		charset.AddCollation(&charset.Collation{ID: id, CharsetName: cs, Name: n, IsDefault: false})
		id++
	}
	if _, err := charset.GetCollationByName("utf8mb4_uca1400_ai_ci"); err != nil {
		panic(fmt.Sprintf("ddl: registering MariaDB collations: %v", err))
	}
}
