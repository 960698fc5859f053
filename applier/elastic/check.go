package elastic

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/replicator/replicator/check"
	"github.com/replicator/replicator/config"
)

// Check runs the target checks: reachable, a version the client supports, and allowed to
// create and delete an index (a probe index that is removed again).
func Check(ctx context.Context, r *check.Report, cfg config.Elasticsearch) {
	c, err := NewClient(cfg)
	if err != nil {
		r.Failf("target.connect", "fix the [target.elasticsearch] settings", "%v", err)
		return
	}
	info, err := Info(ctx, c)
	if err != nil {
		r.Failf("target.connect", "check target.elasticsearch.addresses, credentials and that the cluster runs", "%v", err)
		return
	}
	r.Passf("target.connect", "Elasticsearch %s, cluster %q at %s", info.Version.Number, info.ClusterName, strings.Join(cfg.Addresses, ", "))
	if !strings.HasPrefix(info.Version.Number, "8.") && !strings.HasPrefix(info.Version.Number, "7.17") && !strings.HasPrefix(info.Version.Number, "9.") {
		r.Warnf("target.version", "use Elasticsearch 7.17 or 8.x", "version %s is not tested", info.Version.Number)
	}
	probe := fmt.Sprintf("replicator-check-%d", os.Getpid())
	res, err := c.Indices.Create(probe, c.Indices.Create.WithContext(ctx))
	if err == nil {
		defer res.Body.Close()
		if res.IsError() {
			err = fmt.Errorf("%s", errorText(res.StatusCode, res.Body))
		}
	}
	if err != nil {
		r.Failf("target.writable", "give the account the create_index, write and delete_index privileges on the target indexes", "cannot create index %s: %v", probe, err)
		return
	}
	if res, err := c.Indices.Delete([]string{probe}, c.Indices.Delete.WithContext(ctx)); err == nil {
		res.Body.Close()
	}
	r.Passf("target.writable", "can create and delete indexes")
}
