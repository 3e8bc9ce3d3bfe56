package stargate

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/stargate-go/stargate/internal/wsconn"
)

// The options structs of Client and of the three handles. A constructor
// copies its options once, with withDefaults, and validates and encodes
// them with the query tables of params.go; nothing reads a caller's struct
// afterwards. Every field states its default: zero means that default,
// which for a server setting means the query parameter is left out.

// ClientOptions configures a Client. The zero value (or nil) connects
// without credentials, verifies TLS against the system roots, pings every
// 30s and reconnects with backoff from 100ms up to 30s.
type ClientOptions struct {
	// Token is a static JWT sent as "Authorization: Bearer <token>".
	Token string
	// TokenProvider, if set, is asked for a token at every dial (and so at
	// every reconnect), so that refreshed tokens are picked up. It takes
	// precedence over Token. Its error, wrapped, is what a dial fails with
	// (errors.Is matches it); a reconnect retries it with backoff.
	TokenProvider func(ctx context.Context) (string, error)
	// TokenInQuery sends the token as the browser-style "token" query
	// parameter instead of the Authorization header. Only for servers or
	// intermediaries that strip the header: URLs end up in access logs.
	TokenInQuery bool

	// RootCAs are the certificate authorities trusted for wss:// URLs; nil
	// means the system roots. See CertPoolFromPEM.
	RootCAs *x509.CertPool
	// Certificates are client certificates presented for mutual TLS.
	Certificates []tls.Certificate
	// InsecureSkipVerify turns off verification of the server's
	// certificate chain and host name. For tests only.
	InsecureSkipVerify bool
	// TLSConfig is a base TLS configuration, cloned and never modified; the
	// three fields above override its fields of the same meaning.
	TLSConfig *tls.Config

	// Header holds extra HTTP headers for the WebSocket upgrade request.
	Header http.Header

	// Proxy picks the HTTP(S) forward proxy for each dial, reconnects
	// included, as http.Transport.Proxy does. It is shown a request for the
	// broker whose URL has the scheme http for ws:// and https for wss://,
	// so HTTP_PROXY and HTTPS_PROXY apply as they do to net/http. Nil means
	// http.ProxyFromEnvironment, which reads HTTPS_PROXY, HTTP_PROXY and
	// NO_PROXY (and their lower-case forms) once per process and never
	// proxies localhost or loopback addresses; NoProxy turns proxies off;
	// http.ProxyURL(u) names one. The client tunnels through the proxy with
	// HTTP CONNECT, for ws:// too, sending the proxy URL's user and password
	// as Proxy-Authorization: Basic; wss:// keeps TLS end to end with the
	// broker inside the tunnel; an https:// proxy URL adds TLS to the proxy
	// itself, verified with the settings below. A proxy that refuses gives
	// a *ProxyError.
	Proxy func(*http.Request) (*url.URL, error)
	// NetDialContext opens every TCP connection: to the broker, or to the
	// proxy when Proxy picks one. Nil means a net.Dialer. Use it for custom
	// transports (a SOCKS dialer, a fixed source address, an in-memory
	// network in tests).
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// DialTimeout bounds each reconnection attempt. The first dial is
	// bounded by the constructor's context only. Zero means 30s.
	DialTimeout time.Duration
	// KeepAlive is the interval between pings; a connection silent for
	// about two and a half intervals is treated as lost. Zero means 30s;
	// negative disables pings (the server closes idle sessions after 5
	// minutes by default). A positive value must be at least 100ms: a
	// shorter one would drop healthy connections whose pong is a little
	// late.
	KeepAlive time.Duration
	// ReconnectDelay is the first delay before redialling a lost connection;
	// it doubles, with jitter, up to MaxReconnectDelay. Zero means 100ms.
	ReconnectDelay time.Duration
	// MaxReconnectDelay caps the reconnect backoff. Zero means 30s.
	MaxReconnectDelay time.Duration

	// MaxMessageSize is the largest frame the client reads from the
	// server: a message, base64 and JSON included (about 4/3 of the
	// payload). Zero means 16 MiB, more than a broker with the default
	// maxMessageSize (5 MB) ever sends. A larger message ends the consumer
	// or reader with ErrMessageTooLarge instead of a reconnect loop (the
	// broker would redeliver it each time); raise it for brokers configured
	// with larger messages, or for chunked messages from other clients.
	MaxMessageSize int

	// Logger receives connection events (dial failures, reconnects). Nil
	// means silent. Tokens are never logged.
	Logger *slog.Logger

	// Observer sees sends, deliveries, acknowledgements and connection
	// events of every handle, for metrics and tracing (see the otel
	// module). Nil means none, at no cost.
	Observer Observer
}

