package stargate

import (
	"encoding/json"
	"errors"
	"iter"
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

// Decode maps a message sequence (such as Consumer.Messages) to values
// decoded by codec; the codec comes first, as in Encode (and as the
// function comes first in iterator adapters such as x/exp/xiter.Map). A
// payload that does not decode ends the sequence with a
// *CodecError holding the message, so that the caller can Nack or Ack it;
// ranging the source again resumes after it.
func Decode[T any](codec Codec[T], seq iter.Seq2[Message, error]) iter.Seq2[Decoded[T], error] {
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
