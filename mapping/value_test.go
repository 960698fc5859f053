package mapping

import (
	"testing"

	"github.com/replicator/replicator/schema"
)

// The binary log's floats and text are brought to what a SELECT shows; source's decoder
// tests cover the same through AppendBinlogValue.
func TestFloatsAsShown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ct   string
		f32  float32
		want string
	}{
		{"float", 123456789, "1.23457e+08"},
		{"float", 999998.5, "999998"}, // ties to even
		{"float", -1e-50, "0"},        // a stored -0 shows as 0
		{"float(10,3)", 3.142, "3.142"},
	} {
		if got := string(AppendFloat32(nil, &schema.Column{DataType: "float", ColumnType: tc.ct}, tc.f32)); got != tc.want {
			t.Errorf("AppendFloat32(%s, %v) = %q, want %q", tc.ct, tc.f32, got, tc.want)
		}
	}
	for _, tc := range []struct {
		ct   string
		f64  float64
		want string
	}{
		{"double", 123456789.123, "1.23456789123e+08"},
		{"double", 5e-324, "5e-324"},
		{"double(20,5)", 0.00001, "1e-05"},
	} {
		if got := string(AppendFloat64(nil, &schema.Column{DataType: "double", ColumnType: tc.ct}, tc.f64)); got != tc.want {
			t.Errorf("AppendFloat64(%s, %v) = %q, want %q", tc.ct, tc.f64, got, tc.want)
		}
	}
}

func TestAppendUTF8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ charset, in, want string }{
		{"utf8mb4", "caf\xc3\xa9", "café"},
		// latin1 is Windows-1252 with the undefined bytes as C1 controls.
		{"latin1", "\x80\x81\x8d\x8f\x90\x9d\xff", "€\u0081\u008d\u008f\u0090\u009dÿ"},
		// Bytes without a Unicode character show as '?', as the server converts them.
		{"cp1251", "\x88\x98", "€?"},
		{"gbk", "\xc4\xe3\xba\xc3", "你好"},
		{"ucs2", "\x00A", "A"},
	} {
		got, err := AppendUTF8(nil, tc.charset, []byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("AppendUTF8(%s, %q) = %q, %v; want %q", tc.charset, tc.in, got, err, tc.want)
		}
	}
	if _, err := AppendUTF8(nil, "armscii8", []byte("x")); err == nil || SupportedCharset("armscii8") {
		t.Error("armscii8 converted or reported supported")
	}
}
