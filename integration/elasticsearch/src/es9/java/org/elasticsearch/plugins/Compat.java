package org.elasticsearch.plugins;

import org.elasticsearch.Build;
import org.elasticsearch.rest.RestHandler;

import java.util.Collection;
import java.util.List;

/**
 * What the launcher does differently on Elasticsearch 9 (built with the es9 profile):
 * plugin descriptors name a deployment target, and getRestHandlers takes its services as
 * one record.
 */
public final class Compat {
    private Compat() {}

    /** The descriptor of a plugin loaded from the class path. */
    static PluginDescriptor descriptor(Class<? extends Plugin> c) {
        return new PluginDescriptor(c.getName(), "classpath plugin", "NA", Build.current().version(),
            Integer.toString(Runtime.version().feature()), c.getName(), null, List.of(), false, false, false, false,
            PluginDescriptor.DeploymentTarget.ALL);
    }

    /** A plugin serving the REST handlers of handlers(), under 9's getRestHandlers signature. */
    public abstract static class RestPlugin extends Plugin implements ActionPlugin {
        protected abstract List<RestHandler> handlers();

        @Override
        public Collection<RestHandler> getRestHandlers(
            ActionPlugin.RestHandlersServices services,
            java.util.function.Supplier<org.elasticsearch.cluster.node.DiscoveryNodes> nodesInCluster,
            java.util.function.Predicate<org.elasticsearch.features.NodeFeature> clusterSupportsFeature
        ) {
            return handlers();
        }
    }
}
