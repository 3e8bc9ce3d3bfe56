package conformance

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stargate-go/stargate"
)

func init() {
	register("EncryptionClientSide", testEncryptionClientSide)
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
