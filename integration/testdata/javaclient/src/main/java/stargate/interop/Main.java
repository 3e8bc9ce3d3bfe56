package stargate.interop;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.CompressionType;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.ConsumerCryptoFailureAction;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.ProducerBuilder;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.apache.pulsar.client.api.TypedMessageBuilder;

/**
 * The official Java client as a command-line tool for stargate's interop tests.
 *
 * <pre>
 * produce --url U --topic T --key NAME... [--key-version V] --public-key NAME[@V]=PEM...
 *         [--compression NONE|LZ4|ZLIB|ZSTD|SNAPPY] [--batching true|false] --input FILE.jsonl
 * consume --url U --topic T --subscription S --count N --private-key NAME[@V]=PEM...
 *         [--crypto-failure FAIL|DISCARD|CONSUME] [--timeout-seconds 60] [--linger-millis 0]
 * serve --url U      (then one JSON array of arguments per stdin line; see serve)
 * </pre>
 *
 * Input lines are {"payload": base64, "key": s, "properties": {..}, "eventTime": millis}; produce
 * prints {"messageId": ...} per message in input order, consume prints one line per message
 * received: payload (base64), key, properties, eventTime, publishTime, messageId, encryptionContext (present).
 * Consume exits 3 when fewer than count messages arrived within the timeout.
 */
public final class Main {
  private static final Gson GSON = new com.google.gson.GsonBuilder().disableHtmlEscaping().serializeNulls().create();

  public static void main(String[] args) throws Exception {
    int code;
    try {
      if (args.length == 0) {
        throw new IllegalArgumentException("no subcommand");
      }
      Flags f = Flags.parse(args, 1);
      PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
      try (PulsarClient client = newClient(f.one("url"))) {
        code = args[0].equals("serve") ? serve(client, out) : command(client, args, out);
      }
    } catch (IllegalArgumentException e) {
      System.err.println("javaclient: " + e.getMessage() + " (see Main.java for the flags)");
      code = 2;
    }
    System.exit(code);
  }

  private static PulsarClient newClient(String url) throws Exception {
    return PulsarClient.builder().serviceUrl(url).operationTimeout(60, TimeUnit.SECONDS).build();
  }

  private static int command(PulsarClient client, String[] args, PrintStream out) throws Exception {
    Flags f = Flags.parse(args, 1);
    return switch (args[0]) {
      case "produce" -> {
        produce(client, f, out);
        yield 0;
      }
      case "consume" -> consume(client, f, out);
      default -> throw new IllegalArgumentException("unknown subcommand " + args[0]);
    };
  }

