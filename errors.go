package stargate

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Sentinel errors. Each one is matched with errors.Is; the typed errors
// below match the sentinels that describe them.
var (
	// ErrClosed is returned by every method of a handle after Close, by the
	// futures of sends still pending at Close, and as the last error of a
	// Messages sequence ended by Close.
	ErrClosed = errors.New("stargate: closed")

	// ErrConcurrentIteration is yielded, once, by a Messages sequence that is
	// ranged while another range over the same handle is in progress.
	ErrConcurrentIteration = errors.New("stargate: Messages is already being ranged")

	// ErrInvalidMessage is returned by Ack and Nack on a Message that was not
	// delivered by a Consumer (the zero Message, or one built by hand).
	ErrInvalidMessage = errors.New("stargate: message was not delivered by a consumer")

	// ErrInvalidArgument is matched by every *ArgError: bad input detected
	// before anything was sent.
	ErrInvalidArgument = errors.New("stargate: invalid argument")

	// ErrSendTimeout completes the future of a send that got no
	// acknowledgement within ProducerOptions.SendTimeout, for example while
	// the connection was down.
	ErrSendTimeout = errors.New("stargate: send timed out")

	// ErrTopicTerminated means the topic was terminated (pulsar-admin topics
	// terminate): it accepts no more messages, ever. It is matched by the
	// *ConnectError of a producer refused with 503 for that reason and by
	// the *SendError of a send the broker refused for it (IsRetryable
	// reports false), and it completes the futures of the messages still
	// pending and of every later Send. A producer on a terminated topic
	// therefore ends instead of redialling or resending; consumers and
	// readers are unaffected (they read to the end, see IsEndOfTopic).
	ErrTopicTerminated = errors.New("stargate: topic terminated")

	// ErrMessageTooLarge ends a consumer or reader that was sent a message
	// over ClientOptions.MaxMessageSize: the client closed the connection
	// (1009), and the broker would redeliver the message on every reconnect.
	// Raise MaxMessageSize to read it.
	ErrMessageTooLarge = errors.New("stargate: message from the server over ClientOptions.MaxMessageSize")

	// The following are matched by a *ConnectError with the HTTP status the
	// server refused the WebSocket upgrade with.

	// ErrBadRequest: 400, a query parameter or path the server rejected.
	ErrBadRequest = errors.New("stargate: bad request")
	// ErrUnauthorized: 401, missing or invalid credentials.
	ErrUnauthorized = errors.New("stargate: unauthorized")
	// ErrForbidden: 403, the role may not use the topic.
	ErrForbidden = errors.New("stargate: forbidden")
	// ErrTopicNotFound: 404, the topic does not exist and auto-creation is off.
	ErrTopicNotFound = errors.New("stargate: topic not found")
	// ErrBusy: 409, producer name taken, exclusive subscription held, producer fenced.
	ErrBusy = errors.New("stargate: busy")
	// ErrTooManyRequests: 429.
	ErrTooManyRequests = errors.New("stargate: too many requests")
	// ErrServer: any 5xx status.
	ErrServer = errors.New("stargate: server error")
)

// IsRetryable reports whether trying the failed operation again later may
// succeed: a connection refused with 409, 429 or a 5xx (a *ConnectError;
// not the 503 of a terminated topic), a send the broker failed with
// send-error:8 (a *SendError: a broker timeout, a full queue, a moving
// topic; not a terminated topic), a forward proxy that could not be
// reached or answered 408, 429 or a 5xx (a *ProxyError; not 407 or another
// 4xx refusal), an admin REST call of Seek or StartTime refused with 409,
// 429 or a 5xx (a *RESTError), and ErrSendTimeout. A resent message may
// have been stored already: delivery stays at-least-once. Bad input, a
// refused authentication, a missing topic, a terminated topic, ErrClosed
// and ctx's errors are not retryable.
func IsRetryable(err error) bool {
	var ce *ConnectError
	if errors.As(err, &ce) {
		return ce.temporary()
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.temporary()
	}
	var pe *ProxyError
	if errors.As(err, &pe) {
		return pe.temporary()
	}
	var re *RESTError
	if errors.As(err, &re) {
		return (&ConnectError{StatusCode: re.StatusCode, Message: re.Message}).temporary()
	}
	return errors.Is(err, ErrSendTimeout)
}

// ArgError reports bad input, detected before anything was sent: a malformed
// topic name, an option out of range, an unknown enum value, a payload that
// cannot fit the server's frame limit. It matches ErrInvalidArgument.
type ArgError struct {
	Arg    string // what was wrong, e.g. "topic", "ProducerOptions.BatchingMaxMessages"
	Value  string // the offending value, when it is short enough to show
	Reason string // why it is wrong
}

// Error names the argument, its value and the reason.
func (e *ArgError) Error() string {
	if e.Value == "" {
		return "stargate: invalid " + e.Arg + ": " + e.Reason
	}
	return fmt.Sprintf("stargate: invalid %s %q: %s", e.Arg, e.Value, e.Reason)
}

// Is reports whether target is ErrInvalidArgument.
func (e *ArgError) Is(target error) bool { return target == ErrInvalidArgument }

func argErr(arg, value, reason string) error {
	if len(value) > 80 {
		value = value[:77] + "..."
	}
	return &ArgError{Arg: arg, Value: value, Reason: reason}
}

