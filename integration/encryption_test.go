package integration

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// Client-side end-to-end encryption (PIP-290) through Pulsar 4.0.8's
// WebSocket service, stargate to stargate. (Interoperation with the Java
// and Python clients is in the interop tests.)

// e2eKeys holds the root module's test key pairs under the key name "app".
func e2eKeys(t *testing.T, name string) stargate.StaticKeyReader {
	t.Helper()
	read := func(suffix string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "keys", name+suffix))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return stargate.StaticKeyReader{
		Public:   map[string][]byte{"app": read("_pub.pem")},
		Private:  map[string][]byte{"app": read("_priv.pem")},
		Metadata: map[string]string{"key": name},
	}
}

// TestEncryptionThroughRealBroker: for RSA and EC keys and every codec, the
// broker stores what the producer encrypted (a consumer asking for CONSUME
// without keys gets ciphertext and the encryptionContext), and a consumer
// with the private key decrypts it, fields intact.
func TestEncryptionThroughRealBroker(t *testing.T) {
	codecs := []stargate.CompressionType{stargate.CompressionNone, stargate.CompressionLZ4, stargate.CompressionZLib,
		stargate.CompressionZSTD, stargate.CompressionSnappy}
	for _, key := range []string{"rsa", "ec256", "ec521"} {
		for _, codec := range codecs {
			t.Run(key+"-"+codec.String(), func(t *testing.T) {
				e := plain(t)
				kr := e2eKeys(t, key)
				topic := dockertest.UniqueTopic(t)
				raw := e.consumer(topic, "raw", &stargate.ConsumerOptions{CryptoFailureAction: stargate.CryptoConsume})
				dec := e.consumer(topic, "dec", &stargate.ConsumerOptions{KeyReader: kr})
				p := e.producer(topic, &stargate.ProducerOptions{Compression: codec,
					Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: kr}})
				var sent []stargate.Message
				for i := range 4 {
					sent = append(sent, stargate.Message{
						Payload:    bytes.Repeat([]byte("secret "+strconv.Itoa(i)+" "), 40),
						Key:        "k" + strconv.Itoa(i),
						Properties: map[string]string{"i": strconv.Itoa(i)},
						EventTime:  time.UnixMilli(1700000000000 + int64(i)),
					})
				}
				e.sendAll(p, sent...)
				got := e.receive(dec, len(sent), true, time.Minute)
				for i, m := range got {
					if !bytes.Equal(m.Payload, sent[i].Payload) || m.Key != sent[i].Key || m.Properties["i"] != strconv.Itoa(i) ||
						!m.EventTime.Equal(sent[i].EventTime) || m.Encryption != nil {
						t.Fatalf("message %d: %q key %q props %v event %v enc %+v", i, m.Payload, m.Key, m.Properties, m.EventTime, m.Encryption)
					}
				}
				for i, m := range e.receive(raw, len(sent), true, time.Minute) {
					ec := m.Encryption
					if ec == nil || bytes.Contains(m.Payload, []byte("secret")) {
						t.Fatalf("raw message %d is not encrypted: %+v", i, ec)
					}
					if ec.Compression != codec || ec.Keys["app"].Metadata["key"] != key || len(ec.Param) != 12 || ec.BatchSize != 0 {
						t.Fatalf("raw message %d: context %+v", i, ec)
					}
					if codec != stargate.CompressionNone && ec.UncompressedSize != len(sent[i].Payload) {
						t.Fatalf("raw message %d: UncompressedSize %d, want %d", i, ec.UncompressedSize, len(sent[i].Payload))
					}
					out, err := stargate.Decrypt(m, kr)
					if err != nil || len(out) != 1 || !bytes.Equal(out[0].Payload, sent[i].Payload) {
						t.Fatalf("Decrypt raw message %d: %v %v", i, out, err)
					}
				}
			})
		}
	}
}

