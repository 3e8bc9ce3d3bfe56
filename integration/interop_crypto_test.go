package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// End-to-end encryption between stargate (WebSocket API, client-side
// encryption) and Pulsar's official clients (binary protocol, Java 4.0.8 and
// Python 3.13.0) through Pulsar 4.0.8: each side decrypts what the other
// encrypted, with RSA and EC keys made by openssl, every compression codec,
// batched and not, across key rotations; and a stargate consumer with the
// wrong key follows its CryptoFailureAction. The Python client encrypts with
// RSA keys only (its C++ core has no EC), so it is tested with RSA.

var interopCodecs = []stargate.CompressionType{stargate.CompressionNone, stargate.CompressionLZ4,
	stargate.CompressionZLib, stargate.CompressionZSTD, stargate.CompressionSnappy}

func officialFor(t *testing.T, name string) officialClient {
	t.Helper()
	if name == "java" {
		return javaClient(t)
	}
	return pythonClient(t)
}

// interopMessages makes n messages with binary, compressible payloads; some
// lack a key, properties or an event time, so that absence is compared too.
func interopMessages(prefix string, n int) []stargate.Message {
	msgs := make([]stargate.Message, n)
	for i := range msgs {
		m := stargate.Message{
			Payload:    append([]byte(prefix+" "+strconv.Itoa(i)+" "), bytes.Repeat([]byte{byte(i), 0, 0xff, 'x', '\n'}, 60)...),
			Key:        prefix + "-k" + strconv.Itoa(i),
			Properties: map[string]string{"i": strconv.Itoa(i), "from": prefix, "ünïcode": "✓"},
			EventTime:  time.UnixMilli(1700000000000 + int64(i)*1001),
		}
		switch i % 5 {
		case 2:
			m.Key = ""
		case 3:
			m.Properties = nil
		case 4:
			m.EventTime = time.Time{}
		}
		msgs[i] = m
	}
	return msgs
}

// TestInteropStargateToOfficial: a stargate producer encrypts, the Java and
// Python consumers decrypt every message, fields intact, none twice.
func TestInteropStargateToOfficial(t *testing.T) {
	for _, tool := range []string{"java", "python"} {
		t.Run(tool, func(t *testing.T) {
			oc := officialFor(t, tool)
			for _, kind := range []string{"rsa", "ec"} {
				if kind == "ec" && !oc.ec {
					continue
				}
				k := genKeys(t, kind, "v1")
				for _, codec := range interopCodecs {
					t.Run(kind+"-"+codec.String(), func(t *testing.T) {
						e := plain(t)
						topic := dockertest.UniqueTopic(t)
						p := e.producer(topic, &stargate.ProducerOptions{Compression: codec,
							Encryption: &stargate.ProducerEncryption{Keys: []string{keyName}, KeyReader: newVersionedKeys(k)}})
						sent := interopMessages("sg-"+kind, 7)
						e.sendAll(p, sent...)
						got := oc.consume(t, e.ctx, e.broker.ServiceURL, topic, "official", len(sent), time.Second, k)
						if len(got) != len(sent) {
							t.Fatalf("%s consumer got %d messages, want %d", tool, len(got), len(sent))
						}
						for i := range sent {
							if err := sameOfficial(got[i], sent[i]); err != nil {
								t.Fatalf("message %d: %v", i, err)
							}
						}
					})
				}
			}
		})
	}
}

// TestInteropOfficialToStargate: the Java and Python producers encrypt,
// batched and not, and a stargate consumer with a KeyReader decrypts,
// decompresses and splits every message, fields intact, none twice.
func TestInteropOfficialToStargate(t *testing.T) {
	for _, tool := range []string{"java", "python"} {
		t.Run(tool, func(t *testing.T) {
			oc := officialFor(t, tool)
			for _, kind := range []string{"rsa", "ec"} {
				if kind == "ec" && !oc.ec {
					continue
				}
				k := genKeys(t, kind, "v1")
				for _, codec := range interopCodecs {
					for _, batching := range []bool{false, true} {
						t.Run(fmt.Sprintf("%s-%s-batching=%v", kind, codec, batching), func(t *testing.T) {
							e := plain(t)
							topic := dockertest.UniqueTopic(t)
							c := e.consumer(topic, "sg", &stargate.ConsumerOptions{KeyReader: newVersionedKeys(k)})
							sent := interopMessages(tool+"-"+kind, 7)
							oc.produce(t, e.ctx, e.broker.ServiceURL, topic, k, codec, batching, sent)
							got := e.receive(c, len(sent), true, 2*time.Minute)
							batched := 0
							for i := range sent {
								if err := sameStargate(got[i], sent[i]); err != nil {
									t.Fatalf("message %d (%v): %v", i, got[i].ID, err)
								}
								if got[i].ID.BatchIndex >= 0 {
									batched++
								}
							}
							if want := map[bool]int{true: len(sent), false: 0}[batching]; batched != want {
								// the tools flush one batch of their whole input
								t.Fatalf("batching %v, but %d of %d messages came from batches", batching, batched, len(sent))
							}
							e.none(c, time.Second)
						})
					}
				}
			}
		})
	}
}

