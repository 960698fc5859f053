package logging

import (
	"context"
	"fmt"
	"log/slog"
)

// Foreign wraps the logger handed to a third-party library (go-mysql) so its records join
// our stream in our format: its Info chatter becomes Debug, and values that the JSON
// handler cannot encode (structs holding funcs, GTID sets) become strings.
func Foreign(l *slog.Logger, component string) *slog.Logger {
	return slog.New(&foreignHandler{h: l.Handler()}).With("component", component)
}

type foreignHandler struct{ h slog.Handler }

func (f *foreignHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return f.h.Enabled(ctx, demote(lv))
}

func (f *foreignHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, demote(r.Level), r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(flatten(a))
		return true
	})
	return f.h.Handle(ctx, out)
}

func (f *foreignHandler) WithAttrs(as []slog.Attr) slog.Handler {
	flat := make([]slog.Attr, len(as))
	for i, a := range as {
		flat[i] = flatten(a)
	}
	return &foreignHandler{h: f.h.WithAttrs(flat)}
}

func (f *foreignHandler) WithGroup(name string) slog.Handler {
	return &foreignHandler{h: f.h.WithGroup(name)}
}

func demote(lv slog.Level) slog.Level {
	if lv == slog.LevelInfo {
		return slog.LevelDebug
	}
	return lv
}

func flatten(a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	switch v := a.Value.Any().(type) {
	case error:
		return slog.String(a.Key, v.Error())
	case fmt.Stringer:
		return slog.String(a.Key, v.String())
	default:
		s := fmt.Sprintf("%+v", v)
		if len(s) > 400 {
			s = s[:400] + "..."
		}
		return slog.String(a.Key, s)
	}
}
