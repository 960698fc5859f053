package finding

import (
	"strings"
	"testing"
)

// TestReportGroupsFindings: findings of one kind across tables print as one line, a
// table's own passing line is counted, not printed, and the report ends with the counts.
func TestReportGroupsFindings(t *testing.T) {
	var r Report
	r.Passf("source.connect", "ok")
	for _, tn := range []string{"d.a", "d.b", "d.c"} {
		r.Add(Result{Name: "source.table." + tn, Table: tn, Status: Pass, Detail: "2 columns"})
		r.Finding(Warn, "mapping."+tn, "mapping.float", tn, tn+" (f)", "FLOAT columns arrive as shown", "use DOUBLE")
	}
	r.Add(Result{Name: "source.table.d.bad", Table: "d.bad", Status: Fail, Detail: "no primary key", Fix: "add one"})
	text := reportText(&r)
	want := "PASS  source.connect      ok\n" +
		"WARN  mapping.float       FLOAT columns arrive as shown: d.a (f); d.b (f); d.c (f)\n" +
		"                          fix: use DOUBLE\n" +
		"FAIL  source.table.d.bad  no primary key\n" +
		"                          fix: add one\n" +
		"3 tables ok, 1 warning, 1 failure\n"
	if text != want {
		t.Errorf("report:\n%s\nwant:\n%s", text, want)
	}
	if c := r.Summary(); c != (Counts{TablesOK: 3, Warnings: 1, Failures: 1}) {
		t.Errorf("summary %+v", c)
	}
}

func reportText(r *Report) string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}
