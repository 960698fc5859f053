package verify

import (
	"github.com/replicator/replicator/source"
)

// covers reports whether the GTID position have includes everything in want
// (source.Covers; an unparsable position does not).
func covers(flavor, have, want string) bool {
	ok, err := source.Covers(flavor, have, want)
	return err == nil && ok
}