// TestEncryptionRotationThroughRealBroker: after RotateEvery the producer
// makes a new data key and reconnects; every message decrypts, none is
// stored twice, and both data keys were used.
func TestEncryptionRotationThroughRealBroker(t *testing.T) {
	e := plain(t)
	kr := e2eKeys(t, "rsa")
	topic := dockertest.UniqueTopic(t)
	raw := e.consumer(topic, "raw", &stargate.ConsumerOptions{CryptoFailureAction: stargate.CryptoConsume})
	dec := e.consumer(topic, "dec", &stargate.ConsumerOptions{KeyReader: kr})
	const rotate = time.Second
	p := e.producer(topic, &stargate.ProducerOptions{Compression: stargate.CompressionZSTD,
		Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: kr, RotateEvery: rotate}})
	start := time.Now()
	e.sendAll(p, stargate.Message{Payload: []byte("m0")}, stargate.Message{Payload: []byte("m1")})
	time.Sleep(time.Until(start.Add(rotate + 100*time.Millisecond))) // the data key's age is what is tested
	e.sendAll(p, stargate.Message{Payload: []byte("m2")}, stargate.Message{Payload: []byte("m3")})
	for i, m := range e.receive(dec, 4, true, time.Minute) {
		if string(m.Payload) != "m"+strconv.Itoa(i) {
			t.Fatalf("message %d: %q", i, m.Payload)
		}
	}
	wrapped := map[string]bool{}
	for _, m := range e.receive(raw, 4, true, time.Minute) {
		wrapped[string(m.Encryption.Keys["app"].Value)] = true
	}
	if len(wrapped) != 2 {
		t.Fatalf("%d data keys used, want 2 (one rotation)", len(wrapped))
	}
	if st := p.Stats(); st.Reconnects != 1 {
		t.Fatalf("producer reconnects: %d, want 1 (the rotation)", st.Reconnects)
	}
	e.none(dec, 500*time.Millisecond) // nothing stored twice
}

// TestEncryptionFailuresThroughRealBroker: a message encrypted for another
// key follows the consumer's CryptoFailureAction.
func TestEncryptionFailuresThroughRealBroker(t *testing.T) {
	for _, action := range []stargate.CryptoFailureAction{stargate.CryptoFail, stargate.CryptoDiscard, stargate.CryptoConsume} {
		t.Run(action.String(), func(t *testing.T) {
			e := plain(t)
			right, wrong := e2eKeys(t, "rsa"), e2eKeys(t, "other_rsa")
			topic := dockertest.UniqueTopic(t)
			cons := e.consumer(topic, "s", &stargate.ConsumerOptions{KeyReader: wrong, CryptoFailureAction: action})
			p := e.producer(topic, &stargate.ProducerOptions{Compression: stargate.CompressionLZ4,
				Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: right}})
			e.sendAll(p, stargate.Message{Payload: []byte("secret")})
			e.sendAll(e.producer(topic, nil), stargate.Message{Payload: []byte("plain")})
			ctx := e.ctx
			var got []stargate.Message
			var cerr *stargate.CryptoError
			for m, err := range cons.Messages(ctx) {
				if err != nil {
					if !errors.As(err, &cerr) {
						t.Fatal(err)
					}
					break
				}
				_ = m.Ack(ctx)
				got = append(got, m)
				if string(m.Payload) == "plain" {
					break
				}
			}
			switch action {
			case stargate.CryptoFail:
				if cerr == nil || !errors.Is(cerr, stargate.ErrNoDecryptionKey) || cerr.Message.Encryption == nil {
					t.Fatalf("got %v, want a *CryptoError", cerr)
				}
				_ = cerr.Message.Ack(ctx)
				if m := e.receive(cons, 1, true, time.Minute); string(m[0].Payload) != "plain" {
					t.Fatalf("after the failure: %q", m[0].Payload)
				}
			case stargate.CryptoDiscard:
				if len(got) != 1 || string(got[0].Payload) != "plain" || cons.Stats().Discarded != 1 {
					t.Fatalf("got %d messages, stats %+v", len(got), cons.Stats())
				}
			case stargate.CryptoConsume:
				if len(got) != 2 || got[0].Encryption == nil || got[0].Encryption.Compression != stargate.CompressionLZ4 {
					t.Fatalf("got %v", got)
				}
				if out, err := stargate.Decrypt(got[0], right); err != nil || string(out[0].Payload) != "secret" {
					t.Fatalf("Decrypt: %v %v", out, err)
				}
			}
		})
	}
}
