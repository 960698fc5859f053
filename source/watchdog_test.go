package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

func TestWatchdog(t *testing.T) {
	const limit = 50 * time.Millisecond
	ev := &replication.BinlogEvent{Header: &replication.EventHeader{EventType: replication.HEARTBEAT_EVENT}}
	cases := []struct {
		name  string
		armed bool
		// feed runs beside the wait and puts events into the stream
		feed    func(st *replication.BinlogStreamer)
		wantErr error // nil: the event arrives
	}{
		{"unarmed waits past the limit", false, func(st *replication.BinlogStreamer) {
			time.Sleep(4 * limit)
			_ = st.AddEventToStreamer(ev)
		}, nil},
		{"armed event within the limit", true, func(st *replication.BinlogStreamer) {
			time.Sleep(limit / 5)
			_ = st.AddEventToStreamer(ev)
		}, nil},
		{"armed silence ends the wait", true, func(*replication.BinlogStreamer) {}, errSilent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := replication.NewBinlogStreamer()
			w := newWatchdog(context.Background(), limit)
			defer w.stop()
			if tc.armed {
				w.arm()
			}
			go tc.feed(st)
			start := time.Now()
			got, err := w.next(st)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && got != ev {
				t.Fatalf("event = %v, want the one fed", got)
			}
			if tc.wantErr != nil && time.Since(start) < limit {
				t.Fatalf("gave up after %s, before the limit %s", time.Since(start), limit)
			}
		})
	}
}

// The time the consumer spends between events is not silence of the source.
func TestWatchdogIgnoresConsumerTime(t *testing.T) {
	const limit = 50 * time.Millisecond
	st := replication.NewBinlogStreamer()
	w := newWatchdog(context.Background(), limit)
	defer w.stop()
	w.arm()
	for i := range 3 {
		_ = st.AddEventToStreamer(&replication.BinlogEvent{Header: &replication.EventHeader{EventType: replication.XID_EVENT}})
		if _, err := w.next(st); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		time.Sleep(3 * limit) // a slow target
	}
}

func TestWatchdogParentCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := newWatchdog(ctx, time.Hour)
	defer w.stop()
	w.arm()
	cancel()
	if _, err := w.next(replication.NewBinlogStreamer()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestHeartbeatPeriod(t *testing.T) {
	for _, tc := range []struct{ read, want time.Duration }{
		{30 * time.Second, 5 * time.Second},
		{15 * time.Second, 5 * time.Second},
		{6 * time.Second, 2 * time.Second},
		{300 * time.Millisecond, 100 * time.Millisecond},
	} {
		if got := heartbeatPeriod(tc.read); got != tc.want {
			t.Errorf("heartbeatPeriod(%s) = %s, want %s", tc.read, got, tc.want)
		}
	}
}

func TestFileHeaderAndTimedOut(t *testing.T) {
	for _, tc := range []struct {
		typ  replication.EventType
		want bool
	}{
		{replication.ROTATE_EVENT, true},
		{replication.FORMAT_DESCRIPTION_EVENT, true},
		{replication.MARIADB_GTID_LIST_EVENT, true},
		{replication.MARIADB_BINLOG_CHECKPOINT_EVENT, true},
		{replication.PREVIOUS_GTIDS_EVENT, true},
		{replication.MARIADB_GTID_EVENT, false},
		{replication.HEARTBEAT_EVENT, false},
		{replication.QUERY_EVENT, false},
	} {
		if got := fileHeader(&replication.BinlogEvent{Header: &replication.EventHeader{EventType: tc.typ}}); got != tc.want {
			t.Errorf("fileHeader(%s) = %v, want %v", tc.typ, got, tc.want)
		}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{os.ErrDeadlineExceeded, true},
		{fmt.Errorf("%w: io.ReadFull(header) failed. err read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout", mysql.ErrBadConn), true},
		{fmt.Errorf("%w: io.ReadFull(header) failed. err EOF", mysql.ErrBadConn), false},
	} {
		if got := timedOut(tc.err); got != tc.want {
			t.Errorf("timedOut(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
