package main

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// cpuTimes are the servers' CPU seconds (user + system, their exited children included)
// and the process ids they were read from.
type cpuTimes struct {
	pg, my       float64
	pgPID, myPID int
}

// sub is the CPU used between two samples; NaN for a server whose process changed (it was
// restarted in between: its counters started again from zero).
func (a cpuTimes) sub(b cpuTimes) cpuTimes {
	d := cpuTimes{pg: a.pg - b.pg, my: a.my - b.my, pgPID: a.pgPID, myPID: a.myPID}
	if a.pgPID != b.pgPID || a.pgPID == 0 {
		d.pg = math.NaN()
	}
	if a.myPID != b.myPID || a.myPID == 0 {
		d.my = math.NaN()
	}
	return d
}

// secs formats a CPU figure; a NaN (restarted or unreadable server) says so instead of
// printing a meaningless difference.
func secs(v float64) string {
	if math.IsNaN(v) {
		return "n/a (server restarted or not local)"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// serverCPU reads the CPU time of the PostgreSQL and MariaDB servers the bench talks to,
// found by the process ids they report. Summing every process named mariadbd counted the
// local environment's replica too, whose restart between two samples (the failover tests
// restart it) made the difference negative.
func serverCPU(ctx context.Context, my *client.Conn) cpuTimes {
	var c cpuTimes
	c.myPID = mariadbPID(my)
	c.pgPID = postmasterPID(ctx)
	c.my, c.pg = pidTreeCPU(c.myPID), pidTreeCPU(c.pgPID)
	return c
}

// mariadbPID reads the server's pid file (@@pid_file, relative to @@datadir when not
// absolute); 0 when it is not readable here.
func mariadbPID(my *client.Conn) int {
	r, err := my.Execute("SELECT @@pid_file, @@datadir")
	if err != nil {
		return 0
	}
	file, _ := r.GetString(0, 0)
	dir, _ := r.GetString(0, 1)
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	return pidFromFile(file)
}

// postmasterPID reads the first line of postmaster.pid in the server's data directory.
func postmasterPID(ctx context.Context) int {
	pg, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return 0
	}
	defer pg.Close(ctx)
	var dir string
	if err := pg.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
		return 0
	}
	return pidFromFile(filepath.Join(dir, "postmaster.pid"))
}

// esPID asks the Elasticsearch node for its process id; 0 when it does not answer.
func esPID() int {
	resp, err := http.Get(strings.TrimRight(esURL, "/") + "/_nodes/_local/process")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var out struct {
		Nodes map[string]struct {
			Process struct {
				ID int `json:"id"`
			} `json:"process"`
		} `json:"nodes"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0
	}
	for _, n := range out.Nodes {
		return n.Process.ID
	}
	return 0
}

func pidFromFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	return pid
}

// pidTreeCPU is the CPU seconds of process pid: its own, its reaped children's
// (cutime+cstime) and its live children's (PostgreSQL's backends); 0 for pid 0.
func pidTreeCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	ents, _ := os.ReadDir("/proc")
	var total float64
	for _, e := range ents {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		st := string(b)
		end := strings.LastIndexByte(st, ')')
		if end < 0 || end+2 > len(st) {
			continue
		}
		f := strings.Fields(st[end+2:])
		if len(f) < 20 {
			continue
		}
		num := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v }
		// Fields after the name: ppid 1, utime 11, stime 12, cutime 13, cstime 14.
		switch {
		case id == pid:
			total += num(11) + num(12) + num(13) + num(14)
		case int(num(1)) == pid:
			total += num(11) + num(12)
		}
	}
	return total / 100 // USER_HZ
}
