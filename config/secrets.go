package config

import (
	"encoding/base64"
	"net/url"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Secrets lists the secret values of the configuration: the source password, the
// PostgreSQL password (of a URL or a keyword/value string), the Elasticsearch password and
// API key and any password written into an Elasticsearch address, with the base64 forms an
// Authorization header carries, and the hash keys of [[tables]] rules (hash). The command
// wraps its log and output in a redactor for them (logging.NewRedactor), so no message can
// print one.
//
// A secret that is part of a value the output shows anyway (the user name, a host, a
// table pattern, a path; or the program's name) is left out: redacting it would blank that
// text everywhere ("replicator run: ..." with the password "replicator"), and such a
// password is no secret from anyone who reads the configuration's other keys.
func (c *Config) Secrets() []string {
	plain := c.plainValues()
	var out []string
	add := func(s ...string) {
	next:
		for _, v := range s {
			if v == "" {
				continue
			}
			for _, p := range plain {
				if strings.Contains(p, v) {
					continue next
				}
			}
			out = append(out, v)
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
	for i := range c.Tables {
		// A hash key is never shown, even when it equals a plain value.
		if k := c.Tables[i].transforms.Secret(); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// plainValues lists the configuration's values that are not secret, with the user, host
// and database of the PostgreSQL URL and of the Elasticsearch addresses, and the program's
// name.
func (c *Config) plainValues() []string {
	out := []string{"replicator"}
	var walk func(v reflect.Value, key string)
	walk = func(v reflect.Value, key string) {
		switch v.Kind() {
		case reflect.String:
			if !secretKey(key) && v.String() != "" {
				out = append(out, v.String())
			}
		case reflect.Struct:
			t := v.Type()
			for i := 0; i < t.NumField(); i++ {
				if f := t.Field(i); f.IsExported() && f.Tag.Get("toml") != "" {
					walk(v.Field(i), key+"."+f.Tag.Get("toml"))
				}
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), key)
			}
		}
	}
	walk(reflect.ValueOf(c).Elem(), "")
	if pc, err := pgx.ParseConfig(c.Target.Postgres.URL); err == nil {
		out = append(out, pc.User, pc.Host, pc.Database)
	}
	for _, a := range c.Target.Elasticsearch.Addresses {
		if u, err := url.Parse(a); err == nil {
			out = append(out, u.Hostname())
			if u.User != nil {
				out = append(out, u.User.Username())
			}
		}
	}
	return out
}
