package crashpoint

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		name string
		nth  int64
	}{
		{"stream.committed", "stream.committed", 1},
		{"stream.committed:3", "stream.committed", 3},
		{" snapshot.chunk-rows:2 ", "snapshot.chunk-rows", 2},
		{"stream.committed:0", "stream.committed:0", 1},
		{"stream.committed:x", "stream.committed:x", 1},
	} {
		a := parse(c.in)
		if a == nil || a.name != c.name || a.nth != c.nth {
			t.Errorf("parse(%q) = %+v, want name %q nth %d", c.in, a, c.name, c.nth)
		}
	}
	if a := parse(""); a != nil {
		t.Errorf("parse(\"\") = %+v, want nil", a)
	}
}

func TestPointsDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Points() {
		if seen[p] || strings.ContainsAny(p, ": ") {
			t.Errorf("point %q repeated or not a plain name", p)
		}
		seen[p] = true
	}
	if len(seen) < 20 {
		t.Errorf("%d points, want at least 20", len(seen))
	}
}

// TestHitKills runs this test binary again with a point armed: the child must die of
// SIGKILL at the second hit, after saying so, and not at the first.
func TestHitKills(t *testing.T) {
	if os.Getenv("CRASHPOINT_CHILD") == "1" {
		Hit(StreamBatchApplied)
		Hit(StreamCommitted) // another point: no effect
		os.Stdout.WriteString("after first hit\n")
		Hit(StreamBatchApplied)
		os.Stdout.WriteString("after second hit\n")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHitKills$")
	cmd.Env = append(os.Environ(), "CRASHPOINT_CHILD=1", Env+"="+StreamBatchApplied+":2")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("child: %v, want death by SIGKILL\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	if ws, _ := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", ee)
	}
	if !strings.Contains(out.String(), "after first hit") || strings.Contains(out.String(), "after second hit") {
		t.Errorf("child stdout %q: want it killed at the second hit only", out.String())
	}
	if got := errb.String(); got != "crash point "+StreamBatchApplied+"\n" {
		t.Errorf("child stderr %q", got)
	}
}

func TestHitUnarmed(t *testing.T) {
	if os.Getenv(Env) != "" {
		t.Skip(Env + " is set")
	}
	Hit(StreamBatchApplied) // must return
}
