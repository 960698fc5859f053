package replicator.esnode;

import org.elasticsearch.common.settings.SecureString;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.xpack.core.XPackPlugin;
import org.elasticsearch.xpack.core.security.authc.support.Hasher;
import org.elasticsearch.xpack.security.SecurityWithoutSaml;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The secured variant of the node (built with -Ptls, started by es.sh with ES_TLS=1): x-pack
 * security on, HTTPS with the test CA's server certificate, and one file-realm user with the
 * privileges the replicator's Elasticsearch target needs. Main finds this class by name, so
 * the plain build does not need x-pack on its class path.
 */
public final class Secured {
    private Secured() {}

    /** The plugins security needs beside Main's: x-pack core (licensing), security, and the analysis its index uses. */
    public static List<Class<? extends Plugin>> plugins() {
        return List.of(XPackPlugin.class, SecurityWithoutSaml.class, StandInAnalysis.class);
    }

    /**
     * Copies the certificates of tlsDir (ca.pem, server.pem, server-key.pem from
     * integration/env/tls.sh) into the node's config directory, writes the file realm's
     * user and role, and adds the security settings.
     */
    public static void configure(Settings.Builder b, Path config, Path tlsDir, String user, String password) throws Exception {
        if (password.length() < 6) {
            throw new IllegalArgumentException("ES_PASSWORD: want at least 6 characters (Elasticsearch refuses shorter passwords)");
        }
        Path certs = Files.createDirectories(config.resolve("certs"));
        for (String f : List.of("ca.pem", "server.pem", "server-key.pem")) {
            Path src = tlsDir.resolve(f);
            if (!Files.isRegularFile(src)) {
                throw new IllegalArgumentException("ES_TLS_DIR: " + src + " is missing; create it with integration/env/tls.sh");
            }
            Files.copy(src, certs.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        char[] hash = Hasher.BCRYPT.hash(new SecureString(password.toCharArray()));
        Files.writeString(config.resolve("users"), user + ":" + new String(hash) + "\n");
        Files.writeString(config.resolve("users_roles"), "replicator_target:" + user + "\n");
        // What the replicator's Elasticsearch target does: read the cluster's version and
        // health (monitor), create, map, alias, write and read its indexes and its state index
        // (all on indices), and create API keys of its own for the test (manage_own_api_key).
        Files.writeString(config.resolve("roles.yml"), String.join("\n",
            "replicator_target:",
            "  cluster: [monitor, manage_own_api_key]",
            "  indices:",
            "    - names: ['*']",
            "      privileges: [all]",
            ""));
        b.put("xpack.security.enabled", true)
            .put("xpack.security.http.ssl.enabled", true)
            .put("xpack.security.http.ssl.certificate", "certs/server.pem")
            .put("xpack.security.http.ssl.key", "certs/server-key.pem")
            .put("xpack.security.http.ssl.certificate_authorities", "certs/ca.pem")
            // One node, bound to loopback: the transport layer talks to no other node.
            .put("xpack.security.transport.ssl.enabled", false)
            .put("xpack.security.authc.api_key.enabled", true)
            .put("xpack.ml.enabled", false)
            .put("xpack.watcher.enabled", false);
    }
}
