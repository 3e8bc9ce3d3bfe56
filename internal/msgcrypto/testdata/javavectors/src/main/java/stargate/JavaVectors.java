package stargate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.crypto.spec.SecretKeySpec;
import org.apache.pulsar.client.api.CryptoKeyReader;
import org.apache.pulsar.client.api.EncryptionKeyInfo;
import org.apache.pulsar.client.impl.crypto.MessageCryptoBc;
import org.apache.pulsar.common.api.proto.EncryptionKeys;
import org.apache.pulsar.common.api.proto.MessageMetadata;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Known-answer vectors for stargate's internal/msgcrypto, made and checked by
 * the Java client's own MessageCryptoBc.
 *
 * <pre>
 * generate KEYDIR OUT.json NAME:PUB.pem:PRIV.pem...   vectors Go must decrypt
 * check    KEYDIR IN.json                             decrypt vectors Go made; exit 1 on any failure
 * </pre>
 *
 * generate uses MessageCryptoBc.encrypt with its data key replaced (by
 * reflection, before the first encrypt wraps it) by a fixed one, so the vector
 * records the data key, the encrypted data key, the IV, the plaintext and the
 * ciphertext of the real code path. check feeds each Go vector's encrypted data
 * key and IV as message metadata to MessageCryptoBc.decrypt with the private key
 * file. Both also record which key files MessageCryptoBc.loadPublicKey and
 * loadPrivateKey accept.
 */
public final class JavaVectors {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Base64.Encoder B64 = Base64.getEncoder();
    private static final Base64.Decoder B64D = Base64.getDecoder();

    public static void main(String[] args) throws Exception {
        if (args.length >= 3 && args[0].equals("generate")) {
            generate(Path.of(args[1]), Path.of(args[2]), Arrays.copyOfRange(args, 3, args.length));
        } else if (args.length == 3 && args[0].equals("check")) {
            System.exit(check(Path.of(args[1]), Path.of(args[2])) ? 0 : 1);
        } else {
            System.err.println("usage: generate KEYDIR OUT.json NAME:PUB:PRIV... | check KEYDIR IN.json");
            System.exit(2);
        }
    }

    /** A key reader that serves one key pair's files under any key name. */
    private static CryptoKeyReader reader(Path dir, String pub, String priv) {
        return new CryptoKeyReader() {
            @Override
            public EncryptionKeyInfo getPublicKey(String keyName, Map<String, String> metadata) {
                return new EncryptionKeyInfo(read(dir.resolve(pub)), Map.of());
            }

            @Override
            public EncryptionKeyInfo getPrivateKey(String keyName, Map<String, String> metadata) {
                return new EncryptionKeyInfo(read(dir.resolve(priv)), Map.of());
            }
        };
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    private static String generator() {
        String jar = MessageCryptoBc.class.getProtectionDomain().getCodeSource().getLocation().getPath();
        String bc = BouncyCastleProvider.class.getProtectionDomain().getCodeSource().getLocation().getPath();
        return "MessageCryptoBc from " + Path.of(jar).getFileName() + ", BouncyCastle provider from "
                + Path.of(bc).getFileName() + ", Java " + System.getProperty("java.version");
    }

    /** Payloads: empty, short text, sizes around the AES block and a few KiB. */
    private static List<byte[]> payloads() {
        List<byte[]> out = new ArrayList<>();
        out.add(new byte[0]);
        out.add("hello from MessageCryptoBc".getBytes());
        for (int n : new int[] {15, 16, 17, 1000, 4097}) {
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                b[i] = (byte) (i * 31 + n);
            }
            out.add(b);
        }
        return out;
    }

