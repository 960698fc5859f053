package org.elasticsearch.plugins;

import org.elasticsearch.Build;
import org.elasticsearch.rest.RestHandler;

import java.util.Collection;
import java.util.List;

/**
 * What the launcher does differently on Elasticsearch 8 (built with the es8 profile, the
 * default); src/es9 holds the same class for 9.
 */
public final class Compat {
    private Compat() {}

    /** The descriptor of a plugin loaded from the class path. */
    static PluginDescriptor descriptor(Class<? extends Plugin> c) {
        return new PluginDescriptor(c.getName(), "classpath plugin", "NA", Build.current().version(),
            Integer.toString(Runtime.version().feature()), c.getName(), null, List.of(), false, false, false, false);
    }

    /** A plugin serving the REST handlers of handlers(), under 8's getRestHandlers signature. */
    public abstract static class RestPlugin extends Plugin implements ActionPlugin {
        protected abstract List<RestHandler> handlers();

        @Override
        public Collection<RestHandler> getRestHandlers(
            org.elasticsearch.common.settings.Settings settings,
            org.elasticsearch.common.io.stream.NamedWriteableRegistry registry,
            org.elasticsearch.rest.RestController restController,
            org.elasticsearch.common.settings.ClusterSettings clusterSettings,
            org.elasticsearch.common.settings.IndexScopedSettings indexScopedSettings,
            org.elasticsearch.common.settings.SettingsFilter settingsFilter,
            org.elasticsearch.cluster.metadata.IndexNameExpressionResolver resolver,
            java.util.function.Supplier<org.elasticsearch.cluster.node.DiscoveryNodes> nodesInCluster,
            java.util.function.Predicate<org.elasticsearch.features.NodeFeature> clusterSupportsFeature
        ) {
            return handlers();
        }
    }
}
