package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestQuickstartOnEmbeddedBroker(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Setenv("STARGATE_PULSAR_URL", "")
	if err := run(500, 4, 10); err != nil {
		t.Fatal(err)
	}
}
