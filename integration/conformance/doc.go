// Package conformance holds one set of behaviour tests of Pulsar's
// WebSocket API that runs against both stargatetest's in-process fake and a
// real broker (dockertest, Pulsar 4.0.8), so that the fake users test
// against keeps behaving like the server they deploy against.
//
// Every case is a func(*testing.T, Target); TestConformance runs each one
// as TestConformance/<case>/fake and TestConformance/<case>/real. The real
// target skips without a broker, and fails under CI=true (see dockertest).
// Cases use the stargate client where it shows the behaviour and raw
// WebSocket frames where the client hides it (exact JSON shapes, HTTP
// statuses, window arithmetic); they assert only what both targets share,
// and the differences that remain are listed in stargatetest's package
// documentation.
package conformance
