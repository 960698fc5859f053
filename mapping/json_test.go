package mapping

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\s\n\r\t\x01", `"q\"b\\s\n\r\t\u0001"`},
		{"<a & b>", `"<a & b>"`},
		{"emoji 😀 ü", `"emoji 😀 ü"`},
		{"bad \xff byte \xc3", `"bad \ufffd byte \ufffd"`},
	}
	for _, tc := range cases {
		got := string(AppendJSONString(nil, tc.in))
		if got != tc.want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("AppendJSONString(%q) = %s is not valid JSON", tc.in, got)
		}
	}
}