// TestInteropRotationStargateToJava: a stargate producer rotating its data
// key (RotateEvery) while its key reader moves from key v1 to v2; the Java
// consumer, with both private keys, decrypts every message.
func TestInteropRotationStargateToJava(t *testing.T) {
	oc := javaClient(t)
	for _, kind := range []string{"rsa", "ec"} {
		t.Run(kind, func(t *testing.T) {
			e := plain(t)
			v1, v2 := genKeys(t, kind, "v1"), genKeys(t, kind, "v2")
			kr := newVersionedKeys(v1, v2)
			topic := dockertest.UniqueTopic(t)
			raw := e.consumer(topic, "raw", &stargate.ConsumerOptions{CryptoFailureAction: stargate.CryptoConsume})
			const rotate = time.Second
			p := e.producer(topic, &stargate.ProducerOptions{Compression: stargate.CompressionLZ4,
				Encryption: &stargate.ProducerEncryption{Keys: []string{keyName}, KeyReader: kr, RotateEvery: rotate}})
			start := time.Now()
			sent := interopMessages("rot-"+kind, 8)
			e.sendAll(p, sent[:4]...)
			kr.use("v2")
			time.Sleep(time.Until(start.Add(rotate + 100*time.Millisecond))) // the data key's age is what is tested
			e.sendAll(p, sent[4:]...)

			got := oc.consume(t, e.ctx, e.broker.ServiceURL, topic, "official", len(sent), time.Second, v1, v2)
			if len(got) != len(sent) {
				t.Fatalf("java consumer got %d messages, want %d", len(got), len(sent))
			}
			for i := range sent {
				if err := sameOfficial(got[i], sent[i]); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			// The stored messages name the key version they were encrypted for.
			for i, m := range e.receive(raw, len(sent), true, time.Minute) {
				want := "v1"
				if i >= 4 {
					want = "v2"
				}
				if m.Encryption == nil || m.Encryption.Keys[keyName].Metadata["version"] != want {
					t.Fatalf("stored message %d: context %+v, want key version %s", i, m.Encryption, want)
				}
			}
		})
	}
}

// TestInteropRotationJavaToStargate: Java producers with key v1, then v2;
// one stargate consumer decrypts all, choosing the private key by the
// version metadata each message carries.
func TestInteropRotationJavaToStargate(t *testing.T) {
	oc := javaClient(t)
	for _, kind := range []string{"rsa", "ec"} {
		t.Run(kind, func(t *testing.T) {
			e := plain(t)
			v1, v2 := genKeys(t, kind, "v1"), genKeys(t, kind, "v2")
			topic := dockertest.UniqueTopic(t)
			c := e.consumer(topic, "sg", &stargate.ConsumerOptions{KeyReader: newVersionedKeys(v1, v2)})
			sent := interopMessages("jrot-"+kind, 8)
			oc.produce(t, e.ctx, e.broker.ServiceURL, topic, v1, stargate.CompressionZSTD, true, sent[:4])
			oc.produce(t, e.ctx, e.broker.ServiceURL, topic, v2, stargate.CompressionNone, false, sent[4:])
			got := e.receive(c, len(sent), true, 2*time.Minute)
			for i := range sent {
				if err := sameStargate(got[i], sent[i]); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			e.none(c, time.Second)
		})
	}
}

// TestInteropWrongKeyStargate: Java-encrypted messages reach a stargate
// consumer whose key reader has the wrong private key. FAIL yields a
// *CryptoError per entry and delivers nothing, DISCARD drops and counts
// them, CONSUME delivers them still encrypted; in every case the entries the
// consumer could not decrypt decrypt with the right key (Decrypt) to exactly
// what Java sent, and a plain message sent after them arrives next.
func TestInteropWrongKeyStargate(t *testing.T) {
	oc := javaClient(t)
	right, wrong := genKeys(t, "rsa", "v1"), genKeys(t, "rsa", "v1")
	rightKeys := newVersionedKeys(right)
	actions := []stargate.CryptoFailureAction{stargate.CryptoFail, stargate.CryptoDiscard, stargate.CryptoConsume}
	for _, action := range actions {
		for _, batching := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-batching=%v", action, batching), func(t *testing.T) {
				e := plain(t)
				topic := dockertest.UniqueTopic(t)
				c := e.consumer(topic, "sg", &stargate.ConsumerOptions{KeyReader: newVersionedKeys(wrong), CryptoFailureAction: action})
				sent := interopMessages("wrong", 5)
				oc.produce(t, e.ctx, e.broker.ServiceURL, topic, right, stargate.CompressionLZ4, batching, sent)
				plainP := e.producer(topic, nil)
				e.sendAll(plainP, stargate.Message{Payload: []byte("end")})

				ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
				defer cancel()
				var undecrypted []stargate.Message // entries the consumer could not decrypt
				for end := false; !end; {
					for m, err := range c.Messages(ctx) {
						if err != nil {
							var ce *stargate.CryptoError
							if action != stargate.CryptoFail || !errors.As(err, &ce) || !errors.Is(err, stargate.ErrNoDecryptionKey) ||
								!errors.Is(err, stargate.ErrCrypto) || ce.Message.Encryption == nil {
								t.Fatalf("%s: error %v", action, err)
							}
							undecrypted = append(undecrypted, ce.Message)
							break // ranging again goes on with the next message
						}
						if err := m.Ack(ctx); err != nil {
							t.Fatal(err)
						}
						if string(m.Payload) == "end" && m.Encryption == nil {
							end = true
							break
						}
						if action != stargate.CryptoConsume || m.Encryption == nil {
							t.Fatalf("%s: delivered %q (context %+v)", action, m.Payload, m.Encryption)
						}
						undecrypted = append(undecrypted, m)
					}
				}
				st := c.Stats()
				switch {
				case action == stargate.CryptoDiscard && (len(undecrypted) != 0 || st.Discarded == 0 || st.Discarded != st.CryptoFailed):
					t.Fatalf("DISCARD: %d undecrypted delivered, stats %+v", len(undecrypted), st)
				case action != stargate.CryptoDiscard && (len(undecrypted) == 0 || int64(len(undecrypted)) != st.CryptoFailed || st.Discarded != 0):
					t.Fatalf("%s: %d undecrypted entries, stats %+v", action, len(undecrypted), st)
				}
				entries := len(sent) // the Java tool batches its whole input in one entry
				if batching {
					entries = 1
				}
				if action != stargate.CryptoDiscard && len(undecrypted) != entries {
					t.Fatalf("%s: %d undecrypted entries, want %d", action, len(undecrypted), entries)
				}
				if action == stargate.CryptoDiscard && st.Discarded != int64(entries) {
					t.Fatalf("DISCARD: %d entries discarded, want %d", st.Discarded, entries)
				}
				for _, m := range undecrypted {
					if want := map[bool]int{true: len(sent), false: 0}[batching]; m.Encryption.BatchSize != want {
						t.Fatalf("%s: undecrypted entry's BatchSize %d, want %d", action, m.Encryption.BatchSize, want)
					}
				}
				var decrypted []stargate.Message
				for _, m := range undecrypted {
					if _, err := stargate.Decrypt(m, newVersionedKeys(wrong)); !errors.Is(err, stargate.ErrNoDecryptionKey) {
						t.Fatalf("Decrypt with the wrong key: %v", err)
					}
					out, err := stargate.Decrypt(m, rightKeys)
					if err != nil {
						t.Fatalf("Decrypt with the right key: %v", err)
					}
					decrypted = append(decrypted, out...)
				}
				if action == stargate.CryptoDiscard {
					return
				}
				if len(decrypted) != len(sent) {
					t.Fatalf("%d messages decrypted from %d entries, want %d", len(decrypted), len(undecrypted), len(sent))
				}
				for i := range sent {
					if err := sameStargate(decrypted[i], sent[i]); err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
				}
			})
		}
	}
}
