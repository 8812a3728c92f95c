package kgbot.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.ConnectorPortRegister;
import org.neo4j.configuration.connectors.ConnectorType;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

/**
 * A throwaway Neo4j Community server for kgbot's test suite.
 *
 * <p>The database lives in a fresh temporary folder that is deleted on exit. Bolt listens on 127.0.0.1 only, on
 * the port given as the first argument or, with 0 (the default), on one the operating system picks, so that
 * parallel runs never collide; the HTTP connector and the usage report are off, so it opens no other port and
 * makes no outbound connection. Once Bolt accepts connections it prints exactly one line,
 * {@code KGBOT_NEO4J_READY bolt://127.0.0.1:PORT}, which the pytest fixture waits for. It stops cleanly on
 * SIGTERM and also when its standard input closes, so a test run that dies leaves no server behind.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        Path home = Files.createTempDirectory("kgbot-neo4j-");
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.udc_enabled, false) // no usage report: nothing leaves loopback
                // 256 MiB beside the test suite; a benchmark sizes it to its store (-Dkgbot.pagecache.mib)
                .setConfig(GraphDatabaseSettings.pagecache_memory, Long.getLong("kgbot.pagecache.mib", 256L) * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofMinutes(5))
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            deleteTree(home);
        }, "kgbot-neo4j-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        ConnectorPortRegister ports =
                ((GraphDatabaseAPI) db).getDependencyResolver().resolveDependency(ConnectorPortRegister.class);
        System.out.println("KGBOT_NEO4J_READY bolt://127.0.0.1:" + ports.getLocalAddress(ConnectorType.BOLT).getPort());
        System.out.flush();

        waitForEndOfInput(System.in);
        System.exit(0);
    }

    /** Blocks until the parent closes our standard input (or dies); SIGTERM ends the process before that. */
    private static void waitForEndOfInput(InputStream in) {
        byte[] buffer = new byte[256];
        try {
            while (in.read(buffer) >= 0) {
                // input is ignored: only its end matters
            }
        } catch (IOException ignored) {
            // a broken pipe means the parent is gone: shut down as for end of input
        }
    }

    private static void deleteTree(Path root) {
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.delete(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("kgbot-neo4j: could not delete " + root + ": " + e.getMessage());
        }
    }
}
