package source

import "testing"

func TestCoversAndBehind(t *testing.T) {
	const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	cases := []struct {
		flavor, have, want string
		covers             bool
		behind             int64
	}{
		{MariaDB, "0-1-10", "0-1-10", true, 0},
		{MariaDB, "0-1-10", "0-1-12", false, 2},
		{MariaDB, "0-2-15", "0-1-12", true, 0}, // failover: another server id, same domain history
		{MariaDB, "0-1-10", "0-1-10,1-5-3", false, 3},
		{MariaDB, "0-1-10,1-5-3", "0-1-9", true, 0},
		{MariaDB, "0-1-10", "", true, 0},
		{MySQL, uuid + ":1-10", uuid + ":1-10", true, 0},
		{MySQL, uuid + ":1-10", uuid + ":1-15", false, 5},
		{MySQL, uuid + ":1-20", uuid + ":1-15", true, 0},
	}
	for _, tc := range cases {
		got, err := Covers(tc.flavor, tc.have, tc.want)
		if err != nil || got != tc.covers {
			t.Errorf("Covers(%s, %q, %q) = %v, %v; want %v", tc.flavor, tc.have, tc.want, got, err, tc.covers)
		}
		if tc.want == "" {
			continue
		}
		n, err := TransactionsBehind(tc.flavor, tc.have, tc.want)
		if err != nil || n != tc.behind {
			t.Errorf("TransactionsBehind(%s, %q, %q) = %d, %v; want %d", tc.flavor, tc.have, tc.want, n, err, tc.behind)
		}
	}
	if _, err := Covers(MariaDB, "garbage", "0-1-1"); err == nil {
		t.Error("unparsable position: no error")
	}
}
