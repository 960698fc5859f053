package source

import (
	"context"
	"fmt"
	"strings"

	"github.com/replicator/replicator/schema"
)

// loadForeignKeys reads a table's foreign keys whose actions change rows without row events
// (CASCADE, SET NULL, SET DEFAULT). They come from SHOW CREATE TABLE, not from
// information_schema.REFERENTIAL_CONSTRAINTS: MariaDB shows a constraint there only to an
// account with a privilege other than SELECT on the table, which the replicator's account
// (SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT) does not have, so the view is
// empty for it. SHOW CREATE TABLE needs only SELECT.
func (c *Conn) loadForeignKeys(ctx context.Context, db, name string) ([]schema.ForeignKey, error) {
	rows, err := c.QueryStrings(ctx, "SHOW CREATE TABLE "+QuoteTable(db, name))
	if err != nil {
		return nil, fmt.Errorf("load foreign keys of %s.%s (SHOW CREATE TABLE): %w", db, name, err)
	}
	if len(rows) == 0 || len(rows[0]) < 2 {
		return nil, nil
	}
	var out []schema.ForeignKey
	for _, fk := range parseForeignKeys(str(rows[0][1])) {
		if unlogged(fk.OnDelete) || unlogged(fk.OnUpdate) {
			out = append(out, fk)
		}
	}
	return out, nil
}

// parseForeignKeys extracts the FOREIGN KEY constraints of a SHOW CREATE TABLE text, which
// the server writes one per line as
//
//	CONSTRAINT `name` FOREIGN KEY (`col`, ...) REFERENCES [`db`.]`table` (`col`, ...) [ON DELETE action] [ON UPDATE action]
//
// Identifiers are quoted with backticks (double quotes under ANSI_QUOTES, none with
// sql_quote_show_create = 0). An action that is not written is RESTRICT.
func parseForeignKeys(create string) []schema.ForeignKey {
	var out []schema.ForeignKey
	for _, line := range strings.Split(create, "\n") {
		toks := fkTokens(strings.TrimSpace(line))
		if len(toks) < 4 || !strings.EqualFold(toks[0], "CONSTRAINT") {
			continue
		}
		fk := schema.ForeignKey{Name: unquoteIdent(toks[1]), OnDelete: "RESTRICT", OnUpdate: "RESTRICT"}
		if !strings.EqualFold(toks[2], "FOREIGN") {
			continue // a CHECK constraint
		}
		i := 3
		if strings.EqualFold(toks[i], "KEY") {
			i++
		}
		fk.Columns, i = fkColumns(toks, i)
		for i < len(toks) && !strings.EqualFold(toks[i], "REFERENCES") {
			i++
		}
		if i+1 >= len(toks) {
			continue
		}
		i++
		fk.RefTable = unquoteIdent(toks[i])
		if i+2 < len(toks) && toks[i+1] == "." {
			fk.RefSchema, fk.RefTable = fk.RefTable, unquoteIdent(toks[i+2])
			i += 2
		}
		fk.RefColumns, i = fkColumns(toks, i+1)
		for ; i < len(toks); i++ {
			if !strings.EqualFold(toks[i], "ON") || i+2 >= len(toks) {
				continue
			}
			action := strings.ToUpper(toks[i+2])
			if (action == "SET" || action == "NO") && i+3 < len(toks) {
				action += " " + strings.ToUpper(toks[i+3])
			}
			switch strings.ToUpper(toks[i+1]) {
			case "DELETE":
				fk.OnDelete = action
			case "UPDATE":
				fk.OnUpdate = action
			}
		}
		out = append(out, fk)
	}
	return out
}

// fkColumns reads a parenthesised column list starting at toks[i] ("(", names, ")") and
// returns the names and the index after the list; no list gives nil and i.
func fkColumns(toks []string, i int) ([]string, int) {
	if i >= len(toks) || toks[i] != "(" {
		return nil, i
	}
	var cols []string
	for i++; i < len(toks) && toks[i] != ")"; i++ {
		cols = append(cols, unquoteIdent(toks[i]))
	}
	return cols, i + 1
}

// fkTokens splits a line into quoted identifiers (kept with their quotes), single
// punctuation characters and words; a quoted identifier never splits, whatever it holds.
func fkTokens(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		switch ch := s[i]; {
		case ch == ' ' || ch == '\t' || ch == ',':
			i++
		case ch == '`' || ch == '"':
			j := i + 1
			for j < len(s) {
				if s[j] == ch {
					if j+1 < len(s) && s[j+1] == ch { // doubled quote inside the name
						j += 2
						continue
					}
					break
				}
				j++
			}
			toks = append(toks, s[i:min(j+1, len(s))])
			i = j + 1
		case ch == '(' || ch == ')' || ch == '.':
			toks = append(toks, s[i:i+1])
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t,()`\".", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

// unquoteIdent removes the quotes of a quoted identifier and undoubles the quotes inside.
func unquoteIdent(tok string) string {
	if len(tok) >= 2 && (tok[0] == '`' || tok[0] == '"') && tok[len(tok)-1] == tok[0] {
		q := tok[:1]
		return strings.ReplaceAll(tok[1:len(tok)-1], q+q, q)
	}
	return tok
}
