package org.elasticsearch.node;

import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.ClasspathPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;

import java.util.Collection;

/**
 * A Node whose plugins (here the HTTP module transport-netty4) are classes on the class path,
 * as the test framework's MockNode does. It lives in this package for NodeConstruction and
 * NodeServiceProvider, which are package-private.
 */
public class ClasspathNode extends Node {
    public ClasspathNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
        super(NodeConstruction.prepareConstruction(env, null, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment e, PluginsLoader ignored) {
                return new ClasspathPluginsService(e, plugins);
            }
        }, false));
    }

}