// ProducerOptions configures a Producer. The zero value (or nil) gives the
// server's defaults and the client's default window.
type ProducerOptions struct {
	// Name is the producer name; empty lets the broker choose. A name
	// already connected to the topic is refused with ErrBusy.
	Name string
	// SendTimeout is how long the broker tries to persist a message before
	// failing it with send-error:8 (a temporary *SendError). Zero means the
	// server's default, 30s; negative means no timeout; at most about 24.8
	// days (2^31-1 ms, a Java int on the server). The client also
	// completes a future with ErrSendTimeout when no acknowledgement came
	// within SendTimeout plus 5s (for example while reconnecting).
	SendTimeout time.Duration
	// Batching lets the broker-side producer group messages into batches.
	// Acknowledgements then carry a batch index and size.
	Batching bool
	// BatchingMaxMessages caps a batch; zero means 1000. Needs Batching.
	// At most 2^31-1 (a Java int on the server).
	BatchingMaxMessages int
	// BatchingMaxPublishDelay is how long a batch may wait to fill; zero
	// means 1ms. Needs Batching. At most about 24.8 days (2^31-1 ms).
	BatchingMaxPublishDelay time.Duration
	// MaxPendingMessages bounds the broker-side producer's queue; zero means
	// unbounded. The server honours it only with Batching, so setting it
	// without Batching is an error. At most 2^31-1.
	MaxPendingMessages int
	// RoutingMode picks partitions for key-less messages.
	RoutingMode RoutingMode
	// HashingScheme hashes keys to partitions.
	HashingScheme HashingScheme
	// Compression compresses what the broker-side producer stores; with
	// Encryption, the client compresses each message before encrypting it
	// (the server cannot), in the framing Pulsar's clients read.
	Compression CompressionType
	// InitialSequenceID is the broker's deduplication baseline; zero means
	// not set.
	InitialSequenceID int64
	// EncryptionKeys names the public keys the server encrypts messages
	// with (server-side encryption; the server must be configured with a
	// crypto key reader). Not with Encryption.
	EncryptionKeys []string
	// Encryption turns on client-side end-to-end encryption: the client
	// encrypts, the server never sees the keys (see ProducerEncryption).
	Encryption *ProducerEncryption

	// MaxInFlight bounds the sends awaiting acknowledgement; Send waits for
	// a slot. Zero means 1000.
	MaxInFlight int
	// MaxInFlightBytes bounds the payload bytes awaiting acknowledgement.
	// Zero means 64 MiB.
	MaxInFlightBytes int
	// MaxFrameSize is the server's limit on one inbound text frame
	// (webSocketMaxTextFrameSize). A message whose encoded frame exceeds it
	// fails in Send with an *ArgError before anything is written. Zero means
	// 1 MiB, the server's default. At most 16 MiB, the client connection's
	// own limit on one outbound frame (about 12 MiB of payload); a server
	// configured to accept more still gets at most that. Set above the
	// server's real limit, a larger frame makes the server close the
	// connection with 1009: the producer then ends, and the futures of
	// pending and later sends fail with that *CloseError (a resend would
	// meet it again on every connection).
	MaxFrameSize int
}

// Client-side defaults, filled in by withDefaults. Server-side defaults are
// the server's: a zero field is not sent.
const (
	defaultDialTimeout       = 30 * time.Second
	defaultReconnectDelay    = 100 * time.Millisecond
	defaultMaxReconnectDelay = 30 * time.Second
	defaultMaxInFlight       = 1000
	defaultMaxInFlightBytes  = 64 << 20
	defaultMaxFrameSize      = 1 << 20
	defaultPullWindow        = 100
	defaultReceiverQueue     = maxReceiverQueue // the server's default too
)

