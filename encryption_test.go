package stargate_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// keyPair reads testdata/keys/<name>_pub.pem and _priv.pem.
func keyPair(t *testing.T, name string) (pub, priv []byte) {
	t.Helper()
	var err error
	if pub, err = os.ReadFile(filepath.Join("testdata", "keys", name+"_pub.pem")); err != nil {
		t.Fatal(err)
	}
	if priv, err = os.ReadFile(filepath.Join("testdata", "keys", name+"_priv.pem")); err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// readerFor holds one key pair under the key name "app".
func readerFor(t *testing.T, name string) stargate.StaticKeyReader {
	pub, priv := keyPair(t, name)
	return stargate.StaticKeyReader{
		Public:   map[string][]byte{"app": pub},
		Private:  map[string][]byte{"app": priv},
		Metadata: map[string]string{"version": name},
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newFakeClient(t *testing.T) (*stargatetest.Server, *stargate.Client) {
	srv := stargatetest.New(t, nil)
	client, err := stargate.NewClient(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv, client
}

// take returns the next n messages of c, acknowledging each.
func take(t *testing.T, ctx context.Context, c *stargate.Consumer, n int) []stargate.Message {
	t.Helper()
	var out []stargate.Message
	if n == 0 {
		return nil
	}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		if err := m.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
		if len(out) == n {
			break
		}
	}
	return out
}

// TestEncryptionRoundTrip: for each key type and codec, what a producer
// with Encryption sends is stored encrypted (a consumer without a key
// reader gets ciphertext and its EncryptionContext), and a consumer with
// the private key gets the messages back, fields included; Decrypt does
// the same for the still encrypted copy.
func TestEncryptionRoundTrip(t *testing.T) {
	_, client := newFakeClient(t)
	ctx := testCtx(t)
	codecs := []stargate.CompressionType{stargate.CompressionNone, stargate.CompressionLZ4, stargate.CompressionZLib,
		stargate.CompressionZSTD, stargate.CompressionSnappy}
	for _, key := range []string{"rsa", "ec256", "ec521"} {
		for _, codec := range codecs {
			t.Run(key+"-"+codec.String(), func(t *testing.T) {
				kr := readerFor(t, key)
				topic := "e2e-" + key + "-" + codec.String()
				plainCons, err := client.NewConsumer(ctx, topic, "raw", &stargate.ConsumerOptions{CryptoFailureAction: stargate.CryptoConsume})
				if err != nil {
					t.Fatal(err)
				}
				defer plainCons.Close()
				cons, err := client.NewConsumer(ctx, topic, "dec", &stargate.ConsumerOptions{KeyReader: kr})
				if err != nil {
					t.Fatal(err)
				}
				defer cons.Close()
				p, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{
					Compression: codec,
					Encryption:  &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: kr},
				})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				var sent []stargate.Message
				for i := range 3 {
					m := stargate.Message{
						Payload:    bytes.Repeat([]byte("payload "+strconv.Itoa(i)+" "), 50+i),
						Key:        "k" + strconv.Itoa(i),
						Properties: map[string]string{"i": strconv.Itoa(i)},
						EventTime:  time.UnixMilli(1700000000000 + int64(i)),
					}
					if _, err := p.Send(ctx, m).Wait(ctx); err != nil {
						t.Fatal(err)
					}
					sent = append(sent, m)
				}
				got := take(t, ctx, cons, 3)
				raw := take(t, ctx, plainCons, 3)
				for i, m := range got {
					if !bytes.Equal(m.Payload, sent[i].Payload) || m.Key != sent[i].Key || m.Properties["i"] != strconv.Itoa(i) ||
						!m.EventTime.Equal(sent[i].EventTime) || m.Encryption != nil {
						t.Fatalf("message %d: got %q key %q props %v event %v enc %v", i, m.Payload, m.Key, m.Properties, m.EventTime, m.Encryption)
					}
					r := raw[i]
					if r.Encryption == nil || bytes.Contains(r.Payload, []byte("payload")) {
						t.Fatalf("raw message %d: not encrypted: enc %v", i, r.Encryption)
					}
					ec := r.Encryption
					if ec.Compression != codec || len(ec.Param) != 12 || ec.Keys["app"].Metadata["version"] != key || len(ec.Keys["app"].Value) == 0 {
						t.Fatalf("raw message %d: context %+v", i, ec)
					}
					if codec != stargate.CompressionNone && ec.UncompressedSize != len(sent[i].Payload) {
						t.Fatalf("UncompressedSize %d, want %d", ec.UncompressedSize, len(sent[i].Payload))
					}
					dec, err := stargate.Decrypt(r, kr)
					if err != nil {
						t.Fatal(err)
					}
					if len(dec) != 1 || !bytes.Equal(dec[0].Payload, sent[i].Payload) || dec[0].Encryption != nil {
						t.Fatalf("Decrypt: %v", dec)
					}
				}
			})
		}
	}
}

// TestEncryptionBadInput: bad encryption options are *ArgErrors naming
// the field, returned before anything is dialled (the client's URL has no
// server: a dial would fail otherwise).
func TestEncryptionBadInput(t *testing.T) {
	client, err := stargate.NewClient("ws://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	kr := readerFor(t, "rsa")
	garbage := stargate.StaticKeyReader{Public: map[string][]byte{"app": []byte("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")}}
	cases := []struct {
		name  string
		field string
		opts  stargate.ProducerOptions
	}{
		{"no keys", "ProducerOptions.Encryption.Keys", stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{KeyReader: kr}}},
		{"empty key name", "ProducerOptions.Encryption.Keys", stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{""}, KeyReader: kr}}},
		{"nil KeyReader", "ProducerOptions.Encryption.KeyReader", stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}}}},
		{"unknown key name", "ProducerOptions.Encryption.KeyReader", stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{"nope"}, KeyReader: kr}}},
		{"unreadable PEM", "ProducerOptions.Encryption.KeyReader", stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: garbage}}},
		{"missing file", "ProducerOptions.Encryption.KeyReader", stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{"app"},
			KeyReader: stargate.FileKeyReader{PublicKeyPath: filepath.Join(t.TempDir(), "missing.pem")}}}},
		{"private key as public", "ProducerOptions.Encryption.KeyReader", stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{"app"},
			KeyReader: stargate.StaticKeyReader{Public: kr.Private}}}},
		{"short rotation", "ProducerOptions.Encryption.RotateEvery", stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: kr, RotateEvery: time.Millisecond}}},
		{"negative rotation", "ProducerOptions.Encryption.RotateEvery", stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: kr, RotateEvery: -time.Second}}},
		{"with batching", "ProducerOptions.Batching", stargate.ProducerOptions{Batching: true, Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: kr}}},
		{"with EncryptionKeys", "ProducerOptions.EncryptionKeys", stargate.ProducerOptions{EncryptionKeys: []string{"srv"}, Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: kr}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.NewProducer(ctx, "t", &c.opts)
			var ae *stargate.ArgError
			if !errors.As(err, &ae) || ae.Arg != c.field || !errors.Is(err, stargate.ErrInvalidArgument) {
				t.Fatalf("got %v, want an *ArgError for %s", err, c.field)
			}
		})
	}
	if _, err := stargate.Decrypt(stargate.Message{}, nil); !errors.Is(err, stargate.ErrInvalidArgument) {
		t.Fatalf("Decrypt with a nil reader: %v", err)
	}
}

