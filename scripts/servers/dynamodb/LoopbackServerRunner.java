// Starts DynamoDB Local bound to one address (127.0.0.1 by default).
//
// DynamoDB Local's own ServerRunner has no host option and listens on every
// interface; our test servers stay on loopback. This builds the server exactly
// as ServerRunner does (same command-line flags), then sets the host of its
// Jetty connector before starting it. Compiled and run by scripts/servers/dynamodb.sh.

import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackServerRunner {
    private LoopbackServerRunner() {}

    public static void main(String[] args) throws Exception {
        String host = System.getProperty("uoom.dynamodb.host", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        if (proxy == null) {
            return; // -help or -version: ServerRunner has printed what was asked.
        }
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server jetty = (Server) field.get(proxy);
        int bound = 0;
        for (Connector connector : jetty.getConnectors()) {
            if (connector instanceof ServerConnector) {
                ((ServerConnector) connector).setHost(host);
                bound++;
            }
        }
        if (bound == 0) {
            throw new IllegalStateException("DynamoDB Local has no ServerConnector to bind to " + host);
        }
        proxy.start();
        for (Connector connector : jetty.getConnectors()) {
            if (connector instanceof ServerConnector) {
                ServerConnector sc = (ServerConnector) connector;
                System.err.println("uoom: DynamoDB Local listening on " + sc.getHost() + ":" + sc.getLocalPort());
            }
        }
        proxy.join();
    }
}
