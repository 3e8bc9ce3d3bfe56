package otel

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// instruments are the Observer's metric instruments.
type instruments struct {
	sent, sentBytes         metric.Int64Counter
	duration                metric.Float64Histogram
	inflight                metric.Int64UpDownCounter
	received, receivedBytes metric.Int64Counter
	acked, ackedBytes       metric.Int64Counter
	nacked, nackedBytes     metric.Int64Counter
	permits                 metric.Int64Counter
	reconnects              metric.Int64Counter
	errors                  metric.Int64Counter
}

// durationBuckets suit send latencies, from a local acknowledgement to a
// send timeout, in seconds.
var durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

func (in *instruments) init(m metric.Meter) error {
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	in.sent = counter("stargate.sent.messages", "{message}", "Messages given to Producer.Send.")
	in.sentBytes = counter("stargate.sent.bytes", "By", "Payload bytes of the messages given to Producer.Send.")
	in.received = counter("stargate.received.messages", "{message}", "Messages handed to a range loop by a Consumer or Reader.")
	in.receivedBytes = counter("stargate.received.bytes", "By", "Payload bytes of the messages handed to a range loop.")
	in.acked = counter("stargate.acked.messages", "{message}", "Message.Ack calls that succeeded.")
	in.ackedBytes = counter("stargate.acked.bytes", "By", "Payload bytes of the messages acknowledged.")
	in.nacked = counter("stargate.nacked.messages", "{message}", "Message.Nack calls that succeeded.")
	in.nackedBytes = counter("stargate.nacked.bytes", "By", "Payload bytes of the messages negatively acknowledged.")
	in.permits = counter("stargate.permits", "{message}", "Permits granted to the server by pull-mode consumers.")
	in.reconnects = counter("stargate.reconnects", "{connection}", "Connections that replaced a lost one.")
	in.errors = counter("stargate.errors", "{error}", "Errors, by error.type and stargate.operation.")
	var err error
	in.duration, err = m.Float64Histogram("stargate.send.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from Producer.Send to the completion of its future."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	errs = append(errs, err)
	in.inflight, err = m.Int64UpDownCounter("stargate.send.inflight", metric.WithUnit("{message}"),
		metric.WithDescription("Sends awaiting their outcome."))
	errs = append(errs, err)
	return errors.Join(errs...)
}
