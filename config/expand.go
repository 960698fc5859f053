package config

import (
	"fmt"
	"reflect"
	"strings"
)

// expandAll replaces ${VAR} in every string value of c (including string slices) with the
// environment value, naming the key when a variable is unset. "$${" stands for a literal
// "${", so a password containing that sequence can still be written.
func expandAll(c *Config, lookup func(string) (string, bool)) error {
	return expandValue(reflect.ValueOf(c).Elem(), "", lookup)
}

func expandValue(v reflect.Value, key string, lookup func(string) (string, bool)) error {
	switch v.Kind() {
	case reflect.String:
		s, err := expandString(v.String(), lookup, secretKey(key))
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		v.SetString(s)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Tag.Get("toml")
			if name == "" {
				continue
			}
			k := name
			if key != "" {
				k = key + "." + name
			}
			if err := expandValue(v.Field(i), k, lookup); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if err := expandValue(v.Index(i), fmt.Sprintf("%s[%d]", key, i), lookup); err != nil {
				return err
			}
		}
	}
	return nil
}

// secretKey reports whether the value of key may hold a secret: its errors then never
// quote a part of the value (the text between "${" and "}" of a password that contains
// "${" is not a variable name but a piece of the password).
func secretKey(key string) bool {
	for _, s := range []string{"password", "api_key", "url", "addresses"} {
		if key == s || strings.HasSuffix(key, "."+s) || strings.Contains(key, "."+s+"[") {
			return true
		}
	}
	return false
}

func expandString(s string, lookup func(string) (string, bool), secret bool) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in value")
		}
		name := s[i+2 : i+end]
		if !validEnvName(name) {
			if secret {
				return "", fmt.Errorf("invalid environment variable name in ${...} (the value is not shown: it may hold a secret; write a literal ${ as $${)")
			}
			return "", fmt.Errorf("invalid environment variable name %q in ${...}", name)
		}
		val, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		b.WriteString(val)
		i += end + 1
	}
	return b.String(), nil
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
