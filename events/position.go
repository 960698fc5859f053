package events

import (
	"github.com/replicator/replicator/source"
)

// Covers returns a test of whether a position (a GTID set in flavor's syntax) includes
// every transaction of want: the stop condition of a run without --follow (source.Covers).
func Covers(flavor, want string) (func(pos string) (bool, error), error) {
	if _, err := source.ParseGTIDSet(flavor, want); err != nil {
		return nil, err
	}
	return func(pos string) (bool, error) { return source.Covers(flavor, pos, want) }, nil
}