// withDefaults returns a copy of o (nil: the zero options) with the
// client-side defaults filled in. Every options type has one, and it is
// the only place that applies defaults.
func (o *ClientOptions) withDefaults() ClientOptions {
	c := deref(o)
	c.Header = c.Header.Clone()
	c.Certificates = slices.Clone(c.Certificates)
	c.DialTimeout = cmp.Or(c.DialTimeout, defaultDialTimeout)
	c.ReconnectDelay = cmp.Or(c.ReconnectDelay, defaultReconnectDelay)
	c.MaxReconnectDelay = max(c.ReconnectDelay, cmp.Or(c.MaxReconnectDelay, defaultMaxReconnectDelay))
	c.KeepAlive = cmp.Or(c.KeepAlive, wsconn.DefaultKeepAlive)
	return c
}

// withDefaults returns a copy of o with the client-side defaults filled in.
func (o *ProducerOptions) withDefaults() ProducerOptions {
	c := deref(o)
	c.EncryptionKeys = slices.Clone(c.EncryptionKeys)
	c.MaxInFlight = cmp.Or(c.MaxInFlight, defaultMaxInFlight)
	c.MaxInFlightBytes = cmp.Or(c.MaxInFlightBytes, defaultMaxInFlightBytes)
	c.MaxFrameSize = cmp.Or(c.MaxFrameSize, defaultMaxFrameSize)
	return c
}

// DeadLetterPolicy sends a message to a dead-letter topic once it has been
// redelivered MaxRedeliveries times.
type DeadLetterPolicy struct {
	// MaxRedeliveries is the number of redeliveries after which a message
	// goes to the dead-letter topic; zero disables the policy. At most
	// 2^31-1.
	MaxRedeliveries int
	// Topic is the dead-letter topic; empty means the server's default,
	// "<topic>-<subscription>-DLQ", where a v3 consumer's <topic> is the
	// first topic of its list, or its pattern. Needs MaxRedeliveries.
	Topic string
}

// ConsumerOptions configures a Consumer. The zero value (or nil) gives an
// Exclusive, durable subscription starting at the latest message, in push
// mode, with the server's defaults.
type ConsumerOptions struct {
	// Type is the subscription type; the zero value is Exclusive.
	Type SubscriptionType
	// Mode is Durable (the zero value) or NonDurable.
	Mode SubscriptionMode
	// InitialPosition is where a new subscription starts, Earliest or
	// Latest (the zero value). It has no effect on an existing subscription. The
	// WebSocket API honours it from Pulsar 4.0 on; older servers ignore the
	// parameter and start at Latest. A NonDurable subscription is created
	// anew after every reconnect, so it starts there again.
	InitialPosition Position
	// ReceiverQueueSize is the server's prefetch and, in push mode, how many
	// unacknowledged messages it sends before waiting for acks. Zero means
	// 1000; at most 1000 (the server silently clamps larger values).
	ReceiverQueueSize int
	// AckTimeout redelivers a message not acknowledged within it. Zero
	// disables it; otherwise at least 1s and at most about 24.8 days
	// (2^31-1 ms, a Java int on the server). (Redelivery by ack timeout does
	// not reopen the server's push window: acknowledge or Nack instead.)
	AckTimeout time.Duration
	// NackRedeliveryDelay is how long after a Nack the message comes back.
	// Zero means the server's default, 60s; negative means at once; at most
	// about 24.8 days (2^31-1 ms).
	NackRedeliveryDelay time.Duration
	// Name is the consumer name; empty lets the server choose.
	Name string
	// PriorityLevel orders consumers of a Shared subscription: the server
	// prefers lower levels. Zero is the highest priority; at most 2^31-1.
	PriorityLevel int
	// DeadLetter moves messages redelivered too often to a dead-letter topic.
	DeadLetter DeadLetterPolicy
	// PullMode makes the server wait for permits: the Messages sequence asks
	// for messages only as fast as the loop takes them, at most PullWindow
	// ahead. Recommended with bounded fan-out (errgroup.SetLimit, conc pools).
	PullMode bool
	// PullWindow is how many messages the server may deliver beyond what the
	// loop has taken, in pull mode. Zero means 100. It is refilled when half
	// of it has been taken. Needs PullMode. At most 10000: the consumer may
	// hold that many received messages (payloads included) that the loop
	// has not taken, and a window of more than a few thousand only adds
	// memory, since the server's own prefetch is at most 1000
	// (ReceiverQueueSize).
	PullWindow int
	// CryptoFailureAction says what to do with messages that cannot be
	// decrypted; the zero value is CryptoFail. Without KeyReader it is the
	// server's action (see CryptoFailureAction); with KeyReader it is the
	// client's.
	CryptoFailureAction CryptoFailureAction
	// KeyReader turns on client-side decryption of end-to-end encrypted
	// messages: the consumer asks the server for them as they were
	// produced (cryptoFailureAction=CONSUME on the wire) and decrypts,
	// decompresses and splits batches itself, with the private keys
	// KeyReader gives (see Decrypt and ProducerEncryption). A message it
	// cannot decrypt follows CryptoFailureAction, with a *CryptoError:
	// CryptoFail yields the error (the range ends; the message, in
	// CryptoError.Message, stays unacknowledged until Ack or Nack on it, or
	// a redelivery; ranging again goes on with the next message),
	// CryptoDiscard acknowledges and drops it (ConsumerStats.Discarded),
	// CryptoConsume delivers it still encrypted, with Message.Encryption
	// set. Messages that were not encrypted are delivered as they are.
	KeyReader CryptoKeyReader
}

