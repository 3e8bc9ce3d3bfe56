#!/usr/bin/env python3
"""The official Python client (PyPI pulsar-client, C++ based) as a command-line tool for
stargate's interop tests (integration/interop_crypto_test.go), like ../javaclient:

  crypto.py produce --url U --topic T --key NAME [--key NAME] --public-key PEM
                    [--compression NONE|LZ4|ZLIB|ZSTD|SNAPPY] [--batching true|false] --input FILE.jsonl
  crypto.py consume --url U --topic T --subscription S --count N --private-key PEM
                    [--crypto-failure FAIL|DISCARD|CONSUME] [--timeout-seconds 60] [--linger-millis 0]

Input lines are {"payload": base64, "key": s, "properties": {..}, "eventTime": millis}; produce
prints {"messageId": ...} per message, consume prints one line per message: payload (base64),
key, properties, eventTime, publishTime, messageId. The Python client's key reader is
file-based (one public, one private key), so key rotation is tested with the Java client only.
Consume exits 3 when fewer than count messages arrived within the timeout.
"""
import argparse
import base64
import json
import sys
import time

import pulsar


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["produce", "consume"])
    p.add_argument("--url", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--subscription")
    p.add_argument("--key", action="append", default=[])
    p.add_argument("--public-key", default="")
    p.add_argument("--private-key", default="")
    p.add_argument("--compression", default="NONE")
    p.add_argument("--batching", default="false")
    p.add_argument("--input")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--crypto-failure", default="FAIL")
    p.add_argument("--timeout-seconds", type=float, default=60)
    p.add_argument("--linger-millis", type=int, default=0)
    return p.parse_args()


COMPRESSION = {
    "NONE": pulsar.CompressionType.NONE,
    "LZ4": pulsar.CompressionType.LZ4,
    "ZLIB": pulsar.CompressionType.ZLib,
    "ZSTD": pulsar.CompressionType.ZSTD,
    "SNAPPY": pulsar.CompressionType.SNAPPY,
}

FAILURE = {
    "FAIL": pulsar.ConsumerCryptoFailureAction.FAIL,
    "DISCARD": pulsar.ConsumerCryptoFailureAction.DISCARD,
    "CONSUME": pulsar.ConsumerCryptoFailureAction.CONSUME,
}


def produce(client, a):
    batching = a.batching == "true"
    producer = client.create_producer(
        a.topic,
        encryption_key=a.key[0] if len(a.key) == 1 else a.key,
        crypto_key_reader=pulsar.CryptoKeyReader(a.public_key, a.private_key),
        compression_type=COMPRESSION[a.compression],
        batching_enabled=batching,
        batching_max_publish_delay_ms=60000,  # one batch: flush() sends it, not a timer
        block_if_queue_full=True,
        send_timeout_millis=60000,
    )
    results = []
    with open(a.input) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    for i, m in enumerate(lines):
        kw = {}
        if m.get("key") is not None:
            kw["partition_key"] = m["key"]
        if m.get("properties"):
            kw["properties"] = {k: str(v) for k, v in m["properties"].items()}
        if m.get("eventTime"):
            kw["event_timestamp"] = int(m["eventTime"])
        results.append(None)

        def done(res, msg_id, i=i):
            results[i] = (res, msg_id)

        producer.send_async(base64.b64decode(m["payload"]), done, **kw)
    producer.flush()
    deadline = time.monotonic() + 60
    while any(r is None for r in results) and time.monotonic() < deadline:
        time.sleep(0.01)  # send_async callbacks come on the client's thread
    for r in results:
        if r is None or r[0] != pulsar.Result.Ok:
            print("send failed: %r" % (r,), file=sys.stderr)
            sys.exit(1)
        print(json.dumps({"messageId": str(r[1])}))
    producer.close()


def consume(client, a):
    consumer = client.subscribe(
        a.topic,
        a.subscription,
        initial_position=pulsar.InitialPosition.Earliest,
        crypto_key_reader=pulsar.CryptoKeyReader(a.public_key, a.private_key),
        crypto_failure_action=FAILURE[a.crypto_failure],
    )
    deadline = time.monotonic() + a.timeout_seconds
    got = 0
    while True:
        if got < a.count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            wait = max(1, int(left * 1000))
        elif a.linger_millis > 0:
            wait = a.linger_millis
        else:
            break
        try:
            m = consumer.receive(timeout_millis=wait)
        except pulsar.Timeout:
            if got >= a.count:
                break
            continue
        print(
            json.dumps(
                {
                    "payload": base64.b64encode(m.data()).decode(),
                    "key": m.partition_key() if m.partition_key() else None,
                    "properties": dict(sorted(m.properties().items())),
                    "eventTime": m.event_timestamp(),
                    "publishTime": m.publish_timestamp(),
                    "messageId": str(m.message_id()),
                }
            ),
            flush=True,
        )
        consumer.acknowledge(m)
        got += 1
    consumer.close()
    return 0 if got >= a.count else 3


def main():
    a = parse()
    client = pulsar.Client(a.url, operation_timeout_seconds=60, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Error))
    try:
        if a.command == "produce":
            produce(client, a)
            return 0
        return consume(client, a)
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
