package elastic

import (
	"testing"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// TestAddedDefaults: only constant defaults of replicated columns are filled, and not for a
// table a later statement of the batch drops or renames.
func TestAddedDefaults(t *testing.T) {
	t.Parallel()
	routes, err := route.Compile(&config.Config{Target: config.Target{Type: config.TargetElasticsearch},
		Tables: []config.TableRule{{Source: "d.*", ExcludeColumns: []string{"secret"}}}})
	if err != nil {
		t.Fatal(err)
	}
	tg := &Target{routes: routes}
	def := func(name string) *schema.Table {
		return &schema.Table{Schema: "d", Name: name, Columns: []schema.Column{{Name: "id"}, {Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "secret"}}}
	}
	alter := func(name string) *ddl.SchemaChange {
		return &ddl.SchemaChange{GTID: "0-1-" + name, Tables: []*schema.Table{def(name)}, Steps: []ddl.Step{{Change: &ddl.AlterTable{Name: ddl.TableName{Schema: "d", Name: name}, Specs: []ddl.AlterChange{
			&ddl.AddColumn{Column: schema.Column{Name: "a"}, Default: ddl.Default{Kind: ddl.DefaultLiteral, Value: "x"}},
			&ddl.AddColumn{Column: schema.Column{Name: "b"}, Default: ddl.Default{Kind: ddl.DefaultNull}},
			&ddl.AddColumn{Column: schema.Column{Name: "c"}, Default: ddl.Default{Kind: ddl.DefaultCurrentTimestamp}},
			&ddl.AddColumn{Column: schema.Column{Name: "secret"}, Default: ddl.Default{Kind: ddl.DefaultLiteral, Value: "s"}},
		}}}}}
	}
	got := tg.addedDefaults([]*ddl.SchemaChange{alter("t"), alter("u"), {Dropped: []string{"d.u"}}})
	if len(got) != 1 || got[0].def.Name != "t" || got[0].column != "a" || got[0].value != "x" || got[0].gtid != "0-1-t" {
		t.Errorf("addedDefaults: %+v", got)
	}
}
