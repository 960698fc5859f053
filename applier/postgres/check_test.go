package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/finding"
)

func TestTLSCheck(t *testing.T) {
	cases := []struct {
		url  string
		want finding.Status
	}{
		{"postgres://u@127.0.0.1/db?sslmode=disable", finding.Pass},
		{"postgres://u@db.example.internal/db?sslmode=disable", finding.Warn},
		{"postgres://u@db.example.internal/db?sslmode=require", finding.Warn},
		{"postgres://u@db.example.internal/db?sslmode=verify-full", finding.Pass},
	}
	for _, tc := range cases {
		cfg, err := pgx.ParseConfig(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		var r finding.Report
		tlsCheck(&r, cfg)
		if len(r.Results) != 1 || r.Results[0].Status != tc.want {
			t.Errorf("%s: %+v, want %s", tc.url, r.Results, tc.want)
		}
	}
}