// ConnectError reports that the server refused the WebSocket upgrade with an
// HTTP status. Pulsar creates the producer, consumer or reader during the
// upgrade, so this is how it reports every creation failure. It matches the
// sentinel for its status: ErrBadRequest, ErrUnauthorized, ErrForbidden,
// ErrTopicNotFound, ErrBusy, ErrTooManyRequests or ErrServer; a 503 for a
// terminated topic also matches ErrTopicTerminated.
type ConnectError struct {
	StatusCode int    // the HTTP status, e.g. 409
	Message    string // the server's explanation, from the response body
	Path       string // the endpoint path; the query (which may hold a token) is never included
}

// Error gives the endpoint, the status and the server's message.
func (e *ConnectError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return "stargate: " + e.Path + ": server refused the connection: " + strconv.Itoa(e.StatusCode) + " " + msg
}

// Is matches the sentinel for the status code, and ErrTopicTerminated for
// a terminated topic.
func (e *ConnectError) Is(target error) bool {
	if target == ErrTopicTerminated {
		return e.terminated()
	}
	switch e.StatusCode {
	case http.StatusBadRequest:
		return target == ErrBadRequest
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusNotFound:
		return target == ErrTopicNotFound
	case http.StatusConflict:
		return target == ErrBusy
	case http.StatusTooManyRequests:
		return target == ErrTooManyRequests
	}
	return e.StatusCode >= 500 && target == ErrServer
}

// temporary reports whether dialling again later may succeed: true for
// 409, 429 and 5xx, false for 400, 401, 403 and 404, and for a 503 because
// the topic was terminated.
func (e *ConnectError) temporary() bool {
	if e.terminated() {
		return false
	}
	return e.StatusCode == http.StatusConflict || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// terminated reports a refusal because the topic was terminated. Pulsar
// 4.0.8 answers a producer on a terminated topic with 503 and the body
// "Failed to create producer/consumer: {"errorMsg":"org.apache.pulsar.broker.
// service.BrokerServiceException$TopicTerminatedException: Topic was already
// terminated","reqId":…}" (conformance case EndOfTopic); the status alone is
// shared with a producer blocked by a backlog quota.
func (e *ConnectError) terminated() bool {
	return e.StatusCode == http.StatusServiceUnavailable && strings.Contains(e.Message, topicTerminatedException)
}

// topicTerminatedException is the Java exception class name, without its
// package (PulsarClientException$… on sends, BrokerServiceException$… on
// creation), that the server puts in its message for a terminated topic.
const topicTerminatedException = "TopicTerminatedException"

// SendError is the server's refusal of one message: the "send-error:N"
// result of a producer acknowledgement.
type SendError struct {
	Code int    // Pulsar's WebSocketError code: 3 bad JSON, 7 bad payload encoding, 8 the broker's send failed
	Msg  string // the server's errorMsg, usually a Java exception text
}

// Error gives the result code and the server's message.
func (e *SendError) Error() string {
	if e.Msg == "" {
		return "stargate: send-error:" + strconv.Itoa(e.Code)
	}
	return "stargate: send-error:" + strconv.Itoa(e.Code) + ": " + e.Msg
}

// temporary reports whether sending the same message again may succeed.
// Code 8 (the broker's send failed: timeout, full queue, a moving topic) may
// be transient, unless the topic was terminated; 3 and 7 mean the frame
// itself was bad and will fail again.
func (e *SendError) temporary() bool { return e.Code == 8 && !e.terminated() }

// Is matches ErrTopicTerminated when the broker refused the message because
// the topic was terminated: Pulsar 4.0.8 answers send-error:8 with
// "org.apache.pulsar.client.api.PulsarClientException$TopicTerminatedException:
// Topic was terminated" (conformance case EndOfTopic).
func (e *SendError) Is(target error) bool { return target == ErrTopicTerminated && e.terminated() }

func (e *SendError) terminated() bool {
	return e.Code == 8 && strings.Contains(e.Msg, topicTerminatedException)
}

// CloseError reports that the server closed the WebSocket with a close
// frame, e.g. 1009 for a message over its size limit or 1011 for an
// internal error. Handles reconnect after a close, except a producer after
// 1009: its pending and later sends fail with the CloseError (see
// ProducerOptions.MaxFrameSize).
type CloseError struct {
	Code   int
	Reason string
}

// Error gives the close code and reason.
func (e *CloseError) Error() string {
	if e.Reason == "" {
		return "stargate: connection closed by server: code " + strconv.Itoa(e.Code)
	}
	return "stargate: connection closed by server: code " + strconv.Itoa(e.Code) + ": " + e.Reason
}

// ProtocolError reports a frame from the server that the client could not
// understand. A message frame a consumer or reader cannot decode ends the
// handle and its Messages sequence with it (skipping the frame would lose
// the message silently; a server that speaks another protocol will not
// start making sense on reconnect). A producer acknowledgement whose
// message ID cannot be decoded completes that send's future with it.
// Frames of an unknown type, and producer frames that name no send, are
// ignored (logged when ClientOptions.Logger is set).
type ProtocolError struct {
	Frame string // the start of the offending frame
	Err   error
}

// Error describes the frame and what was wrong with it.
func (e *ProtocolError) Error() string {
	return "stargate: unexpected frame from server: " + e.Err.Error() + ": " + e.Frame
}

// Unwrap returns the decoding error.
func (e *ProtocolError) Unwrap() error { return e.Err }