// TestDecryptFailureActions: a message encrypted for another key follows
// the consumer's CryptoFailureAction, with a *CryptoError where one is
// reported; the consumer stays usable.
func TestDecryptFailureActions(t *testing.T) {
	_, client := newFakeClient(t)
	ctx := testCtx(t)
	right := readerFor(t, "rsa")
	wrong := readerFor(t, "other_rsa") // the same key name, another key pair
	for _, action := range []stargate.CryptoFailureAction{stargate.CryptoFail, stargate.CryptoDiscard, stargate.CryptoConsume} {
		t.Run(action.String(), func(t *testing.T) {
			topic := "e2e-fail-" + action.String()
			cons, err := client.NewConsumer(ctx, topic, "s", &stargate.ConsumerOptions{KeyReader: wrong, CryptoFailureAction: action})
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Close()
			enc := &stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: right}}
			if _, err := client.Produce(ctx, topic, enc, stargate.Message{Payload: []byte("secret")}); err != nil {
				t.Fatal(err)
			}
			// A plain message after it: messages that were not encrypted pass.
			if _, err := client.Produce(ctx, topic, nil, stargate.Message{Payload: []byte("plain")}); err != nil {
				t.Fatal(err)
			}
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
				if len(got) == 2 || string(m.Payload) == "plain" {
					break
				}
			}
			switch action {
			case stargate.CryptoFail:
				if cerr == nil || !errors.Is(cerr, stargate.ErrCrypto) || !errors.Is(cerr, stargate.ErrNoDecryptionKey) ||
					cerr.Message.Encryption == nil || cerr.Message.ID.IsZero() {
					t.Fatalf("got %v, want a *CryptoError for the wrong key", cerr)
				}
				if err := cerr.Message.Ack(ctx); err != nil {
					t.Fatal(err)
				}
				rest := take(t, ctx, cons, 1) // ranging again goes on
				if string(rest[0].Payload) != "plain" {
					t.Fatalf("after the failure: %q", rest[0].Payload)
				}
			case stargate.CryptoDiscard:
				if cerr != nil || len(got) != 1 || string(got[0].Payload) != "plain" {
					t.Fatalf("got %v %v, want only the plain message", got, cerr)
				}
				if st := cons.Stats(); st.Discarded != 1 || st.CryptoFailed != 1 {
					t.Fatalf("stats: %+v", st)
				}
			case stargate.CryptoConsume:
				if cerr != nil || len(got) != 2 || got[0].Encryption == nil || string(got[0].Payload) == "secret" || string(got[1].Payload) != "plain" {
					t.Fatalf("got %v %v, want the encrypted message then the plain one", got, cerr)
				}
				dec, err := stargate.Decrypt(got[0], right)
				if err != nil || string(dec[0].Payload) != "secret" {
					t.Fatalf("Decrypt with the right key: %v %v", dec, err)
				}
				// Corrupted ciphertext: authentication fails.
				bad := got[0]
				bad.Payload = bytes.Clone(bad.Payload)
				bad.Payload[0] ^= 1
				if _, err := stargate.Decrypt(bad, right); !errors.Is(err, stargate.ErrCorruptMessage) {
					t.Fatalf("corrupt payload: %v", err)
				}
			}
		})
	}
}

// TestEncryptedWithoutKeyReader: a consumer without a KeyReader and with
// the server's default CryptoFail does not get encrypted messages (the
// server cannot decrypt them and withholds them); with CryptoDiscard the
// server drops them.
func TestEncryptedWithoutKeyReader(t *testing.T) {
	_, client := newFakeClient(t)
	ctx := testCtx(t)
	kr := readerFor(t, "rsa")
	cons, err := client.NewConsumer(ctx, "e2e-srv-discard", "s", &stargate.ConsumerOptions{CryptoFailureAction: stargate.CryptoDiscard})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	enc := &stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: kr}}
	if _, err := client.Produce(ctx, "e2e-srv-discard", enc, stargate.Message{Payload: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Produce(ctx, "e2e-srv-discard", nil, stargate.Message{Payload: []byte("plain")}); err != nil {
		t.Fatal(err)
	}
	if got := take(t, ctx, cons, 1); string(got[0].Payload) != "plain" {
		t.Fatalf("got %q", got[0].Payload)
	}
}
