package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/replicator/replicator/applier/postgres/pgvalue"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/transform"
)

// errChunkAborted ends the COPY of a chunk the snapshot gave up (Abort): COPY fails with
// it, so nothing of the chunk is kept.
var errChunkAborted = errors.New("chunk aborted")

// chunkWriter copies one chunk with one COPY in text format, in the chunk's own
// transaction, which commits with the chunk's done mark. pgconn's COPY reads its rows
// from an io.Reader until EOF, so it runs on a goroutine the writer starts and always
// waits for (Commit or Abort); Write hands it the encoded rows through a pipe, and the
// 256 KiB buffer in front of the pipe is all the memory a chunk holds.
type chunkWriter struct {
	p    *plan.Table
	c    plan.Chunk
	id   pgx.Identifier
	s    *State
	conn *pgxpool.Conn // nil once the writer is done
	tx   pgx.Tx
	enc  *pgvalue.Encoder
	// view makes the target row of each row read; nil when the rule transforms nothing.
	view *transform.View
	line []byte
	rows int64

	pw       *io.PipeWriter
	bw       *bufio.Writer
	copyDone chan error // the COPY goroutine's outcome; nil once received
	copyErr  error
}

// OpenChunk implements snapshot.Target: the chunk's transaction begins and its COPY
// starts, under ctx until the writer's Commit or Abort.
func (t *Target) OpenChunk(ctx context.Context, p *plan.Table, c plan.Chunk) (plan.ChunkWriter, error) {
	id, err := t.tableIdent(p.Table)
	if err != nil {
		return nil, err
	}
	conn, err := t.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("target connection: %w", err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("begin: %w", err)
	}
	cols, view, err := t.targetColumns(p)
	if err != nil {
		conn.Release()
		return nil, err
	}
	copySQL := "COPY " + id.Sanitize() + " (" + pgvalue.ColumnList(cols, func(s string) string { return pgx.Identifier{s}.Sanitize() }) + ") FROM STDIN"
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := conn.Conn().PgConn().CopyFrom(ctx, pr, copySQL)
		pr.CloseWithError(err) // unblocks Write if COPY failed early
		done <- err
	}()
	return &chunkWriter{p: p, c: c, id: id, s: t.state, conn: conn, tx: tx, enc: pgvalue.NewEncoder(t.pol, p.Name(), cols),
		view: view, pw: pw, bw: bufio.NewWriterSize(pw, 256<<10), copyDone: done}, nil
}

// Write implements plan.ChunkWriter.
func (w *chunkWriter) Write(r change.Row) error {
	if w.view != nil {
		r = w.view.Selected(r, change.Origin{GTID: w.p.ReadAt})
	}
	var err error
	if w.line, err = w.enc.AppendRow(w.line[:0], r); err != nil {
		return fmt.Errorf("row %d of %s: %w", w.rows+1, w.p.Name(), err)
	}
	w.rows++
	if _, err := w.bw.Write(w.line); err != nil {
		return w.copyFailed(err)
	}
	return nil
}

// Commit implements plan.ChunkWriter: the COPY ends, the chunk is marked done and both
// commit together.
func (w *chunkWriter) Commit(ctx context.Context) (int64, error) {
	if err := w.bw.Flush(); err != nil {
		return 0, w.copyFailed(err)
	}
	if err := w.stopCopy(nil); err != nil {
		return 0, fmt.Errorf("COPY into %s: %w", w.id.Sanitize(), snapshotFault(err))
	}
	s := w.s
	if _, err := w.tx.Exec(ctx, `UPDATE `+s.ident("snapshot_chunks")+` SET done = true, rows = $4 WHERE name = $1 AND source_table = $2 AND chunk = $3`,
		s.name, w.p.Name(), w.c.ID, w.rows); err != nil {
		return 0, fmt.Errorf("mark chunk done: %w", err)
	}
	if err := w.tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit chunk %d of %s: %w", w.c.ID, w.p.Name(), err)
	}
	w.conn.Release()
	w.conn = nil
	return w.rows, nil
}

// Abort implements plan.ChunkWriter: the COPY fails, the transaction rolls back.
func (w *chunkWriter) Abort() {
	if w.conn == nil {
		return
	}
	_ = w.stopCopy(errChunkAborted)
	// The snapshot's context may be what ended the chunk: the rollback needs its own.
	_ = w.tx.Rollback(context.Background())
	w.conn.Release()
	w.conn = nil
}

// copyFailed is the error of a write into the pipe, which fails only once COPY stopped
// reading: COPY's own error says why.
func (w *chunkWriter) copyFailed(writeErr error) error {
	if err := w.stopCopy(writeErr); err != nil {
		return fmt.Errorf("COPY into %s: %w", w.id.Sanitize(), snapshotFault(err))
	}
	return writeErr
}

// stopCopy ends the COPY's input (with cause as its failure when not nil, so COPY
// aborts) and waits for the COPY goroutine; it returns COPY's outcome, the first one on
// later calls.
func (w *chunkWriter) stopCopy(cause error) error {
	if w.copyDone == nil {
		return w.copyErr
	}
	if cause != nil {
		w.pw.CloseWithError(cause)
	} else {
		w.pw.Close()
	}
	w.copyErr = <-w.copyDone
	w.copyDone = nil
	return w.copyErr
}