// withDefaults returns a copy of o with the client-side defaults filled in.
func (o *ConsumerOptions) withDefaults() ConsumerOptions {
	c := deref(o)
	if c.PullMode {
		c.PullWindow = cmp.Or(c.PullWindow, defaultPullWindow)
	}
	return c
}

// window is the most messages the server may send ahead of the loop: the
// pull window, or the server's receive queue.
func (o *ConsumerOptions) window() int {
	if o.PullMode {
		return o.PullWindow
	}
	return cmp.Or(o.ReceiverQueueSize, defaultReceiverQueue)
}

// ReaderOptions configures a Reader. The zero value (or nil) reads from the
// latest message on.
type ReaderOptions struct {
	// Start is where reading starts: Earliest for the whole topic, or
	// Latest (the zero value) for what is published from now on.
	Start Position
	// StartMessageID, if not zero, starts reading after that message,
	// exclusive: the first message yielded is the one after it (the server
	// offers no inclusive start). Start must then be Latest, its zero
	// value. A partitioned topic can be read only from Earliest or Latest:
	// the server refuses a message ID there, and NewReader returns an
	// *ArgError.
	StartMessageID MessageID
	// StartTime, if not zero, starts reading at the first message
	// published at or after it (by the broker's clock), inclusive. NewReader
	// resolves it once, through the broker's admin REST API
	// (GET …/messageid/{timestamp}, on the service URL's host as
	// Consumer.Seek), to a start just before that message's entry; a
	// reconnect before anything was received starts there again. Start must
	// be Latest and StartMessageID zero; a time before 1970 is an
	// *ArgError, and so is a partitioned topic (the server starts readers of
	// a partitioned topic only at Earliest or Latest: read each partition).
	// A refusal of the admin API is a *RESTError.
	StartTime time.Time
	// ReceiverQueueSize is the server's window of messages sent ahead of the
	// reader's flow-control acks. Zero means 1000; at most 1000. A window of
	// 1 is sent as 2 whenever the connection starts at a message ID
	// (StartMessageID, or the position a reconnect resumes from): Pulsar
	// (4.0.8 at least) drops the start entry without returning its permit,
	// so with a window of 1 it would never deliver anything.
	ReceiverQueueSize int
	// Name is the reader name; empty lets the server choose.
	Name string
	// CryptoFailureAction says what to do with messages that cannot be
	// decrypted; the zero value is CryptoFail.
	CryptoFailureAction CryptoFailureAction
	// StopAtEndOfTopic ends the Messages sequence without an error once the
	// topic has been terminated and every message read.
	StopAtEndOfTopic bool
}

// withDefaults returns a copy of o; a reader has no client-side default to
// fill in (its window is the server's receive queue, see window).
func (o *ReaderOptions) withDefaults() ReaderOptions { return deref(o) }

// window is the server's window of messages sent ahead of the reader's
// flow-control acknowledgements.
func (o *ReaderOptions) window() int { return cmp.Or(o.ReceiverQueueSize, defaultReceiverQueue) }

// deref returns *o, or the zero T for nil.
func deref[T any](o *T) T {
	if o == nil {
		var zero T
		return zero
	}
	return *o
}
