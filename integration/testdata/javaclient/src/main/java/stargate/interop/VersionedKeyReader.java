package stargate.interop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pulsar.client.api.CryptoKeyReader;
import org.apache.pulsar.client.api.EncryptionKeyInfo;

/**
 * A CryptoKeyReader over PEM files given as NAME=PATH or NAME@VERSION=PATH. A producer's public
 * key carries the metadata {"version": VERSION} (when the producer was given --key-version); a
 * consumer's private key is chosen by the "version" in the metadata the producer attached, so
 * one consumer decrypts messages of several key versions (rotation).
 */
final class VersionedKeyReader implements CryptoKeyReader {
  private final Map<String, Path> publicKeys = new HashMap<>();
  private final Map<String, Path> privateKeys = new HashMap<>();
  String producerVersion = "";

  VersionedKeyReader(List<String> publicSpecs, List<String> privateSpecs) {
    for (String s : publicSpecs) {
      put(publicKeys, s);
    }
    for (String s : privateSpecs) {
      put(privateKeys, s);
    }
  }

  private static void put(Map<String, Path> m, String spec) {
    int eq = spec.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("key spec " + spec + " is not NAME[@VERSION]=PATH");
    }
    m.put(spec.substring(0, eq), Path.of(spec.substring(eq + 1)));
  }

  private static EncryptionKeyInfo load(
      Map<String, Path> m, String keyName, String version, Map<String, String> meta) {
    Path p = version.isEmpty() ? null : m.get(keyName + "@" + version);
    if (p == null) {
      p = m.get(keyName);
    }
    if (p == null) {
      return null; // the client reports the key as missing
    }
    try {
      return new EncryptionKeyInfo(Files.readAllBytes(p), meta);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public EncryptionKeyInfo getPublicKey(String keyName, Map<String, String> metadata) {
    Map<String, String> meta = new HashMap<>();
    if (!producerVersion.isEmpty()) {
      meta.put("version", producerVersion);
    }
    return load(publicKeys, keyName, producerVersion, meta);
  }

  @Override
  public EncryptionKeyInfo getPrivateKey(String keyName, Map<String, String> metadata) {
    String v = metadata == null ? "" : metadata.getOrDefault("version", "");
    return load(privateKeys, keyName, v, metadata);
  }
}