    private static void generate(Path dir, Path out, String[] pairs) throws Exception {
        List<Object> vectors = new ArrayList<>();
        List<Object> loads = new ArrayList<>();
        for (String spec : pairs) {
            String[] p = spec.split(":");
            String name = p[0], pub = p[1], priv = p[2];
            loads.add(probe(dir, pub, true));
            loads.add(probe(dir, priv, false));
            List<byte[]> pls = payloads();
            for (int i = 0; i < pls.size(); i++) {
                // One vector with a 128-bit data key: what a Java producer makes when the
                // JCE policy limits AES to 128 bits.
                int keyLen = i == 2 ? 16 : 32;
                byte[] dataKey = new byte[keyLen];
                for (int j = 0; j < keyLen; j++) {
                    dataKey[j] = (byte) (j + 17 * i + name.length());
                }
                vectors.add(encryptOne(dir, name + "/" + i, pub, priv, dataKey, pls.get(i)));
            }
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("generator", generator());
        doc.put("vectors", vectors);
        doc.put("keyLoads", loads);
        JSON.writeValue(out.toFile(), doc);
        System.out.println("wrote " + vectors.size() + " vectors to " + out + " (" + generator() + ")");
    }

    private static Map<String, Object> encryptOne(Path dir, String name, String pub, String priv,
            byte[] dataKey, byte[] plaintext) throws Exception {
        String keyName = "key-" + name.substring(0, name.indexOf('/'));
        MessageCryptoBc crypto = new MessageCryptoBc("javavectors", true);
        Field f = MessageCryptoBc.class.getDeclaredField("dataKey");
        f.setAccessible(true);
        f.set(crypto, new SecretKeySpec(dataKey, "AES"));

        MessageMetadata md = new MessageMetadata();
        ByteBuffer outBuf = ByteBuffer.allocate(crypto.getMaxOutputSize(plaintext.length));
        crypto.encrypt(Set.of(keyName), reader(dir, pub, priv), () -> md, ByteBuffer.wrap(plaintext), outBuf);
        byte[] ciphertext = new byte[outBuf.remaining()];
        outBuf.get(ciphertext);
        if (md.getEncryptionKeysCount() != 1) {
            throw new IllegalStateException(name + ": " + md.getEncryptionKeysCount() + " encryption keys");
        }
        EncryptionKeys ek = md.getEncryptionKeyAt(0);
        byte[] used = ((Key) f.get(crypto)).getEncoded();
        if (!Arrays.equals(used, dataKey)) {
            throw new IllegalStateException(name + ": MessageCryptoBc did not use the fixed data key");
        }

        // Sanity: the Java consumer side decrypts what it made.
        byte[] back = decrypt(dir, priv, keyName, ek.getValue(), md.getEncryptionParam(), ciphertext);
        if (back == null || !Arrays.equals(back, plaintext)) {
            throw new IllegalStateException(name + ": MessageCryptoBc cannot decrypt its own vector");
        }

        Map<String, Object> v = new LinkedHashMap<>();
        v.put("name", name);
        v.put("keyName", keyName);
        v.put("publicKey", pub);
        v.put("privateKey", priv);
        v.put("dataKey", B64.encodeToString(dataKey));
        v.put("encryptedDataKey", B64.encodeToString(ek.getValue()));
        v.put("iv", B64.encodeToString(md.getEncryptionParam()));
        v.put("plaintext", B64.encodeToString(plaintext));
        v.put("ciphertext", B64.encodeToString(ciphertext));
        return v;
    }

    /** MessageCryptoBc.decrypt of one message; null if it reports failure. */
    private static byte[] decrypt(Path dir, String priv, String keyName, byte[] encKey, byte[] iv, byte[] ct) {
        MessageCryptoBc crypto = new MessageCryptoBc("javavectors", false);
        MessageMetadata md = new MessageMetadata();
        md.addEncryptionKey().setKey(keyName).setValue(encKey);
        md.setEncryptionParam(iv);
        ByteBuffer out = ByteBuffer.allocate(crypto.getMaxOutputSize(ct.length));
        if (!crypto.decrypt(() -> md, ByteBuffer.wrap(ct), out, reader(dir, "-", priv))) {
            return null;
        }
        byte[] b = new byte[out.remaining()];
        out.get(b);
        return b;
    }

    private static boolean check(Path dir, Path in) throws Exception {
        JsonNode doc = JSON.readTree(in.toFile());
        System.out.println("checking " + in + " with " + generator());
        boolean ok = true;
        int n = 0;
        for (JsonNode v : doc.get("vectors")) {
            n++;
            String name = v.get("name").asText();
            byte[] want = B64D.decode(v.get("plaintext").asText());
            byte[] got = decrypt(dir, v.get("privateKey").asText(), v.get("keyName").asText(),
                    B64D.decode(v.get("encryptedDataKey").asText()), B64D.decode(v.get("iv").asText()),
                    B64D.decode(v.get("ciphertext").asText()));
            if (got == null) {
                System.out.println("FAIL " + name + ": MessageCryptoBc.decrypt returned false");
                ok = false;
            } else if (!Arrays.equals(got, want)) {
                System.out.println("FAIL " + name + ": decrypted " + got.length + " bytes that differ from the plaintext");
                ok = false;
            } else {
                System.out.println("ok   " + name + " (" + want.length + " bytes)");
            }
        }
        if (n == 0) {
            System.out.println("FAIL: no vectors");
            ok = false;
        }
        System.out.println(ok ? "PASS " + n + " vectors" : "FAIL");
        return ok;
    }

    /** Whether MessageCryptoBc.loadPublicKey / loadPrivateKey accept a key file. */
    private static Map<String, Object> probe(Path dir, String file, boolean pub) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("file", file);
        r.put("kind", pub ? "public" : "private");
        try {
            Method m = MessageCryptoBc.class.getDeclaredMethod(pub ? "loadPublicKey" : "loadPrivateKey", byte[].class);
            m.setAccessible(true);
            Object k = m.invoke(new MessageCryptoBc("probe", false), (Object) read(dir.resolve(file)));
            if (k == null) {
                r.put("ok", false);
                r.put("error", "returned null");
            } else {
                r.put("ok", true);
                r.put("algorithm", ((Key) k).getAlgorithm());
            }
        } catch (InvocationTargetException e) {
            r.put("ok", false);
            r.put("error", String.valueOf(e.getCause()));
        } catch (Exception e) {
            r.put("ok", false);
            r.put("error", String.valueOf(e));
        }
        return r;
    }
}
