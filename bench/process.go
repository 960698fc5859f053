package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// children are replicator processes to kill if the benchmark fails.
var children []*exec.Cmd

func fatalf(format string, a ...any) {
	for _, c := range children {
		if c.Process != nil {
			_ = c.Process.Kill()
		}
	}
	log.Fatalf(format, a...)
}

func check(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

// runToEnd runs the replicator to completion and returns stdout, peak RSS (MiB), wall time
// and CPU seconds.
func runToEnd(bin string, args ...string) (string, float64, time.Duration, float64) {
	cmd := exec.Command(bin, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	t0 := time.Now()
	check(cmd.Start())
	peak := watchRSS(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		fatalf("replicator %v: %v\n%s", args, err, se.String())
	}
	return so.String(), peak(), time.Since(t0), processCPU(cmd)
}

// watchRSS samples the process's peak RSS (VmHWM) every 50 ms until it exits; the
// returned function gives the last sample in MiB. The rusage of a child cannot be used:
// Linux counts in it the parent's RSS at the moment of exec.
func watchRSS(pid int) func() float64 {
	var mu sync.Mutex
	var peak float64
	go func() {
		for {
			v, ok := vmHWM(pid)
			if !ok {
				return
			}
			mu.Lock()
			peak = max(peak, v)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// vmHWM reads a live process's peak resident set size in MiB.
func vmHWM(pid int) (float64, bool) { return procStatusMiB(pid, "VmHWM:") }

// procStatusMiB reads a kB field of a live process's /proc status in MiB.
func procStatusMiB(pid int, field string) (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}

type running struct {
	cmd *exec.Cmd
	log *bytes.Buffer
}

func startRun(bin, cfg string) *running {
	r := &running{cmd: exec.Command(bin, "run", "-c", cfg), log: &bytes.Buffer{}}
	r.cmd.Stderr = r.log
	check(r.cmd.Start())
	children = append(children, r.cmd)
	return r
}

// stop ends the replicator with SIGTERM and returns its peak RSS in MiB, read just
// before the signal.
func (r *running) stop() float64 {
	peak, _ := vmHWM(r.cmd.Process.Pid)
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	if err := r.cmd.Wait(); err != nil {
		fatalf("replicator run: %v\n%s", err, r.log.String())
	}
	return peak
}

// processCPU is a finished child's user + system CPU seconds.
func processCPU(cmd *exec.Cmd) float64 {
	if cmd.ProcessState == nil {
		return 0
	}
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}
