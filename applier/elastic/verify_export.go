package elastic

import "github.com/replicator/replicator/applier/elastic/esdoc"

// FieldOptions returns the cluster capabilities the target encodes documents with, so a
// reader (the verify command) can encode source rows exactly as this target writes them.
func (t *Target) FieldOptions() esdoc.Options { return t.opts }
