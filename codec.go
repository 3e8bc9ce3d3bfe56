package stargate

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"time"
	"unicode/utf8"
)

// Codec converts values of type T to and from message payloads. JSON and
// String are provided; any type with these two methods fits, e.g. one that
// wraps a protobuf or Avro marshaller.
type Codec[T any] interface {
	Encode(v T) ([]byte, error)
	Decode(payload []byte) (T, error)
}

// JSON is the Codec of values encoded with encoding/json.
type JSON[T any] struct{}

// Encode marshals v.
func (JSON[T]) Encode(v T) ([]byte, error) { return json.Marshal(v) }

// Decode unmarshals payload.
func (JSON[T]) Decode(payload []byte) (T, error) {
	var v T
	err := json.Unmarshal(payload, &v)
	return v, err
}

// String is the Codec of UTF-8 text payloads.
type String struct{}

// Encode returns s's bytes.
func (String) Encode(s string) ([]byte, error) { return []byte(s), nil }

// Decode returns payload as a string; it fails on invalid UTF-8.
func (String) Decode(payload []byte) (string, error) {
	if !utf8.Valid(payload) {
		return "", errors.New("payload is not valid UTF-8")
	}
	return string(payload), nil
}

// Encode returns m with its payload set to v encoded by codec. Key,
// properties and the other fields of m are kept.
func Encode[T any](codec Codec[T], v T, m Message) (Message, error) {
	b, err := codec.Encode(v)
	if err != nil {
		return Message{}, &CodecError{Err: err}
	}
	m.Payload = b
	return m, nil
}

// Decoded is a message together with its decoded payload.
type Decoded[T any] struct {
	Message
	Value T
}

// Decode maps a message sequence (such as Consumer.Messages) to decoded
// values. A payload that does not decode ends the sequence with a
// *CodecError holding the message, so that the caller can Nack or Ack it;
// ranging the source again resumes after it.
func Decode[T any](seq iter.Seq2[Message, error], codec Codec[T]) iter.Seq2[Decoded[T], error] {
	return func(yield func(Decoded[T], error) bool) {
		for m, err := range seq {
			if err != nil {
				yield(Decoded[T]{}, err)
				return
			}
			v, err := codec.Decode(m.Payload)
			if err != nil {
				yield(Decoded[T]{}, &CodecError{Message: m, Err: err})
				return
			}
			if !yield(Decoded[T]{Message: m, Value: v}, nil) {
				return
			}
		}
	}
}

// CodecError reports a payload that a Codec could not encode or decode.
// When decoding, Message is the message whose payload failed.
type CodecError struct {
	Message Message
	Err     error
}

// Error describes the codec failure.
func (e *CodecError) Error() string { return "stargate: codec: " + e.Err.Error() }

// Unwrap returns the codec's error.
func (e *CodecError) Unwrap() error { return e.Err }

// batchPrealloc caps the capacity a batch starts with; larger batches grow
// as messages arrive.
const batchPrealloc = 1024

// batches groups what take returns into slices of at most size messages,
// yielding a batch when it is full or wait after its first message.
func batches(ctx context.Context, size int, wait time.Duration, guard *inbox, take func(context.Context) (Message, error)) iter.Seq2[[]Message, error] {
	return func(yield func([]Message, error) bool) {
		if size < 1 || wait <= 0 {
			yield(nil, argErr("batch", "", "size must be at least 1 and wait positive"))
			return
		}
		if !guard.ranging.CompareAndSwap(false, true) {
			yield(nil, ErrConcurrentIteration)
			return
		}
		defer guard.ranging.Store(false)
		for {
			first, err := take(ctx)
			if err != nil {
				if err != errEndOfTopic {
					yield(nil, err)
				}
				return
			}
			// size bounds the batch; only what arrives is allocated (a size
			// of a billion must not reserve a billion messages).
			batch := append(make([]Message, 0, min(size, batchPrealloc)), first)
			bctx, cancel := context.WithTimeout(ctx, wait)
			for len(batch) < size {
				m, err := take(bctx)
				if err != nil {
					if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
						break // the batch's time is up
					}
					cancel()
					if !yield(batch, nil) {
						return
					}
					if err != errEndOfTopic {
						yield(nil, err)
					}
					return
				}
				batch = append(batch, m)
			}
			cancel()
			if !yield(batch, nil) {
				return
			}
		}
	}
}

// Batches is Messages grouped into slices of at most size messages: a batch
// is yielded when it is full or wait after its first message arrived,
// whichever comes first. The contract of Messages applies; each message
// must still be acknowledged.
func (c *Consumer) Batches(ctx context.Context, size int, wait time.Duration) iter.Seq2[[]Message, error] {
	return batches(ctx, size, wait, &c.inbox, func(ctx context.Context) (Message, error) {
		c.demand()
		m, err := c.next(ctx, 0)
		if err == nil {
			c.taken(m)
		}
		return m, err
	})
}

// Batches is Messages grouped into slices of at most size messages, as
// Consumer.Batches.
func (r *Reader) Batches(ctx context.Context, size int, wait time.Duration) iter.Seq2[[]Message, error] {
	return batches(ctx, size, wait, &r.inbox, r.take)
}
