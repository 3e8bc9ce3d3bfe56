package stargate

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stargate-go/stargate/internal/msgcrypto"
	"github.com/stargate-go/stargate/stargatetest"
)

func testKeys(t *testing.T) StaticKeyReader {
	t.Helper()
	pub, err := os.ReadFile("testdata/keys/rsa_pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	priv, err := os.ReadFile("testdata/keys/rsa_priv.pem")
	if err != nil {
		t.Fatal(err)
	}
	return StaticKeyReader{Public: map[string][]byte{"app": pub}, Private: map[string][]byte{"app": priv}}
}

func fakeEnv(t *testing.T) (*stargatetest.Server, *Client, context.Context) {
	srv := stargatetest.New(t, nil)
	c, err := NewClient(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return srv, c, ctx
}

// expireKey makes the producer's current data key due for rotation.
func expireKey(t *testing.T, p *Producer) {
	t.Helper()
	if err := p.sendLock.lock(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	p.crypto.cur.expires = time.Now().Add(-time.Second)
	p.sendLock.unlock()
}

func receiveN(t *testing.T, ctx context.Context, c *Consumer, n int) []Message {
	t.Helper()
	var out []Message
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatalf("after %d of %d: %v", len(out), n, err)
		}
		_ = m.Ack(ctx)
		out = append(out, m)
		if len(out) == n {
			break
		}
	}
	return out
}

// TestRotationReencryptsPending: messages still unacknowledged when the
// data key rotates are resent on the new connection encrypted with the new
// key, so every stored copy decrypts; the copies written before the
// rotation carry the old key.
func TestRotationReencryptsPending(t *testing.T) {
	srv, client, ctx := fakeEnv(t)
	kr := testKeys(t)
	const topic = "persistent://public/default/rotate-pending"
	raw, err := client.NewConsumer(ctx, topic, "raw", &ConsumerOptions{CryptoFailureAction: CryptoConsume})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	dec, err := client.NewConsumer(ctx, topic, "dec", &ConsumerOptions{KeyReader: kr})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	p, err := client.NewProducer(ctx, topic, &ProducerOptions{Compression: CompressionSnappy,
		Encryption: &ProducerEncryption{Keys: []string{"app"}, KeyReader: kr}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	srv.WithholdAcks(true)
	f0 := p.Send(ctx, Message{Payload: []byte("m0")})
	f1 := p.Send(ctx, Message{Payload: []byte("m1")})
	old := p.l.current()
	expireKey(t, p)
	// The drain cannot finish while acks are withheld: this Send's ctx ends
	// it, and the rotation goes on; m2 is held back from the old socket.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	f2 := p.Send(short, Message{Payload: []byte("m2")})
	cancel()
	if _, err := p.l.next(ctx, old); err != nil { // the new connection; the old one's acks are lost
		t.Fatal(err)
	}
	srv.WithholdAcks(false)
	for i, f := range []*SendFuture{f0, f1, f2} {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	st, err := srv.Stats(topic)
	if err != nil {
		t.Fatal(err)
	}
	n := int(st.MsgIn)
	if n != 5 { // m0 and m1 under the old key, then m0, m1 and m2 resent under the new one
		t.Fatalf("%d messages stored, want 5", n)
	}
	seen := map[string]bool{}
	for _, m := range receiveN(t, ctx, dec, n) { // every copy decrypts
		seen[string(m.Payload)] = true
	}
	if len(seen) != 3 {
		t.Fatalf("decrypted %v", seen)
	}
	var keys []string
	for _, m := range receiveN(t, ctx, raw, n) {
		keys = append(keys, string(m.Encryption.Keys["app"].Value))
	}
	if keys[0] != keys[1] || keys[2] != keys[3] || keys[3] != keys[4] || keys[1] == keys[2] {
		t.Fatal("want the first two copies under one data key and the last three under another")
	}
	if r := p.Stats().Reconnects; r != 1 {
		t.Fatalf("reconnects %d", r)
	}
}

// TestRotationDrains: without withheld acks, a rotation waits for the
// sends in flight, so nothing is stored twice.
func TestRotationDrains(t *testing.T) {
	srv, client, ctx := fakeEnv(t)
	kr := testKeys(t)
	const topic = "persistent://public/default/rotate-drain"
	p, err := client.NewProducer(ctx, topic, &ProducerOptions{Encryption: &ProducerEncryption{Keys: []string{"app"}, KeyReader: kr}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv.DelayAcks(50 * time.Millisecond)
	var futs []*SendFuture
	for i := range 6 {
		if i == 3 {
			expireKey(t, p)
		}
		futs = append(futs, p.Send(ctx, Message{Payload: []byte("m" + strconv.Itoa(i))}))
	}
	for _, f := range futs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := srv.Messages(topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 6 || p.Stats().Reconnects != 1 {
		t.Fatalf("%d stored, %d reconnects; want 6 and 1", len(msgs), p.Stats().Reconnects)
	}
}

// TestBatchSplitSharesAck: an encrypted, compressed batch container is
// split into its messages (a compacted-out one left out); the entry is
// acknowledged once all of them are, and a Nack of one nacks the entry.
func TestBatchSplitSharesAck(t *testing.T) {
	srv, client, ctx := fakeEnv(t)
	kr := testKeys(t)
	const topic = "persistent://public/default/batch-split"
	cons, err := client.NewConsumer(ctx, topic, "s", &ConsumerOptions{NackRedeliveryDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	if _, err := client.Produce(ctx, topic, nil, Message{Payload: []byte("entry")}); err != nil {
		t.Fatal(err)
	}
	entry := receiveNoAck(t, ctx, cons)

	// The container: three messages and a compacted-out one between them.
	var container []byte
	ev := time.UnixMilli(1700000000123)
	container = appendBatchEntry(container, &Message{Payload: []byte("a"), Key: "ka", Properties: map[string]string{"p": "1"}, EventTime: ev})
	container = appendBatchEntry(container, &Message{Payload: []byte("b")})
	compacted := appendBatchEntry(nil, &Message{Payload: []byte("gone")})
	// set compacted_out (field 4) in its metadata: size prefix + 2 bytes more
	md := append(compacted[4:len(compacted)-4:len(compacted)-4], 4<<3, 1)
	container = append(container, byte(0), byte(0), byte(0), byte(len(md)))
	container = append(container, md...)
	container = append(container, "gone"...)
	container = appendBatchEntry(container, &Message{Payload: []byte("c"), Key: "kc"})

	m := encryptFor(t, kr, entry, container, CompressionZLib, 4)
	out, err := newDecryptor(kr).open(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || string(out[0].Payload) != "a" || out[0].Key != "ka" || out[0].Properties["p"] != "1" ||
		!out[0].EventTime.Equal(ev) || string(out[1].Payload) != "b" || string(out[2].Payload) != "c" || out[2].Key != "kc" {
		t.Fatalf("split: %+v", out)
	}
	for i, want := range []int32{0, 1, 3} {
		if out[i].ID.BatchIndex != want || out[i].ID.BatchSize != 4 || out[i].ID.LedgerID != entry.ID.LedgerID || out[i].ID.EntryID != entry.ID.EntryID {
			t.Fatalf("message %d: ID %#v", i, out[i].ID)
		}
	}
	backlog := func() int64 {
		t.Helper()
		if _, err := cons.IsEndOfTopic(ctx); err != nil { // the server has read the acks before it
			t.Fatal(err)
		}
		st, err := srv.Stats(topic)
		if err != nil {
			t.Fatal(err)
		}
		return st.Subscriptions["s"].MsgBacklog
	}
	for _, m := range out[:2] {
		if err := m.Ack(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_ = out[0].Ack(ctx) // twice: still one share
	if b := backlog(); b != 1 {
		t.Fatalf("backlog %d after 2 of 3 acks, want 1", b)
	}
	if err := out[2].Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if b := backlog(); b != 0 {
		t.Fatalf("backlog %d after all acks, want 0", b)
	}

	// Nack of one message nacks the entry: it comes back.
	if _, err := client.Produce(ctx, topic, nil, Message{Payload: []byte("entry2")}); err != nil {
		t.Fatal(err)
	}
	entry2 := receiveNoAck(t, ctx, cons)
	out, err = newDecryptor(kr).open(encryptFor(t, kr, entry2, container, CompressionNone, 4))
	if err != nil {
		t.Fatal(err)
	}
	if err := out[1].Nack(ctx); err != nil {
		t.Fatal(err)
	}
	again := receiveNoAck(t, ctx, cons)
	if !again.ID.Equal(entry2.ID) {
		t.Fatalf("after a nack: %#v redelivered %d", again.ID, again.RedeliveryCount)
	}
	_ = again.Ack(ctx)

	// A container that does not match its batch size is corrupt.
	if _, err := newDecryptor(kr).open(encryptFor(t, kr, entry2, container, CompressionNone, 5)); !errors.Is(err, ErrCorruptMessage) {
		t.Fatalf("short container: %v", err)
	}
}

func receiveNoAck(t *testing.T, ctx context.Context, c *Consumer) Message {
	t.Helper()
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Fatal("no message")
	return Message{}
}

// encryptFor returns m with payload plain compressed with codec and
// encrypted for kr's "app" key, as a batched entry of n messages.
func encryptFor(t *testing.T, kr StaticKeyReader, m Message, plain []byte, codec CompressionType, n int) Message {
	t.Helper()
	key, _ := msgcrypto.NewDataKey(rand.Reader)
	iv, _ := msgcrypto.NewIV(rand.Reader)
	pub, err := msgcrypto.ParsePublicKey(kr.Public["app"])
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := msgcrypto.WrapKey(rand.Reader, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	z, err := compress(codec, plain)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := msgcrypto.Seal(key, iv, z)
	if err != nil {
		t.Fatal(err)
	}
	m.Payload = ct
	m.Encryption = &EncryptionContext{Keys: map[string]EncryptedDataKey{"app": {Value: wrapped}}, Param: iv,
		Compression: codec, UncompressedSize: len(plain), BatchSize: n}
	return m
}

// TestParseEncryptionContext: the shapes of encryptionContext that Pulsar
// versions send.
func TestParseEncryptionContext(t *testing.T) {
	base := `{"keys":{"app":{"keyValue":"AQID","metadata":{"v":"1"}}},"param":"BAUG","compressionType":"ZSTD","uncompressedMessageSize":42`
	cases := []struct {
		json  string
		batch int
		enc   *bool
		bad   bool
	}{
		{base + `,"batchSize":null}`, 0, nil, false},
		{base + `}`, 0, nil, false},
		{base + `,"batchSize":5}`, 5, nil, false},
		{base + `,"batchSize":{"empty":false,"present":true}}`, -1, nil, false},
		{base + `,"batchSize":{"empty":true,"present":false}}`, 0, nil, false},
		{base + `,"batchSize":1,"encrypted":true}`, 1, new(bool), false},
		{base + `,"batchSize":-2}`, 0, nil, true},
		{`{"compressionType":"BROTLI"}`, 0, nil, true},
	}
	for _, c := range cases {
		ec, err := parseEncryptionContext([]byte(c.json))
		if c.bad {
			if err == nil {
				t.Errorf("%s: no error", c.json)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		if ec.BatchSize != c.batch || ec.Compression != CompressionZSTD || ec.UncompressedSize != 42 ||
			!bytes.Equal(ec.Keys["app"].Value, []byte{1, 2, 3}) || ec.Keys["app"].Metadata["v"] != "1" ||
			!bytes.Equal(ec.Param, []byte{4, 5, 6}) || (ec.Encrypted == nil) != (c.enc == nil) {
			t.Errorf("%s: %+v", c.json, ec)
		}
	}
	// Both frame decoders carry it, the scanner and encoding/json.
	frame := `{"messageId":"CAEQAjAA","payload":"AAE=","properties":{},"publishTime":"2024-06-01T12:00:00Z","redeliveryCount":0,"encryptionContext":` + base + `,"batchSize":null}}`
	for _, f := range []string{frame, frame[:len(frame)-1] + ` }`, `{"key":"caf\u00e9",` + frame[1:]} {
		m, _, err := decodeInbound([]byte(f), Topic{})
		if err != nil || m.Encryption == nil || m.Encryption.UncompressedSize != 42 {
			t.Fatalf("%s: %+v %v", f, m.Encryption, err)
		}
	}
}
