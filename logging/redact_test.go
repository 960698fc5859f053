package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestRedactorBlanksSecretsInJSONAndText(t *testing.T) {
	const pw = `pa"ss\word-123`
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		lg, err := New(NewRedactor(&buf, pw, "short"), "debug", format)
		if err != nil {
			t.Fatal(err)
		}
		lg.Debug("connect", "dsn", "mysql://u:"+pw+"@h/", "err", "bad password "+pw)
		Foreign(lg, "lib").Info("create syncer", slog.Any("config", struct{ Password string }{pw}))
		out := buf.String()
		if strings.Contains(out, "word-123") {
			t.Errorf("%s: secret printed:\n%s", format, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s: nothing redacted:\n%s", format, out)
		}
	}
	// Secrets shorter than minSecret are not replaced: "short" stays readable.
	var buf bytes.Buffer
	w := NewRedactor(&buf, "short")
	if _, ok := w.(*Redactor); ok {
		t.Errorf("a redactor for a secret shorter than %d bytes", minSecret)
	}
}
