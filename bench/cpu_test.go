package main

import (
	"math"
	"os"
	"testing"
	"time"
)

// TestCPUFigures: a process's CPU is read by its pid and grows with the work it does; a
// sample from another process (a restarted server) gives n/a, never a negative figure.
func TestCPUFigures(t *testing.T) {
	pid := os.Getpid()
	before := pidTreeCPU(pid)
	x := 0.0
	for t0 := time.Now(); time.Since(t0) < 300*time.Millisecond; {
		x += math.Sqrt(x + 1)
	}
	if after := pidTreeCPU(pid); after <= before {
		t.Errorf("CPU of this process %.2f s after %.2f s of work (x=%v)", after, before, x)
	}
	a := cpuTimes{pg: 5, my: 9, pgPID: 10, myPID: 20}
	b := cpuTimes{pg: 7, my: 1, pgPID: 10, myPID: 21} // mariadbd restarted: its counter began again
	d := b.sub(a)
	if d.pg != 2 || !math.IsNaN(d.my) {
		t.Errorf("sub = %+v, want pg 2 and my NaN", d)
	}
	if secs(d.my) == "" || secs(d.pg) != "2.0" {
		t.Errorf("secs: %q %q", secs(d.pg), secs(d.my))
	}
	if pidTreeCPU(0) != 0 {
		t.Error("pid 0 has CPU")
	}
}
