package config

import (
	"encoding/base64"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// Secrets lists the secret values of the configuration: the source password, the
// PostgreSQL password (of a URL or a keyword/value string), the Elasticsearch password and
// API key and any password written into an Elasticsearch address, with the base64 forms an
// Authorization header carries. The command wraps its log and output in a redactor for
// them (logging.NewRedactor), so no message can print one.
func (c *Config) Secrets() []string {
	var out []string
	add := func(s ...string) {
		for _, v := range s {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	add(c.Source.Password)
	if u := c.Target.Postgres.URL; u != "" {
		if pc, err := pgx.ParseConfig(u); err == nil {
			add(pc.Password)
		}
		if pu, err := url.Parse(u); err == nil && pu.User != nil {
			p, _ := pu.User.Password()
			add(p)
		}
	}
	es := c.Target.Elasticsearch
	add(es.Password, es.APIKey)
	if es.Password != "" {
		add(base64.StdEncoding.EncodeToString([]byte(es.Username + ":" + es.Password)))
	}
	if es.APIKey != "" {
		add(base64.StdEncoding.EncodeToString([]byte(es.APIKey)))
	}
	for _, a := range es.Addresses {
		if u, err := url.Parse(a); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				add(p, base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+p)))
			}
		}
	}
	return out
}
