package org.elasticsearch.plugins;

import org.elasticsearch.action.admin.cluster.node.info.PluginsAndModules;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.spi.SPIClassIterator;

import java.lang.reflect.Constructor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A PluginsService whose plugins are classes on the application class path (like the test
 * framework's MockPluginsService), instead of bundles in a modules/ or plugins/ directory.
 * It lives in this package for the package-private parts of PluginsService it uses.
 */
public class ClasspathPluginsService extends PluginsService {
    private final List<LoadedPlugin> loaded;

    public ClasspathPluginsService(Environment env, Collection<Class<? extends Plugin>> classes) {
        super(env.settings(), env.configDir(), new PluginsLoader(Set.of(), Set.of(), Map.of()));
        List<LoadedPlugin> list = new ArrayList<>();
        for (Class<? extends Plugin> c : classes) {
            Plugin p = loadPlugin(c, env.settings(), env.configDir());
            list.add(new LoadedPlugin(Compat.descriptor(c), p, ClasspathPluginsService.class.getClassLoader()));
        }
        loadExtensions(list);
        loaded = List.copyOf(list);
    }

    @Override
    protected final List<LoadedPlugin> plugins() {
        return loaded;
    }

    @Override
    public PluginsAndModules info() {
        return new PluginsAndModules(loaded.stream().map(LoadedPlugin::descriptor).map(PluginRuntimeInfo::new).toList(), List.of());
    }

    /**
     * All plugins share one class loader, so every SPI provider on the class path is seen once per
     * plugin: create each provider class once, for the first plugin its constructor accepts.
     */
    @Override
    public <T> List<? extends T> loadServiceProviders(Class<T> service) {
        Map<Class<?>, T> result = new LinkedHashMap<>();
        for (LoadedPlugin lp : loaded) {
            Plugin plugin = lp.instance();
            var it = SPIClassIterator.get(service, plugin.getClass().getClassLoader());
            while (it.hasNext()) {
                Class<? extends T> c = it.next();
                if (result.containsKey(c)) {
                    continue;
                }
                boolean compatible = true;
                Constructor<?> withPlugin = null;
                for (Constructor<?> ctor : c.getConstructors()) {
                    if (ctor.getParameterCount() == 1) {
                        if (ctor.getParameterTypes()[0].isAssignableFrom(plugin.getClass())) {
                            withPlugin = ctor;
                        } else {
                            compatible = false;
                        }
                    }
                }
                if (!compatible) {
                    continue;
                }
                // createExtension wants the parameter to be the plugin's exact class; the
                // secured build's plugin is a subclass of the one the providers name (Secured).
                if (withPlugin != null && withPlugin.getParameterTypes()[0] != plugin.getClass()) {
                    try {
                        result.put(c, service.cast(withPlugin.newInstance(plugin)));
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException("creating extension " + c.getName() + " of " + service.getName(), e);
                    }
                } else {
                    result.put(c, createExtension(c, service, plugin));
                }
            }
        }
        return List.copyOf(result.values());
    }
}