  /**
   * serve runs commands from stdin, one JSON array of arguments a line (the --url of the
   * commands is that of serve), sparing the tests a JVM start per command. It writes each output
   * line prefixed with "OUT " and then "END {"exit": code, "error": text}".
   */
  private static int serve(PulsarClient client, PrintStream out) throws Exception {
    BufferedReader in =
        new BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
      PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
      int code;
      String err = "";
      try {
        code = command(client, GSON.fromJson(line, String[].class), ps);
      } catch (Throwable e) {
        code = 1;
        java.io.StringWriter sw = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(sw));
        err = sw.toString();
      }
      ps.flush();
      for (String l : buf.toString(StandardCharsets.UTF_8).split("\n")) {
        if (!l.isEmpty()) {
          out.println("OUT " + l);
        }
      }
      Map<String, Object> end = new LinkedHashMap<>();
      end.put("exit", code);
      end.put("error", err);
      out.println("END " + GSON.toJson(end));
    }
    return 0;
  }

  private static void usage(String why) {
    throw new IllegalArgumentException(why);
  }

  private static void produce(PulsarClient client, Flags f, PrintStream out) throws Exception {
    VersionedKeyReader keys = new VersionedKeyReader(f.all("public-key"), List.of());
    keys.producerVersion = f.opt("key-version", "");
    boolean batching = Boolean.parseBoolean(f.opt("batching", "false"));
    ProducerBuilder<byte[]> b =
        client
            .newProducer()
            .topic(f.one("topic"))
            .cryptoKeyReader(keys)
            .compressionType(CompressionType.valueOf(f.opt("compression", "NONE")))
            .enableBatching(batching)
            .blockIfQueueFull(true)
            .sendTimeout(60, TimeUnit.SECONDS);
    if (batching) {
      // one batch of the whole input: flush() below sends it, not a timer on a slow machine
      b.batchingMaxMessages(1000).batchingMaxPublishDelay(1, TimeUnit.MINUTES);
    }
    for (String k : f.all("key")) {
      b.addEncryptionKey(k);
    }
    List<CompletableFuture<MessageId>> sent = new ArrayList<>();
    try (Producer<byte[]> p = b.create();
        BufferedReader in = Files.newBufferedReader(Path.of(f.one("input")))) {
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isBlank()) {
          continue;
        }
        JsonObject m = JsonParser.parseString(line).getAsJsonObject();
        TypedMessageBuilder<byte[]> mb =
            p.newMessage().value(Base64.getDecoder().decode(m.get("payload").getAsString()));
        if (m.has("key") && !m.get("key").isJsonNull()) {
          mb.key(m.get("key").getAsString());
        }
        if (m.has("properties") && m.get("properties").isJsonObject()) {
          for (var e : m.getAsJsonObject("properties").entrySet()) {
            mb.property(e.getKey(), e.getValue().getAsString());
          }
        }
        if (m.has("eventTime") && m.get("eventTime").getAsLong() > 0) {
          mb.eventTime(m.get("eventTime").getAsLong());
        }
        sent.add(mb.sendAsync());
      }
      p.flush();
      for (CompletableFuture<MessageId> s : sent) {
        Map<String, Object> line = new LinkedHashMap<>();
        MessageId id = s.get(60, TimeUnit.SECONDS);
        line.put("messageId", id.toString());
        line.put("messageIdBase64", Base64.getEncoder().encodeToString(id.toByteArray()));
        out.println(GSON.toJson(line));
      }
    }
  }

  private static int consume(PulsarClient client, Flags f, PrintStream out) throws Exception {
    VersionedKeyReader keys = new VersionedKeyReader(List.of(), f.all("private-key"));
    int count = Integer.parseInt(f.one("count"));
    long deadline =
        System.nanoTime()
            + TimeUnit.SECONDS.toNanos(Long.parseLong(f.opt("timeout-seconds", "60")));
    int linger = Integer.parseInt(f.opt("linger-millis", "0"));
    try (Consumer<byte[]> c =
        client
            .newConsumer()
            .topic(f.one("topic"))
            .subscriptionName(f.one("subscription"))
            .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest)
            .cryptoKeyReader(keys)
            .cryptoFailureAction(
                ConsumerCryptoFailureAction.valueOf(f.opt("crypto-failure", "FAIL")))
            .subscribe()) {
      int got = 0;
      while (true) {
        long left = deadline - System.nanoTime();
        int wait;
        if (got < count) {
          if (left <= 0) {
            break;
          }
          wait = (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(left));
        } else if (linger > 0) {
          wait = linger;
        } else {
          break;
        }
        Message<byte[]> m = c.receive(wait, TimeUnit.MILLISECONDS);
        if (m == null) {
          if (got >= count) {
            break;
          }
          continue;
        }
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("payload", Base64.getEncoder().encodeToString(m.getData()));
        line.put("key", m.hasKey() ? m.getKey() : null);
        line.put("properties", new TreeMap<>(m.getProperties()));
        line.put("eventTime", m.getEventTime());
        line.put("publishTime", m.getPublishTime());
        line.put("messageId", m.getMessageId().toString());
        line.put(
            "messageIdBase64", Base64.getEncoder().encodeToString(m.getMessageId().toByteArray()));
        line.put("encryptionContext", m.getEncryptionCtx().isPresent());
        out.println(GSON.toJson(line));
        c.acknowledge(m);
        got++;
      }
      return got < count ? 3 : 0;
    }
  }

  /** Repeated --name value flags. */
  private static final class Flags {
    final Map<String, List<String>> values = new LinkedHashMap<>();

    static Flags parse(String[] args, int from) {
      Flags f = new Flags();
      for (int i = from; i < args.length; i++) {
        if (!args[i].startsWith("--") || i + 1 >= args.length) {
          usage("bad flag " + args[i]);
        }
        f.values.computeIfAbsent(args[i].substring(2), k -> new ArrayList<>()).add(args[++i]);
      }
      return f;
    }

    List<String> all(String name) {
      return values.getOrDefault(name, List.of());
    }

    String opt(String name, String def) {
      List<String> v = all(name);
      return v.isEmpty() ? def : v.get(v.size() - 1);
    }

    String one(String name) {
      String v = opt(name, null);
      if (v == null) {
        usage("missing --" + name);
      }
      return v;
    }
  }
}
