package elastic

import "github.com/replicator/replicator/mapping"

// FieldOptions returns the cluster capabilities the target encodes documents with, so a
// reader (the verify command) can encode source rows exactly as this target writes them.
func (t *Target) FieldOptions() mapping.ESOptions { return t.opts }
