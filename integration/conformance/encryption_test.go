package conformance

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stargate-go/stargate"
)

func init() {
	register("EncryptionClientSide", testEncryptionClientSide)
	register("EncryptionRawFrames", testEncryptionRawFrames)
}

// testEncryptionClientSide: client-side end-to-end encryption (PIP-290).
// The server stores the ciphertext and hands the encryptionContext to a
// consumer asking for CONSUME; a consumer with the private key decrypts;
// the server, holding no keys, drops encrypted messages for DISCARD and
// withholds them for FAIL (plain ones pass); a reader with CONSUME gets
// the ciphertext without encryptionContext (Pulsar 4.0.8's ReaderHandler
// sends none).
func testEncryptionClientSide(t *testing.T, tg Target) {
	e := newEnv(t, tg)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "keys", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kr := stargate.StaticKeyReader{
		Public:   map[string][]byte{"app": read("ec256_pub.pem")},
		Private:  map[string][]byte{"app": read("ec256_priv.pem")},
		Metadata: map[string]string{"version": "7"},
	}
	topic := tg.Topic(t)
	raw := e.consumer(topic, "raw", &stargate.ConsumerOptions{CryptoFailureAction: stargate.CryptoConsume})
	dec := e.consumer(topic, "dec", &stargate.ConsumerOptions{KeyReader: kr})
	discard := e.consumer(topic, "discard", &stargate.ConsumerOptions{CryptoFailureAction: stargate.CryptoDiscard})
	fail := e.consumer(topic, "fail", nil)
	p := e.producer(topic, &stargate.ProducerOptions{Compression: stargate.CompressionLZ4,
		Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: kr}})
	secret := bytes.Repeat([]byte("secret "), 30)
	e.sendAll(p, stargate.Message{Payload: secret, Key: "k", Properties: map[string]string{"a": "1"}})
	e.sendAll(e.producer(topic, nil), stargate.Message{Payload: []byte("plain")})

	got := e.receive(raw, 2, true)
	ec := got[0].Encryption
	switch {
	case ec == nil || bytes.Contains(got[0].Payload, []byte("secret")):
		t.Fatalf("CONSUME: message not encrypted or no context: %+v", ec)
	case ec.Compression != stargate.CompressionLZ4 || ec.UncompressedSize != len(secret) || ec.BatchSize != 0 ||
		len(ec.Param) != 12 || len(ec.Keys) != 1 || ec.Keys["app"].Metadata["version"] != "7" || ec.Encrypted != nil:
		t.Fatalf("CONSUME: context %+v", ec)
	case got[0].Key != "k" || got[0].Properties["a"] != "1":
		t.Fatalf("CONSUME: key %q properties %v (they are not encrypted)", got[0].Key, got[0].Properties)
	case got[1].Encryption != nil || string(got[1].Payload) != "plain":
		t.Fatalf("CONSUME: the plain message: %+v %q", got[1].Encryption, got[1].Payload)
	}
	if out, err := stargate.Decrypt(got[0], kr); err != nil || !bytes.Equal(out[0].Payload, secret) {
		t.Fatalf("Decrypt: %v", err)
	}
	if got := e.receive(dec, 2, true); !bytes.Equal(got[0].Payload, secret) || got[0].Encryption != nil || string(got[1].Payload) != "plain" {
		t.Fatalf("KeyReader: %q", strs(got))
	}
	if got := e.receive(discard, 1, true); string(got[0].Payload) != "plain" {
		t.Fatalf("DISCARD: %q", strs(got))
	}
	if got := e.receive(fail, 1, true); string(got[0].Payload) != "plain" {
		t.Fatalf("FAIL: %q", strs(got))
	}
	rd := e.reader(topic, &stargate.ReaderOptions{Start: stargate.Earliest, CryptoFailureAction: stargate.CryptoConsume})
	if got := e.read(rd, 2); got[0].Encryption != nil || bytes.Equal(got[0].Payload, secret) || string(got[1].Payload) != "plain" {
		t.Fatalf("reader: encryption %+v, payload %q", got[0].Encryption, got[0].Payload)
	}
}

// testEncryptionRawFrames: the wire shapes of client-side encryption. A
// producer whose encryptionKeys is base64 JSON sends the payload as it is
// with encryptionParam; compressionType and uncompressedMessageSize go
// together (one without the other is send-error:7), and a consumer with
// CONSUME gets them back in encryptionContext, batchSize null.
func testEncryptionRawFrames(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	keys := base64.StdEncoding.EncodeToString([]byte(`{"k1":{"keyValue":"AQIDBA==","metadata":{"m":"v"}}}`))
	cons := dial(t, tg, consumerPath(topic, "raw")+"?cryptoFailureAction=CONSUME")
	prod := dial(t, tg, producerPath(topic)+"?encryptionKeys="+url.QueryEscape(keys))
	for i, f := range []map[string]any{
		{"payload": b64("x"), "context": "c0", "encryptionParam": b64("iv"), "compressionType": "LZ4"},
		{"payload": b64("x"), "context": "c1", "encryptionParam": b64("iv"), "uncompressedMessageSize": 5},
		{"payload": b64("x"), "context": "c2", "encryptionParam": "%%%"},
	} {
		prod.send(f)
		if a := prod.next(); a["result"] != "send-error:7" || a["context"] != f["context"] {
			t.Errorf("frame %d: ack %v, want send-error:7", i, a)
		}
	}
	prod.send(map[string]any{"payload": b64("cipher"), "context": "ok", "encryptionParam": b64("twelve-bytes"),
		"compressionType": "ZSTD", "uncompressedMessageSize": 77})
	if a := prod.next(); a["result"] != "ok" {
		t.Fatalf("send: %v", a)
	}
	m := cons.receive(1)[0]
	ec, _ := m["encryptionContext"].(map[string]any)
	k, _ := ec["keys"].(map[string]any)
	k1, _ := k["k1"].(map[string]any)
	md, _ := k1["metadata"].(map[string]any)
	switch {
	case m["payload"] != b64("cipher"):
		t.Errorf("payload %v", m["payload"])
	case ec == nil || ec["param"] != b64("twelve-bytes") || ec["compressionType"] != "ZSTD" || ec["uncompressedMessageSize"] != 77.0:
		t.Errorf("encryptionContext %v", ec)
	case k1["keyValue"] != "AQIDBA==" || md["m"] != "v":
		t.Errorf("keys %v", k)
	case !present(ec, "batchSize") || ec["batchSize"] != nil:
		t.Errorf("batchSize %v, want null", ec["batchSize"])
	}
	if _, ok := ec["algorithm"]; ok {
		t.Errorf("algorithm present: %v", ec["algorithm"])
	}
}

func present(m map[string]any, k string) bool { _, ok := m[k]; return ok }
