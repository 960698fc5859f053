// Package logging sets up the one slog stream of the process.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// New returns a logger writing to w. format is "text", "json" or "auto" (text when w is a
// terminal, JSON otherwise); level is debug, info, warn or error.
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: must be debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "auto" {
		format = "json"
		if IsTerminal(w) {
			format = "text"
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: must be auto, text or json", format)
}

// IsTerminal reports whether w is a character device such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// SwitchWriter forwards to a writer that can be replaced while the logger runs, so a
// progress display can print log lines above its bars.
type SwitchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSwitchWriter returns a SwitchWriter writing to w.
func NewSwitchWriter(w io.Writer) *SwitchWriter { return &SwitchWriter{w: w} }

// Write implements io.Writer.
func (s *SwitchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Swap sets the destination and returns the previous one.
func (s *SwitchWriter) Swap(w io.Writer) io.Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.w
	s.w = w
	return old
}
