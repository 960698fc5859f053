package replicator.esnode;

import org.apache.lucene.util.Version;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.node.ClasspathNode;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Compat;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.transport.netty4.Netty4Plugin;
import org.elasticsearch.xcontent.XContentBuilder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Starts a single-node Elasticsearch on loopback with plain HTTP and no security (x-pack is
 * not on the class path), for the integration tests. Arguments: [dataDir]; environment: ES_PORT (19200), ES_DATA_DIR
 * (/tmp/replicator-env/es/data, wiped at start), ES_TRANSPORT_PORT (19300). Built with -Ptls
 * and given ES_TLS_DIR (with ES_USER, ES_PASSWORD) it is the secured variant instead: x-pack
 * security, HTTPS and one user (src/tls/java, Secured).
 */
public final class Main {
    public static void main(String[] args) throws Exception {
        String port = env("ES_PORT", "19200");
        Path data = Path.of(args.length > 0 ? args[0] : env("ES_DATA_DIR", "/tmp/replicator-env/es/data")).toAbsolutePath();
        Path home = data.resolveSibling(data.getFileName() + "-home");
        wipe(data, "node.lock");
        wipe(home, "config");
        Files.createDirectories(home.resolve("config"));

        Settings.Builder builder = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "replicator-it")
            .put("node.name", "es-node")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", port)
            .put("transport.port", env("ES_TRANSPORT_PORT", "19300"))
            .put("cluster.routing.allocation.disk.threshold_enabled", false);
        // ES_SETTINGS: node settings that only a start can set ("thread_pool.write.queue_size=1
        // thread_pool.write.size=1" for real 429s), space-separated key=value pairs.
        for (String kv : env("ES_SETTINGS", "").trim().split("\\s+")) {
            if (kv.isEmpty()) {
                continue;
            }
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("ES_SETTINGS: want key=value pairs separated by spaces, got [" + kv + "]");
            }
            builder.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        List<Class<? extends Plugin>> plugins = new ArrayList<>(List.of(Netty4Plugin.class, RootPlugin.class));
        // ES_TLS_DIR: the secured variant (es.sh ES_TLS=1), only in the -Ptls build.
        if (!env("ES_TLS_DIR", "").isEmpty()) {
            plugins.addAll(secured(builder, home.resolve("config")));
        }
        Settings settings = builder.build();
        LogConfigurator.registerErrorListener();
        Files.writeString(home.resolve("config/log4j2.properties"), String.join("\n",
            "status = error",
            "appender.console.type = Console",
            "appender.console.name = console",
            "appender.console.layout.type = PatternLayout",
            "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n",
            "rootLogger.level = info",
            "rootLogger.appenderRef.console.ref = console",
            ""));
        var environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> "es-node");
        LogConfigurator.setClusterName("replicator-it");
        LogConfigurator.setNodeName("es-node");
        LogConfigurator.configure(environment, true);
        Node node = new ClasspathNode(environment, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            }
            stopped.countDown();
        }));
        node.start();
        org.apache.logging.log4j.LogManager.getLogger(Main.class)
            .info("Elasticsearch {} ready on http://127.0.0.1:{}", Build.current().qualifiedVersion(), port);
        stopped.await();
    }

    /**
     * Configures security through replicator.esnode.Secured (src/tls/java), found by name so
     * the plain build compiles without x-pack, and returns the plugins it needs.
     */
    @SuppressWarnings("unchecked")
    private static List<Class<? extends Plugin>> secured(Settings.Builder builder, Path config) throws Exception {
        Class<?> c;
        try {
            c = Class.forName("replicator.esnode.Secured");
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("ES_TLS_DIR is set but this launcher was built without x-pack security: build it with mvn -Ptls (es.sh ES_TLS=1 does)", e);
        }
        Files.createDirectories(config);
        c.getMethod("configure", Settings.Builder.class, Path.class, Path.class, String.class, String.class)
            .invoke(null, builder, config, Path.of(env("ES_TLS_DIR", "")), env("ES_USER", "it_admin"), env("ES_PASSWORD", ""));
        return (List<Class<? extends Plugin>>) c.getMethod("plugins").invoke(null);
    }

    private static String env(String k, String def) {
        String v = System.getenv(k);
        return v == null || v.isEmpty() ? def : v;
    }

    /** Empties dir, refusing to when it holds files but not marker, so it is not ours. */
    private static void wipe(Path dir, String marker) throws Exception {
        if (Files.isDirectory(dir) && !Files.exists(dir.resolve(marker))) {
            try (Stream<Path> s = Files.list(dir)) {
                if (s.findAny().isPresent()) {
                    throw new IllegalStateException(dir + " is not empty and holds no " + marker + "; not wiping it");
                }
            }
        }
        if (Files.exists(dir)) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(dir);
    }

    /** GET / and HEAD /: the distribution's rest-root module, which is not published on its own. */
    public static final class RootPlugin extends Compat.RestPlugin {
        private volatile ClusterService clusterService;

        @Override
        public Collection<?> createComponents(PluginServices services) {
            clusterService = services.clusterService();
            return List.of();
        }

        @Override
        protected List<RestHandler> handlers() {
            return List.of(new BaseRestHandler() {
                @Override
                public String getName() {
                    return "replicator_main_action";
                }

                @Override
                public List<Route> routes() {
                    return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
                }

                @Override
                protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
                    return channel -> {
                        ClusterState state = clusterService.state();
                        Build b = Build.current();
                        XContentBuilder x = channel.newBuilder().startObject()
                            .field("name", clusterService.localNode().getName())
                            .field("cluster_name", state.getClusterName().value())
                            .field("cluster_uuid", state.metadata().clusterUUID())
                            .startObject("version")
                            .field("number", b.qualifiedVersion())
                            .field("build_flavor", b.flavor())
                            .field("build_type", b.type().displayName())
                            .field("build_hash", b.hash())
                            .field("build_date", b.date())
                            .field("build_snapshot", b.isSnapshot())
                            .field("lucene_version", Version.LATEST.toString())
                            .field("minimum_wire_compatibility_version", b.minWireCompatVersion())
                            .field("minimum_index_compatibility_version", b.minIndexCompatVersion())
                            .endObject()
                            .field("tagline", "You Know, for Search")
                            .endObject();
                        channel.sendResponse(new RestResponse(RestStatus.OK, x));
                    };
                }
            });
        }
    }
}
