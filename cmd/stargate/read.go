package main

import (
	"context"
	"strings"

	"github.com/stargate-go/stargate"
)

var readCommand = &command{
	name:  "read",
	brief: "read a topic from a position, without a subscription",
	usage: readUsage,
	run:   runRead,
}

const readUsage = `Usage: stargate read TOPIC [flags]

Reads TOPIC without a subscription (nothing is acknowledged or retained)
and prints each message on stdout. Runs until -n messages, --wait, the end
of a terminated topic, or Ctrl-C.

Flags:
  --start POS             earliest (default), latest, or a message ID: the
                          wire form ("id" of -o json) or ledger:entry[:partition[:batch]];
                          reading starts after that message
` + recvUsage + `
Connection flags: see 'stargate help'.
`

func runRead(a *app, ctx context.Context, args []string) error {
	fs := a.newFlagSet("read")
	var rf recvFlags
	rf.register(fs)
	start := "earliest"
	fs.StringVar(&start, "start", start, "")
	args, err := a.parse(fs, args, readUsage, "TOPIC")
	if err != nil {
		return err
	}
	if err := rf.check("read"); err != nil {
		return err
	}
	format, err := a.output("read", "json", "json", "payload")
	if err != nil {
		return err
	}
	// The reader keeps the server's default window: it holds no
	// subscription, so reading ahead takes nothing from anyone. (With a
	// window of 1 and a start ID, Pulsar 4.0.8 delivered nothing at all:
	// the message skipped for the exclusive start seems to keep the only
	// permit.)
	opts := &stargate.ReaderOptions{Name: rf.name, StopAtEndOfTopic: true}
	switch strings.ToLower(start) {
	case "earliest":
		opts.StartMessageID = stargate.Earliest
	case "latest":
		opts.StartMessageID = stargate.Latest
	default:
		id, err := parseMessageID(start)
		if err != nil {
			return &usageError{msg: "read: --start " + err.Error(), hint: "stargate read"}
		}
		opts.StartMessageID = id
	}
	r, err := a.resolve()
	if err != nil {
		return err
	}
	client, err := r.client()
	if err != nil {
		return err
	}
	dctx, cancel := a.dialCtx(ctx)
	rd, err := client.NewReader(dctx, args[0], opts)
	cancel()
	if err != nil {
		return a.dialError(ctx, err)
	}
	defer rd.Close()
	rc := &receiving{a: a, f: &rf, mw: newMsgWriter(a.stdout, format, rf.forceBase64), meter: a.newMeter("read")}
	return rc.run(ctx, rd.Messages)
}
