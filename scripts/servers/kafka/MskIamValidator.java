package uoom.test;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.format.ResolverStyle;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerExtensionsValidatorCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Amazon MSK's IAM check, played for ONE test identity: the server-side
 * OAUTHBEARER callback handler of the test broker's IAM listener
 * (scripts/servers/kafka.sh, MSK's port 9098). Test code only.
 *
 * <p>The token is what AWS's signers (aws-msk-iam-sasl-signer-*) and
 * librdkafka-based clients send: the base64url encoding (padding optional) of
 * a SigV4-presigned URL
 * {@code https://kafka.REGION.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Algorithm=...&X-Amz-Signature=HEX&User-Agent=...}.
 * The handler parses it, checks every field against the configured access key,
 * the signing time against the clock, and recomputes the signature with the
 * configured secret (canonical request {@code GET / query host-header host
 * sha256("")}, service {@code kafka-cluster}).
 *
 * <p>Configured from the listener's JAAS entry:
 * {@code OAuthBearerLoginModule required accessKeyId="..." secretAccessKey="...";}
 *
 * <p>Without a broker: {@code java -cp CLASSES:KAFKA_LIBS/* uoom.test.MskIamValidator
 * verify TOKEN ACCESS_KEY SECRET [NOW_EPOCH_S]} prints {@code ok principal=...}
 * (exit 0) or {@code refused: why} (exit 1).
 */
public final class MskIamValidator implements AuthenticateCallbackHandler {
    private static final Logger LOG = LoggerFactory.getLogger(MskIamValidator.class);

    static final String SERVICE = "kafka-cluster";
    static final String ACTION = "kafka-cluster:Connect";
    static final String ALGORITHM = "AWS4-HMAC-SHA256";
    static final int MAX_EXPIRES_S = 900;
    /** How far ahead of the broker's clock a signing time may be. */
    static final long CLOCK_SKEW_MS = 5 * 60 * 1000L;
    /** hex(sha256("")): the payload hash of the presigned GET. */
    static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private static final Pattern HOST = Pattern.compile("kafka\\.([a-z0-9]+(?:-[a-z0-9]+)*)\\.amazonaws\\.com");
    private static final Pattern AMZ_DATE = Pattern.compile("[0-9]{8}T[0-9]{6}Z");
    private static final Pattern EXPIRES = Pattern.compile("[0-9]{1,4}");
    private static final Pattern SIGNATURE = Pattern.compile("[0-9a-f]{64}");
    private static final DateTimeFormatter AMZ_DATE_FORMAT =
            DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss'Z'").withResolverStyle(ResolverStyle.STRICT);

    private String accessKeyId;
    private String secretAccessKey;

    @Override
    public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasConfigEntries) {
        if (!OAuthBearerLoginModule.OAUTHBEARER_MECHANISM.equals(saslMechanism)) {
            throw new IllegalArgumentException("MskIamValidator serves OAUTHBEARER, not " + saslMechanism);
        }
        if (jaasConfigEntries == null || jaasConfigEntries.size() != 1) {
            throw new IllegalArgumentException("MskIamValidator needs exactly one JAAS config entry, got "
                    + (jaasConfigEntries == null ? 0 : jaasConfigEntries.size()));
        }
        Map<String, ?> options = jaasConfigEntries.get(0).getOptions();
        accessKeyId = requiredOption(options, "accessKeyId");
        secretAccessKey = requiredOption(options, "secretAccessKey");
        LOG.info("MSK IAM validator configured for access key {}", accessKeyId);
    }

    private static String requiredOption(Map<String, ?> options, String name) {
        Object v = options.get(name);
        if (!(v instanceof String) || ((String) v).isEmpty()) {
            throw new IllegalArgumentException("MskIamValidator: JAAS option " + name + " missing or empty");
        }
        return (String) v;
    }

    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        if (accessKeyId == null) {
            throw new IllegalStateException("MskIamValidator used before configure()");
        }
        for (Callback callback : callbacks) {
            if (callback instanceof OAuthBearerValidatorCallback) {
                OAuthBearerValidatorCallback cb = (OAuthBearerValidatorCallback) callback;
                Result r = verify(cb.tokenValue(), accessKeyId, secretAccessKey, System.currentTimeMillis());
                if (r.token != null) {
                    LOG.info("MSK IAM token accepted: principal {}, signed at {}, valid until {}",
                            r.token.principalName(), Instant.ofEpochMilli(r.token.startTimeMs()),
                            Instant.ofEpochMilli(r.token.lifetimeMs()));
                    cb.token(r.token);
                } else {
                    LOG.warn("MSK IAM token refused: {}", r.refusal);
                    cb.error("invalid_token", null, null);
                }
            } else if (callback instanceof OAuthBearerExtensionsValidatorCallback) {
                // MSK's tokens carry no SASL extensions; accept whatever a client adds.
                OAuthBearerExtensionsValidatorCallback cb = (OAuthBearerExtensionsValidatorCallback) callback;
                for (String name : cb.inputExtensions().map().keySet()) {
                    cb.valid(name);
                }
            } else {
                throw new UnsupportedCallbackException(callback);
            }
        }
    }

    @Override
    public void close() {
    }

    /** Either a token (accepted) or why it was refused. */
    static final class Result {
        final OAuthBearerToken token;
        final String refusal;

        private Result(OAuthBearerToken token, String refusal) {
            this.token = token;
            this.refusal = refusal;
        }
    }

    private static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String why) {
            super(why, null, false, false);
        }
    }

    /** The whole check: never throws, never puts the secret (or the token) in its answer. */
    static Result verify(String token, String accessKeyId, String secretAccessKey, long nowMs) {
        try {
            return new Result(check(token, accessKeyId, secretAccessKey, nowMs), null);
        } catch (Refused e) {
            return new Result(null, e.getMessage());
        } catch (RuntimeException e) {
            return new Result(null, "unexpected " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static OAuthBearerToken check(String token, String accessKeyId, String secretAccessKey, long nowMs)
            throws Refused {
        if (token == null || token.isEmpty()) throw new Refused("empty token");

        // 1. base64url, padding optional.
        String url;
        try {
            // Java's decoder takes the '=' padding when present and does not need it.
            byte[] raw = Base64.getUrlDecoder().decode(token);
            url = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(raw)).toString();
        } catch (IllegalArgumentException | java.nio.charset.CharacterCodingException e) {
            throw new Refused("token is not base64url of a UTF-8 URL");
        }

        // 2. The URL: https://kafka.REGION.amazonaws.com/?QUERY
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new Refused("decoded token is not a URL");
        }
        if (!"https".equals(uri.getScheme())) throw new Refused("scheme is not https: " + uri.getScheme());
        if (uri.getRawUserInfo() != null || uri.getPort() != -1) throw new Refused("URL has user info or a port");
        String host = uri.getHost();
        Matcher hm = host == null ? null : HOST.matcher(host);
        if (hm == null || !hm.matches()) throw new Refused("host is not kafka.<region>.amazonaws.com: " + host);
        String region = hm.group(1);
        if (!"/".equals(uri.getRawPath())) throw new Refused("path is not /: " + uri.getRawPath());
        if (uri.getRawFragment() != null) throw new Refused("URL has a fragment");
        String rawQuery = uri.getRawQuery();
        if (rawQuery == null || rawQuery.isEmpty()) throw new Refused("URL has no query");

        // 3. Query parameters, percent-decoded; each at most once.
        Map<String, String> params = new TreeMap<>();
        for (String pair : rawQuery.split("&", -1)) {
            int eq = pair.indexOf('=');
            if (eq <= 0) throw new Refused("malformed query parameter");
            String name = percentDecode(pair.substring(0, eq));
            String value = percentDecode(pair.substring(eq + 1));
            if (params.put(name, value) != null) throw new Refused("query parameter " + name + " repeated");
        }

        String action = required(params, "Action");
        if (!ACTION.equals(action)) throw new Refused("Action is not " + ACTION + ": " + action);
        String algorithm = required(params, "X-Amz-Algorithm");
        if (!ALGORITHM.equals(algorithm)) throw new Refused("X-Amz-Algorithm is not " + ALGORITHM + ": " + algorithm);
        String signedHeaders = required(params, "X-Amz-SignedHeaders");
        if (!"host".equals(signedHeaders)) throw new Refused("X-Amz-SignedHeaders is not host: " + signedHeaders);

        String amzDate = required(params, "X-Amz-Date");
        if (!AMZ_DATE.matcher(amzDate).matches()) throw new Refused("X-Amz-Date malformed: " + amzDate);
        long signedAtMs;
        try {
            signedAtMs = LocalDateTime.parse(amzDate, AMZ_DATE_FORMAT).toInstant(ZoneOffset.UTC).toEpochMilli();
        } catch (DateTimeParseException e) {
            throw new Refused("X-Amz-Date not a valid time: " + amzDate);
        }
        String day = amzDate.substring(0, 8);

        String credential = required(params, "X-Amz-Credential");
        String[] scope = credential.split("/", -1);
        if (scope.length != 5) throw new Refused("X-Amz-Credential is not KEY/DATE/REGION/SERVICE/aws4_request");
        if (!accessKeyId.equals(scope[0])) throw new Refused("unknown access key id: " + scope[0]);
        if (!day.equals(scope[1])) throw new Refused("credential date " + scope[1] + " is not X-Amz-Date's day " + day);
        if (!region.equals(scope[2])) throw new Refused("credential region " + scope[2] + " is not the host's " + region);
        if (!SERVICE.equals(scope[3])) throw new Refused("credential service is not " + SERVICE + ": " + scope[3]);
        if (!"aws4_request".equals(scope[4])) throw new Refused("credential scope does not end in aws4_request");

        String expiresText = required(params, "X-Amz-Expires");
        if (!EXPIRES.matcher(expiresText).matches()) throw new Refused("X-Amz-Expires malformed: " + expiresText);
        int expires = Integer.parseInt(expiresText);
        if (expires < 1 || expires > MAX_EXPIRES_S) {
            throw new Refused("X-Amz-Expires out of 1.." + MAX_EXPIRES_S + ": " + expires);
        }
        long expiresAtMs = signedAtMs + expires * 1000L;
        if (nowMs < signedAtMs - CLOCK_SKEW_MS) {
            throw new Refused("signed in the future: X-Amz-Date " + amzDate + " is "
                    + (signedAtMs - nowMs) / 1000 + " s ahead of now " + Instant.ofEpochMilli(nowMs));
        }
        if (nowMs > expiresAtMs) {
            throw new Refused("expired at " + Instant.ofEpochMilli(expiresAtMs) + " (now " + Instant.ofEpochMilli(nowMs) + ")");
        }

        String signature = required(params, "X-Amz-Signature");
        if (!SIGNATURE.matcher(signature).matches()) throw new Refused("X-Amz-Signature is not 64 lowercase hex digits");

        // 4. SigV4 over the canonical request, with the configured secret.
        StringBuilder query = new StringBuilder();
        TreeMap<String, String> canonical = new TreeMap<>();
        for (Map.Entry<String, String> p : params.entrySet()) {
            String name = p.getKey();
            if (name.equals("X-Amz-Signature") || name.equals("User-Agent")) continue;
            canonical.put(percentEncode(name), percentEncode(p.getValue()));
        }
        for (Map.Entry<String, String> p : canonical.entrySet()) {
            if (query.length() > 0) query.append('&');
            query.append(p.getKey()).append('=').append(p.getValue());
        }
        String canonicalRequest = "GET\n/\n" + query + "\nhost:" + host + "\n\nhost\n" + EMPTY_SHA256;
        String credentialScope = day + "/" + region + "/" + SERVICE + "/aws4_request";
        String stringToSign = ALGORITHM + "\n" + amzDate + "\n" + credentialScope + "\n"
                + hex(sha256(canonicalRequest.getBytes(StandardCharsets.UTF_8)));
        byte[] key = hmac(("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8), day);
        key = hmac(key, region);
        key = hmac(key, SERVICE);
        key = hmac(key, "aws4_request");
        String expected = hex(hmac(key, stringToSign));
        if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII),
                signature.getBytes(StandardCharsets.US_ASCII))) {
            throw new Refused("signature does not match (wrong secret, or the URL was changed after signing)");
        }

        return new IamToken(token, accessKeyId, signedAtMs, expiresAtMs);
    }

    private static String required(Map<String, String> params, String name) throws Refused {
        String v = params.get(name);
        if (v == null || v.isEmpty()) throw new Refused("query parameter " + name + " missing");
        return v;
    }

    /** RFC 3986 percent-decoding to UTF-8 ('+' is a plus, not a space). */
    private static String percentDecode(String s) throws Refused {
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) throw new Refused("bad percent-encoding in query");
                int hi = Character.digit(s.charAt(i + 1), 16), lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) throw new Refused("bad percent-encoding in query");
                out.write(hi * 16 + lo);
                i += 2;
            } else if (c < 0x80) {
                out.write(c);
            } else {
                throw new Refused("non-ASCII character in query");
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(out.toByteArray())).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new Refused("query is not UTF-8 once decoded");
        }
    }

    /** SigV4's URI encoding: all but A-Z a-z 0-9 - _ . ~ as %XX, uppercase hex. */
    static String percentEncode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return sb.toString();
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return sb.toString();
    }

    /** The accepted token: the principal is the access key id, as MSK's IAM principal is the caller's identity. */
    private static final class IamToken implements OAuthBearerToken {
        private final String value;
        private final String principal;
        private final long startMs;
        private final long lifetimeMs;

        IamToken(String value, String principal, long startMs, long lifetimeMs) {
            this.value = value;
            this.principal = principal;
            this.startMs = startMs;
            this.lifetimeMs = lifetimeMs;
        }

        @Override public String value() { return value; }
        @Override public Set<String> scope() { return Collections.emptySet(); }
        @Override public long lifetimeMs() { return lifetimeMs; }
        @Override public String principalName() { return principal; }
        @Override public Long startTimeMs() { return startMs; }
        @Override public String toString() {
            return "MskIamToken[principal=" + principal + ", start=" + startMs + ", lifetime=" + lifetimeMs + "]";
        }
    }

    /** {@code verify TOKEN ACCESS_KEY SECRET [NOW_EPOCH_S]}: "ok principal=..." (exit 0) or "refused: why" (exit 1). */
    public static void main(String[] args) {
        if (args.length < 4 || args.length > 5 || !"verify".equals(args[0])) {
            System.err.println("usage: MskIamValidator verify TOKEN ACCESS_KEY SECRET [NOW_EPOCH_S]");
            System.exit(2);
        }
        long nowMs;
        try {
            nowMs = args.length == 5 ? Math.multiplyExact(Long.parseLong(args[4]), 1000L) : System.currentTimeMillis();
        } catch (ArithmeticException | NumberFormatException e) {
            System.err.println("NOW_EPOCH_S is not a number of seconds: " + args[4]);
            System.exit(2);
            return;
        }
        Result r = verify(args[1], args[2], args[3], nowMs);
        if (r.token != null) {
            System.out.println("ok principal=" + r.token.principalName() + " start_ms=" + r.token.startTimeMs()
                    + " lifetime_ms=" + r.token.lifetimeMs());
            System.exit(0);
        }
        System.out.println("refused: " + r.refusal);
        System.exit(1);
    }
}
