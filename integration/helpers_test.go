//go:build integration

// Package integration holds the tests that run against real MariaDB, PostgreSQL and
// Elasticsearch servers started by integration/env/up.sh.
package integration

import (
	"os"
	"testing"
)

// envOr returns the environment variable k, or def when it is unset or empty.
func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// unavailable reports a server the test cannot reach. Under CI=true a missing server is a
// failure, never a skip: CI must prove the integration suite really ran.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s unreachable (CI=true, so this fails): %v; start it with integration/env/up.sh", what, err)
	}
	t.Skipf("%s unreachable: %v; start it with integration/env/up.sh", what, err)
}
