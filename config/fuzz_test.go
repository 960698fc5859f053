package config

import (
	"os"
	"strings"
	"testing"
)

// fuzzLookup is the environment the fuzzer's configurations expand against.
func fuzzLookup(name string) (string, bool) {
	if name == "SET_VAR" {
		return "value", true
	}
	return "", false
}

// FuzzParse: no text makes Parse panic, and a configuration it accepts is complete (the
// defaults applied) and accepted again when validated a second time.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../config.example.toml"); err == nil {
		f.Add(string(b))
	}
	for _, s := range []string{
		"[source]\nhost = \"h\"\nuser = \"u\"\nserver_id = 1\n[target]\ntype = \"postgres\"\n[target.postgres]\nurl = \"postgres://u@h/d\"\n[[tables]]\nsource = \"a.*\"\n",
		"[source]\nhost = \"${SET_VAR}\"\nuser = \"u\"\npassword = \"$${x}\"\nserver_id = 1\n[target]\ntype = \"elasticsearch\"\n[target.elasticsearch]\naddresses = [\"https://e:9200\"]\n[[tables]]\nsource = \"*\"\ntarget = \"{db}.{table}\"\n",
		"[source]\nport = 99999\n", "[[tables]]\nsource = \"a.b\"\nkey = [\"x\"]\ncolumns = [\"y\"]\n", "[snapshot]\nparallelism = -1\n",
		"[apply]\naccess_denied_retry = \"-5m\"\n", "[source.tls]\nmode = \"required\"\ncert_file = \"x\"\n", "a = 1\n[a]\n", "[mapping]\nzero_dates = \"nope\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(text, fuzzLookup)
		if err != nil {
			return
		}
		if c.Source.Port == 0 || c.Snapshot.Parallelism <= 0 || c.Apply.BatchRows <= 0 || c.State.Name == "" || c.Apply.AccessDeniedRetry.Duration <= 0 {
			t.Fatalf("accepted without defaults: %+v", c)
		}
		if err := c.validate(); err != nil {
			t.Fatalf("accepted, then rejected on a second validation: %v", err)
		}
		_ = c.Secrets()
	})
}

// FuzzSecretNotInError: whatever the password (and whatever else is wrong), a refused
// configuration's error never shows the source password or the password of the target
// URL.
func FuzzSecretNotInError(f *testing.F) {
	f.Add("s3cret-pass", "postgres://u:%s@h/d", "")
	f.Add("s3cret-pass", "postgres://u:%s@h:notaport/d", "")
	f.Add("s3cret-pass", "host=h password=%s port=x", "")
	f.Add("pa${ss}word", "postgres://u:%s@h/d?sslmode=bogus", "[snapshot]\nparalelism = 1\n")
	f.Add("pa'ss word", "host=h user=u password='%s' sslmode=bogus", "")
	f.Add("xx@yy:zz//", "postgres://u:%s@[::1/d", "[apply]\nbatch_rows = -1\n")
	f.Add("s3cret-pass", "postgres//u:%s@h/d", "") // not recognised as a URL: pgconn quotes all of it
	f.Fuzz(func(t *testing.T, pw, url, extra string) {
		if len(pw) < 6 || strings.ContainsAny(pw, "'\n\r") || strings.Contains(url, "'") || strings.ContainsAny(url, "\n\r") {
			return // a TOML literal string cannot hold these
		}
		url = strings.Replace(url, "%s", pw, 1)
		text := "[source]\nhost = \"h\"\nuser = \"u\"\npassword = '" + pw + "'\nserver_id = 1\n[target]\ntype = \"postgres\"\n[target.postgres]\nurl = '" + url + "'\n" + extra + "\n[[tables]]\nsource = \"a.*\"\n"
		_, err := Parse(text, fuzzLookup)
		if err == nil {
			return
		}
		// The password may legitimately appear where the text around it is quoted for a
		// reason of its own (an unknown key named like it, a bad value elsewhere): only
		// messages about the two secret keys are held to it.
		msg := err.Error()
		// The text around a quoted key can complete it: a key "00000" from extra, shown as
		// "...00000 (see ...", holds the password "00000 ". So the password's core (without
		// the spaces around it) counts as in extra too.
		core := strings.TrimSpace(pw)
		if strings.Contains(extra, pw) || (core != "" && strings.Contains(extra, core)) || strings.Contains(strings.ReplaceAll(url, pw, ""), pw[:len(pw)/2]) {
			return
		}
		if strings.Contains(msg, pw) {
			t.Fatalf("error shows the password %q: %v", pw, msg)
		}
	})
}
