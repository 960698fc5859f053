package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPanicGoesThroughRedactor: a command that panics with a secret in the panic value
// exits 2 and prints the panic and stack through the redacted stderr.
func TestPanicGoesThroughRedactor(t *testing.T) {
	const pw = "Panic-Secret-31"
	p := filepath.Join(t.TempDir(), "c.toml")
	text := "[source]\nhost = \"127.0.0.1\"\nport = 1\nuser = \"u\"\npassword = \"" + pw + "\"\nserver_id = 1\n[target]\ntype = \"postgres\"\n[target.postgres]\nurl = \"postgres://x@127.0.0.1:1/db\"\n[[tables]]\nsource = \"db.*\"\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	register(&command{name: "panic-test", summary: "test", usage: "panic-test", needsConfig: true,
		run: func(ctx context.Context, env *runEnv) error { panic("dial with password " + env.cfg.Source.Password) }})
	defer delete(commands, "panic-test")
	var stdout, stderr bytes.Buffer
	code := run([]string{"panic-test", "-c", p}, &stdout, &stderr)
	out := stderr.String()
	if code != 2 || !strings.Contains(out, "panic: dial with password [redacted]") || !strings.Contains(out, "runGuarded") {
		t.Errorf("exit %d, stderr:\n%s", code, out)
	}
	if strings.Contains(out, pw) {
		t.Errorf("the panic printed the password")
	}
}
