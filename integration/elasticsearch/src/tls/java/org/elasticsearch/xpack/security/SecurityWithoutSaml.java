package org.elasticsearch.xpack.security;

import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;

import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * x-pack security without its SAML actions and REST handlers: their classes link against
 * OpenSAML, which is not on Maven Central, so the launcher leaves OpenSAML out and the node
 * must not load them (no SAML realm is configured; everything else of security is there).
 * It lives in this package because Elasticsearch lets only x-pack classes (by package
 * name) install the REST interceptor security authenticates requests with.
 */
public class SecurityWithoutSaml extends Security {
    public SecurityWithoutSaml(Settings settings) {
        super(settings);
    }

    private static boolean saml(Class<?> c) {
        return c.getName().contains(".saml.") || c.getSimpleName().contains("Saml");
    }

    @Override
    public List<ActionHandler<? extends ActionRequest, ? extends ActionResponse>> getActions() {
        return super.getActions().stream().filter(h -> !saml(h.getTransportAction())).toList();
    }

    @Override
    public List<RestHandler> getRestHandlers(
        Settings settings,
        NamedWriteableRegistry registry,
        RestController restController,
        ClusterSettings clusterSettings,
        IndexScopedSettings indexScopedSettings,
        SettingsFilter settingsFilter,
        IndexNameExpressionResolver resolver,
        Supplier<DiscoveryNodes> nodesInCluster,
        Predicate<NodeFeature> clusterSupportsFeature
    ) {
        return super.getRestHandlers(settings, registry, restController, clusterSettings, indexScopedSettings, settingsFilter, resolver,
            nodesInCluster, clusterSupportsFeature).stream().filter(h -> !saml(h.getClass())).toList();
    }
}
