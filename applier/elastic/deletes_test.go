package elastic

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAppendMarkers(t *testing.T) {
	at := time.Date(2023, 11, 14, 22, 14, 59, 0, time.FixedZone("x", 3600))
	zero := time.Time{}
	cases := []struct {
		doc  string
		at   *time.Time
		want string
	}{
		{`{"id":1,"v":"a"}`, nil, `{"id":1,"v":"a","_deleted":false,"_deleted_at":null}`},
		{`{"id":1}`, &at, `{"id":1,"_deleted":true,"_deleted_at":"2023-11-14T21:14:59Z"}`},
		{`{}`, &at, `{"_deleted":true,"_deleted_at":"2023-11-14T21:14:59Z"}`},
		{`{"id":2}`, &zero, `{"id":2,"_deleted":true,"_deleted_at":null}`},
	}
	for _, c := range cases {
		got := string(appendMarkers([]byte(c.doc), c.at))
		if got != c.want {
			t.Errorf("appendMarkers(%s) = %s, want %s", c.doc, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("not JSON: %s", got)
		}
	}
}
