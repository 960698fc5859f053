package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/replicator/replicator/config"
)

// CurrentGTID returns the GTID set of everything the source has written to its binary log.
func (c *Conn) CurrentGTID(ctx context.Context) (string, error) {
	name := "@@GLOBAL.gtid_executed"
	if c.Flavor == MariaDB {
		name = "@@GLOBAL.gtid_binlog_pos"
	}
	v, _, err := c.Variable(ctx, name)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return strings.ReplaceAll(strings.TrimSpace(v), "\n", ""), nil
}

// ParseGTIDSet parses a GTID set in the flavor's syntax.
func ParseGTIDSet(flavor, s string) (mysql.GTIDSet, error) {
	f := mysql.MySQLFlavor
	if flavor == MariaDB {
		f = mysql.MariaDBFlavor
	}
	g, err := mysql.ParseGTIDSet(f, s)
	if err != nil {
		return nil, fmt.Errorf("parse %s GTID set %q: %w", flavor, s, err)
	}
	return g, nil
}

// readTimeout is source.binlog_read_timeout: the longest silence of a stream that is at
// its start position.
func (d *Dialer) readTimeout() time.Duration {
	if d.cfg.BinlogReadTimeout.Duration > 0 {
		return d.cfg.BinlogReadTimeout.Duration
	}
	return config.DefaultBinlogReadTimeout
}

// seekTimeout is source.binlog_seek_timeout: the longest silence before the server has
// found the start position.
func (d *Dialer) seekTimeout() time.Duration {
	return max(d.cfg.BinlogSeekTimeout.Duration, d.readTimeout())
}

// heartbeatPeriod is what the server is asked for: three heartbeats fit in the read
// timeout, so one late or lost heartbeat does not end a healthy stream.
func heartbeatPeriod(readTimeout time.Duration) time.Duration {
	return min(5*time.Second, readTimeout/3)
}

// SyncerConfig builds the go-mysql binlog syncer configuration for this dialer. Its logs
// go to logger, so one log stream remains.
//
// go-mysql's ReadTimeout is one deadline for every read, and MariaDB sends nothing, not
// even heartbeats, while it reads the binlog file up to a GTID start position, which takes
// tens of seconds in a large file on a busy disk. So go-mysql gets the seek timeout, and
// the stream enforces the shorter read timeout itself once the server has sent its first
// event past the start (see watchdog).
func (d *Dialer) SyncerConfig(serverID uint32, flavor string, logger *slog.Logger) replication.BinlogSyncerConfig {
	return replication.BinlogSyncerConfig{
		ServerID:        serverID,
		Flavor:          flavor,
		Host:            d.cfg.Host,
		Port:            uint16(d.cfg.Port),
		User:            d.cfg.User,
		Password:        d.cfg.Password,
		Charset:         "utf8mb4",
		TLSConfig:       d.TLSConfig(),
		Logger:          logger,
		HeartbeatPeriod: heartbeatPeriod(d.readTimeout()),
		ReadTimeout:     d.seekTimeout(),
		UseDecimal:      false,
		// Reconnects are ours to manage (with our backoff and checkpoint), not go-mysql's.
		DisableRetrySync: true,
	}
}

// ProbeServerID derives the server id used by short-lived checks, so a check never kicks
// off a running replicator that uses the configured id.
func ProbeServerID(id uint32) uint32 {
	p := id + 1_000_000_000
	if p == 0 {
		p = 1
	}
	return p
}

// ErrNoReplicationPrivilege means the account may not read the binary log.
var ErrNoReplicationPrivilege = errors.New("missing REPLICATION SLAVE privilege")

