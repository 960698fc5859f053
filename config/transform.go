package config

import (
	"fmt"

	"github.com/replicator/replicator/transform"
)

// compileTransforms compiles each rule's column transforms (rename, hash, hash_key_env,
// metadata) with package transform, reading the hash keys through lookup. Errors name
// the key (tables[2].rename: ...) and never show a hash key.
func (c *Config) compileTransforms(lookup func(string) (string, bool)) error {
	for i := range c.Tables {
		r := &c.Tables[i]
		if r.HashKeyEnv != "" && !validEnvName(r.HashKeyEnv) {
			return fmt.Errorf("tables[%d].hash_key_env = %q: not an environment variable name (letters, digits and _, not starting with a digit)", i, r.HashKeyEnv)
		}
		rules, err := transform.Compile(r.TransformSpec(i, c.Target.Type), lookup)
		if err != nil {
			return err
		}
		r.transforms = rules
	}
	return nil
}

// TransformSpec is the rule's column transforms as package transform compiles them; i is
// the rule's position in [[tables]] and targetType the configured target type.
func (r *TableRule) TransformSpec(i int, targetType string) transform.Spec {
	return transform.Spec{
		Rule: i, Rename: r.Rename, Hash: r.Hash, HashKeyEnv: r.HashKeyEnv, Metadata: r.Metadata,
		Columns: r.Columns, Exclude: r.ExcludeColumns, Elasticsearch: targetType == TargetElasticsearch,
		FanIn: r.SourceColumnName(),
	}
}

// Transforms returns the compiled column transforms of a loaded rule, nil when it has
// none.
func (r *TableRule) Transforms() *transform.Rules { return r.transforms }
