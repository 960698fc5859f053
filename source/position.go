package source

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/google/uuid"
)

// position is the GTID position after the last complete event group read, in the form
// the source accepts back as a start position.
//
// MariaDB: the last GTID of each replication domain, as @@gtid_binlog_pos shows it. A
// failover to a promoted replica changes the server id within a domain, and the server
// refuses a start position with two GTIDs of one domain (ERROR 1943, duplicate domain
// id), so the position keeps one per domain: the last one read, which with
// gtid_strict_mode off is not always the one with the highest sequence number.
//
// MySQL: the set of every GTID read (uuid:intervals), to which each group adds its own.
type position struct {
	flavor  string
	domains map[uint32]mysql.MariadbGTID
	order   []uint32 // domains, ascending
	set     *mysql.MysqlGTIDSet
}

func newPosition(flavor, from string) (*position, error) {
	p := &position{flavor: flavor}
	if flavor == MariaDB {
		p.domains = map[uint32]mysql.MariadbGTID{}
		gs, err := parseMariaDBList(from)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			p.setDomain(g, true)
		}
		return p, nil
	}
	g, err := mysql.ParseMysqlGTIDSet(from)
	if err != nil {
		return nil, fmt.Errorf("parse MySQL GTID set %q: %w", from, err)
	}
	p.set = g.(*mysql.MysqlGTIDSet)
	return p, nil
}

// setDomain records g as its domain's position; with keepHighest (normalising a stored
// list that holds several GTIDs of one domain) the highest sequence number wins.
func (p *position) setDomain(g mysql.MariadbGTID, keepHighest bool) {
	old, ok := p.domains[g.DomainID]
	if !ok {
		p.order = append(p.order, g.DomainID)
		sort.Slice(p.order, func(i, j int) bool { return p.order[i] < p.order[j] })
	} else if keepHighest && old.SequenceNumber > g.SequenceNumber {
		return
	}
	p.domains[g.DomainID] = g
}

// addMariaDB moves the position past a MariaDB event group.
func (p *position) addMariaDB(g mysql.MariadbGTID) { p.setDomain(g, false) }

// addMySQL moves the position past a MySQL event group.
func (p *position) addMySQL(sid []byte, gno int64) error {
	u, err := uuid.FromBytes(sid)
	if err != nil {
		return fmt.Errorf("GTID event with a malformed server uuid: %w", err)
	}
	p.set.AddGTID(u, gno)
	return nil
}

func (p *position) String() string {
	if p.flavor != MariaDB {
		return p.set.String()
	}
	var b strings.Builder
	for i, d := range p.order {
		if i > 0 {
			b.WriteByte(',')
		}
		g := p.domains[d]
		b.WriteString(strconv.FormatUint(uint64(g.DomainID), 10))
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(uint64(g.ServerID), 10))
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(g.SequenceNumber, 10))
	}
	return b.String()
}

func parseMariaDBList(s string) ([]mysql.MariadbGTID, error) {
	var out []mysql.MariadbGTID
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Split(part, "-")
		if len(f) != 3 {
			return nil, fmt.Errorf("MariaDB GTID %q in %q: want domain-server-sequence", part, s)
		}
		d, err1 := strconv.ParseUint(f[0], 10, 32)
		sv, err2 := strconv.ParseUint(f[1], 10, 32)
		q, err3 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("MariaDB GTID %q in %q: want domain-server-sequence numbers", part, s)
		}
		out = append(out, mysql.MariadbGTID{DomainID: uint32(d), ServerID: uint32(sv), SequenceNumber: q})
	}
	return out, nil
}

// NormalizeGTID returns a position in the form the source accepts as a start position:
// for MariaDB one GTID per domain (the highest sequence number of each, in domain order),
// so a checkpoint stored by an older version as "0-1-33,0-2-34" after a failover becomes
// "0-2-34"; MySQL sets in go-mysql's canonical form.
func NormalizeGTID(flavor, s string) (string, error) {
	p, err := newPosition(flavor, s)
	if err != nil {
		return "", err
	}
	return p.String(), nil
}