// ProbeBinlog opens a binlog dump at the source's current GTID position and reads its first
// event, proving the account may stream the binary log. It does not wait for new events.
func (d *Dialer) ProbeBinlog(ctx context.Context, flavor, gtid string, logger *slog.Logger) error {
	gs, err := ParseGTIDSet(flavor, gtid)
	if err != nil {
		return err
	}
	cfg := d.SyncerConfig(ProbeServerID(d.cfg.ServerID), flavor, logger)
	cfg.DumpCommandFlag = replication.BINLOG_DUMP_NON_BLOCK
	syncer := replication.NewBinlogSyncer(cfg)
	defer syncer.Close()
	st, err := syncer.StartSyncGTID(gs)
	if err != nil {
		return classifyBinlogErr(err)
	}
	// The first event comes only after the server found the current position, at the end
	// of its last binlog file: the seek's time.
	pctx, cancel := context.WithTimeout(ctx, d.seekTimeout())
	defer cancel()
	if _, err := st.GetEvent(pctx); err != nil {
		return classifyBinlogErr(err)
	}
	return nil
}

func classifyBinlogErr(err error) error {
	var me *mysql.MyError
	if errors.As(err, &me) && (me.Code == mysql.ER_SPECIFIC_ACCESS_DENIED_ERROR || me.Code == mysql.ER_ACCESS_DENIED_ERROR) {
		return fmt.Errorf("%w: %s", ErrNoReplicationPrivilege, me.Message)
	}
	// go-mysql flattens some server errors of the dump's set-up into its own text
	// (errors.Errorf("...: %v")); the privilege's name is all there is to match then.
	if me == nil && strings.Contains(err.Error(), "REPLICATION SLAVE") {
		return fmt.Errorf("%w: %w", ErrNoReplicationPrivilege, err)
	}
	return err
}

// TransactionsBehind counts the transactions in the GTID set to that from does not hold:
// per MariaDB domain the difference of sequence numbers, for MySQL the GTIDs of to missing
// from from.
func TransactionsBehind(flavor, from, to string) (int64, error) {
	if flavor == MariaDB {
		seqs := func(s string) (map[uint32]uint64, error) {
			g, err := mysql.ParseMariadbGTIDSet(s)
			if err != nil {
				return nil, err
			}
			out := map[uint32]uint64{}
			for dom, byServer := range g.(*mysql.MariadbGTIDSet).Sets {
				for _, gt := range byServer {
					out[dom] = max(out[dom], gt.SequenceNumber)
				}
			}
			return out, nil
		}
		a, err := seqs(from)
		if err != nil {
			return 0, err
		}
		b, err := seqs(to)
		if err != nil {
			return 0, err
		}
		var n int64
		for dom, seq := range b {
			if seq > a[dom] {
				n += int64(seq - a[dom])
			}
		}
		return n, nil
	}
	// The GTIDs of to that from lacks, not the difference of the two sizes: after a
	// failover the sets can each hold GTIDs the other lacks (a tail of the old primary that
	// never reached the promoted one), and the sizes would hide the promoted server's.
	a, err := mysql.ParseMysqlGTIDSet(from)
	if err != nil {
		return 0, err
	}
	b, err := mysql.ParseMysqlGTIDSet(to)
	if err != nil {
		return 0, err
	}
	missing := b.(*mysql.MysqlGTIDSet)
	if err := missing.Minus(*a.(*mysql.MysqlGTIDSet)); err != nil {
		return 0, err
	}
	var n int64
	for _, us := range missing.Sets {
		for _, iv := range us.Intervals {
			n += iv.Stop - iv.Start
		}
	}
	return n, nil
}

// Covers reports whether the GTID set have includes every transaction of want. MariaDB
// positions are compared domain by domain by sequence number (a failover changes the
// server id of a domain, not its history); MySQL sets by containment.
func Covers(flavor, have, want string) (bool, error) {
	if strings.TrimSpace(want) == "" {
		return true, nil
	}
	if flavor == MariaDB {
		n, err := TransactionsBehind(flavor, have, want)
		return err == nil && n == 0, err
	}
	a, err := ParseGTIDSet(flavor, have)
	if err != nil {
		return false, err
	}
	b, err := ParseGTIDSet(flavor, want)
	if err != nil {
		return false, err
	}
	return a.Contain(b), nil
}
