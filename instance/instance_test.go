package instance

import (
	"os"
	"os/exec"
	"testing"
)

func TestCrashed(t *testing.T) {
	t.Parallel()
	self := Self()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	for _, tc := range []struct {
		name string
		p    Process
		want bool
	}{
		{"this process", self, false},
		{"an exited process on this host", Process{Host: host, PID: gone.Process.Pid}, true},
		{"a process on another host", Process{Host: host + "-other", PID: gone.Process.Pid}, false},
		{"unknown host", Process{PID: gone.Process.Pid}, false},
		{"no pid", Process{Host: host}, false},
	} {
		if got := tc.p.Crashed(); got != tc.want {
			t.Errorf("%s: Crashed() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLabel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Process
		ok   bool
	}{
		{Process{Host: "db-1.example", PID: 42}.Label(), Process{Host: "db-1.example", PID: 42}, true},
		{"replicator pid=7 host=", Process{PID: 7}, true},
		{"replicator", Process{}, false},
		{"psql", Process{}, false},
		{"replicator pid=x host=h", Process{}, false},
	} {
		got, ok := ParseLabel(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseLabel(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
