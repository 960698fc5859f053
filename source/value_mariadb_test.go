package source

import (
	"net/netip"
	"testing"

	"github.com/replicator/replicator/schema"
)

// The expected texts are what MariaDB 10.11 prints for CAST(x AS INET6).
func TestAppendInet6(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"1:0:1:1:1:1:1:1":        "1::1:1:1:1:1:1",
		"1:0:0:1:0:0:1:1":        "1::1:0:0:1:1",
		"::2":                    "::2",
		"::1":                    "::1",
		"::":                     "::",
		"::ffff:1.2.3.4":         "::ffff:1.2.3.4",
		"::ffff:0.0.0.0":         "::ffff:0.0.0.0",
		"::1:0:0:0":              "::1:0:0:0",
		"::1.2.3.4":              "::1.2.3.4",
		"::0.1.0.0":              "::0.1.0.0",
		"::0.0.1.0":              "::100",
		"::fffe:1.2.3.4":         "::fffe:102:304",
		"0:0:0:0:0:1:0:0":        "::1:0:0",
		"1:2:3:4:5:6:7:0":        "1:2:3:4:5:6:7::",
		"2001:db8::ff00:42:8329": "2001:db8::ff00:42:8329",
	} {
		a := netip.MustParseAddr(in).As16()
		c := &schema.Column{Name: "a", DataType: "inet6"}
		// The row image leaves out trailing zero bytes.
		v := a[:]
		for len(v) > 0 && v[len(v)-1] == 0 {
			v = v[:len(v)-1]
		}
		got, null, err := AppendBinlogValue(nil, c, string(v))
		if err != nil || null || string(got) != want {
			t.Errorf("%s: got %q %v %v, want %q", in, got, null, err, want)
		}
	}
}
