package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

// topicCommands are the topics commands. Like the other command lists they
// are one declarative table, long but flat: each entry is a name, its
// arguments and flags, and a closure over the flag variables declared here.
func topicCommands() []*adminCmd {
	var force, allPartitions bool
	forceUsage, forceSetup := deleteFlag(&force)
	var partitions int
	var statsOpts admin.StatsOptions
	var peekSub string
	var peekN int
	var forceBase64 bool
	topic := []string{"TOPIC"}
	simple := func(action, brief string, call func(x *adminRun, t string) error, did string) *adminCmd {
		return &adminCmd{area: "topics", action: action, args: topic, brief: brief, run: func(x *adminRun) error {
			if err := call(x, x.args[0]); err != nil {
				return err
			}
			return x.done(did, x.args[0])
		}}
	}
	cmds := []*adminCmd{
		{area: "topics", action: "list", args: []string{"NAMESPACE"}, brief: "List the topics of a namespace, partitioned ones with their partition count.",
			flags: "  --partitions            also list each partition of partitioned topics\n",
			setup: func(fs *flag.FlagSet) { fs.BoolVar(&allPartitions, "partitions", false, "") },
			run:   func(x *adminRun) error { return listTopics(x, allPartitions) }},
		{area: "topics", action: "create", args: topic, brief: "Create a topic, partitioned with -p.",
			flags: "  -p, --partitions N      number of partitions (default 0: not partitioned)\n",
			setup: func(fs *flag.FlagSet) {
				fs.IntVar(&partitions, "p", 0, "")
				fs.IntVar(&partitions, "partitions", 0, "")
			},
			run: func(x *adminRun) error {
				if partitions < 0 {
					return x.usageErr("-p %d: must not be negative", partitions)
				}
				if partitions == 0 {
					if err := x.c.CreateTopic(x.ctx, x.args[0]); err != nil {
						return err
					}
					return x.done("created topic %s", x.args[0])
				}
				if err := x.c.CreatePartitionedTopic(x.ctx, x.args[0], partitions); err != nil {
					return err
				}
				return x.done("created topic %s with %d partitions", x.args[0], partitions)
			}},
		{area: "topics", action: "update-partitions", args: []string{"TOPIC", "N"}, brief: "Raise the partition count of a partitioned topic to N.", run: func(x *adminRun) error {
			n, err := strconv.Atoi(x.args[1])
			if err != nil || n < 1 {
				return x.usageErr("N %q: want a partition count", x.args[1])
			}
			if err := x.c.UpdatePartitions(x.ctx, x.args[0], n); err != nil {
				return err
			}
			return x.done("topic %s now has %d partitions", x.args[0], n)
		}},
		{area: "topics", action: "partitions", args: topic, brief: "Print the partition count (0: not partitioned, or no such topic).", run: func(x *adminRun) error {
			n, err := x.c.Partitions(x.ctx, x.args[0])
			if err != nil {
				return err
			}
			return x.print(n, func(w io.Writer) { fmt.Fprintln(w, n) })
		}},
		{area: "topics", action: "delete", args: topic, brief: "Delete a topic, with all its partitions.", flags: forceUsage, setup: forceSetup, run: func(x *adminRun) error {
			if err := x.c.DeleteTopic(x.ctx, x.args[0], &admin.DeleteOptions{Force: force}); err != nil {
				return err
			}
			return x.done("deleted topic %s", x.args[0])
		}},
		simple("unload", "Unload a topic from its broker (clients reconnect).", func(x *adminRun, t string) error { return x.c.UnloadTopic(x.ctx, t) }, "unloaded topic %s"),
		{area: "topics", action: "terminate", args: topic, brief: "Terminate a topic (each partition): it accepts no more messages. Prints the last message ID.", run: terminate},
		{area: "topics", action: "create-missed-partitions", args: topic, brief: "Create the partitions of a partitioned topic that are missing.", run: func(x *adminRun) error {
			if err := x.c.CreateMissedPartitions(x.ctx, x.args[0]); err != nil {
				return err
			}
			return x.done("created the missing partitions of %s", x.args[0])
		}},
		{area: "topics", action: "lookup", args: topic, brief: "Show the broker that serves a topic.", run: func(x *adminRun) error {
			l, err := x.c.LookupTopic(x.ctx, x.args[0])
			if err != nil {
				return err
			}
			return x.print(l, func(w io.Writer) {
				for _, kv := range [][2]string{{"broker", l.BrokerURL}, {"broker TLS", l.BrokerURLTLS}, {"http", l.HTTPURL}, {"https", l.HTTPURLTLS}, {"native", l.NativeURL}} {
					if kv[1] != "" {
						row(w, kv[0], kv[1])
					}
				}
			})
		}},
		{area: "topics", action: "bundle", args: topic, brief: "Print the namespace bundle a topic belongs to.", run: func(x *adminRun) error {
			b, err := x.c.TopicBundle(x.ctx, x.args[0])
			if err != nil {
				return err
			}
			return x.print(b, func(w io.Writer) { fmt.Fprintln(w, b) })
		}},
		simple("compact", "Start compacting a topic (see compaction-status).", func(x *adminRun, t string) error { return x.c.CompactTopic(x.ctx, t) }, "started compacting %s"),
		{area: "topics", action: "compaction-status", args: topic, brief: "Show the state of a topic's last compaction.", run: func(x *adminRun) error {
			st, err := x.c.CompactionStatus(x.ctx, x.args[0])
			if err != nil {
				return err
			}
			return x.print(st, func(w io.Writer) {
				row(w, "status", st.Status)
				if st.LastError != "" {
					row(w, "last error", st.LastError)
				}
			})
		}},
		{area: "topics", action: "stats", args: topic, brief: "Show a topic's rates, sizes, subscriptions and producers.",
			flags: "  --precise               count backlogs exactly\n" +
				"  --backlog-size          compute each subscription's backlog size\n" +
				"  --per-partition         stats of each partition too (partitioned topics)\n",
			setup: func(fs *flag.FlagSet) {
				fs.BoolVar(&statsOpts.PreciseBacklog, "precise", false, "")
				fs.BoolVar(&statsOpts.SubscriptionBacklogSize, "backlog-size", false, "")
				fs.BoolVar(&statsOpts.PerPartition, "per-partition", false, "")
			},
			run: func(x *adminRun) error { return topicStats(x, &statsOpts) }},
		{area: "topics", action: "internal-stats", args: topic, brief: "Show a topic's ledgers and cursors (non-partitioned, or one partition).", run: func(x *adminRun) error {
			st, err := x.c.InternalStats(x.ctx, x.args[0])
			if err != nil {
				return err
			}
			return x.print(st, func(w io.Writer) { internalStatsText(w, st) })
		}},
		{area: "topics", action: "last-id", args: topic, brief: "Print the ID of the last message (of each partition).", run: func(x *adminRun) error {
			return perPartition(x, func(t string) (stargate.MessageID, error) { return x.c.LastMessageID(x.ctx, t) })
		}},
		{area: "topics", action: "id-by-time", args: []string{"TOPIC", "TIME"}, brief: "Print the ID of the first message published at or after TIME (RFC 3339, or a duration ago: 10m).", run: func(x *adminRun) error {
			t, err := parseAgo(x.args[1], time.Now())
			if err != nil {
				return x.usageErr("TIME %v", err)
			}
			return perPartition(x, func(topic string) (stargate.MessageID, error) { return x.c.MessageIDByTime(x.ctx, topic, t) })
		}},
		{area: "topics", action: "peek", args: topic, brief: "Print the next messages of a subscription without acknowledging them.",
			flags: "  -s, --subscription SUB  the subscription (required)\n" +
				"  -n, --count N           how many (default 1)\n" +
				"  --base64                print every payload as \"payloadBase64\"\n",
			setup: func(fs *flag.FlagSet) {
				fs.StringVar(&peekSub, "s", "", "")
				fs.StringVar(&peekSub, "subscription", "", "")
				fs.IntVar(&peekN, "n", 1, "")
				fs.IntVar(&peekN, "count", 1, "")
				fs.BoolVar(&forceBase64, "base64", false, "")
			},
			run: func(x *adminRun) error {
				if peekSub == "" {
					return x.usageErr("-s SUBSCRIPTION is required")
				}
				return peek(x, x.args[0], peekSub, peekN, forceBase64)
			}, messages: true},
		{area: "topics", action: "get-message", args: []string{"TOPIC", "ID"}, brief: "Print the message with ID (wire form or ledger:entry[:partition[:batch]]).",
			flags: "  --base64                print the payload as \"payloadBase64\"\n",
			setup: func(fs *flag.FlagSet) { fs.BoolVar(&forceBase64, "base64", false, "") },
			run: func(x *adminRun) error {
				id, err := parseMessageID(x.args[1])
				if err != nil {
					return x.usageErr("ID %v", err)
				}
				m, err := x.c.GetMessage(x.ctx, x.args[0], id)
				if err != nil {
					return err
				}
				return newMsgWriter(x.a.stdout, x.format, forceBase64).write(m)
			}, messages: true},
	}
	return append(cmds, policyCommands(topicScope())...)
}

// terminate terminates a topic, or each partition of a partitioned one.
func terminate(x *adminRun) error {
	n, err := x.c.Partitions(x.ctx, x.args[0])
	if err != nil {
		return err
	}
	if n == 0 {
		id, err := x.c.TerminateTopic(x.ctx, x.args[0])
		if err != nil {
			return err
		}
		return x.printID(id)
	}
	ids, err := x.c.TerminatePartitionedTopic(x.ctx, x.args[0])
	if err != nil {
		return err
	}
	t, _ := stargate.ParseTopic(x.args[0])
	out := make([]idOut, 0, len(ids))
	for i := range n {
		if id, ok := ids[i]; ok {
			out = append(out, idOut{Topic: fmt.Sprintf("%s-partition-%d", t, i), ID: id.String(), Position: position(id)})
		}
	}
	return x.printIDs(out)
}

// subCommands are the subs commands (a table, as topicCommands).
func subCommands() []*adminCmd {
	var force bool
	forceUsage, forceSetup := deleteFlag(&force)
	at := "latest"
	var resetTime, resetID string
	var olderThan time.Duration
	var peekN int
	var forceBase64 bool
	ts := []string{"TOPIC", "SUBSCRIPTION"}
	simple := func(action, brief string, call func(x *adminRun) error, did string) *adminCmd {
		return &adminCmd{area: "subs", action: action, args: ts, brief: brief, run: func(x *adminRun) error {
			if err := call(x); err != nil {
				return err
			}
			return x.done(did, x.args[1], x.args[0])
		}}
	}
	return []*adminCmd{
		{area: "subs", action: "list", args: []string{"TOPIC"}, brief: "List a topic's subscriptions.", run: func(x *adminRun) error {
			l, err := x.c.Subscriptions(x.ctx, x.args[0])
			if err != nil {
				return err
			}
			sort.Strings(l)
			return x.list(l)
		}},
		{area: "subs", action: "create", args: ts, brief: "Create a durable subscription.",
			flags: "  --at POS                where its cursor starts: latest (default), earliest or a message ID\n",
			setup: func(fs *flag.FlagSet) { fs.StringVar(&at, "at", at, "") },
			run: func(x *adminRun) error {
				cur, err := parseCursor(at)
				if err != nil {
					return x.usageErr("--at %v", err)
				}
				if cur.isID {
					err = x.c.CreateSubscriptionAt(x.ctx, x.args[0], x.args[1], cur.id)
				} else {
					err = x.c.CreateSubscription(x.ctx, x.args[0], x.args[1], cur.pos)
				}
				if err != nil {
					return err
				}
				return x.done("created subscription %s on %s", x.args[1], x.args[0])
			}},
		{area: "subs", action: "delete", args: ts, brief: "Delete a subscription (--force: even with consumers).", flags: forceUsage, setup: forceSetup, run: func(x *adminRun) error {
			if err := x.c.DeleteSubscription(x.ctx, x.args[0], x.args[1], &admin.DeleteOptions{Force: force}); err != nil {
				return err
			}
			return x.done("deleted subscription %s of %s", x.args[1], x.args[0])
		}},
		{area: "subs", action: "reset", args: ts, brief: "Move the cursor to a time or a message ID; consumers reconnect there.",
			flags: "  --time T                RFC 3339, or a duration ago (10m): the first message published since\n" +
				"  --id ID                 earliest, latest or a message ID (delivered again, with what follows)\n",
			setup: func(fs *flag.FlagSet) {
				fs.StringVar(&resetTime, "time", "", "")
				fs.StringVar(&resetID, "id", "", "")
			},
			run: func(x *adminRun) error {
				if (resetTime == "") == (resetID == "") {
					return x.usageErr("give one of --time and --id")
				}
				if resetTime != "" {
					t, err := parseAgo(resetTime, time.Now())
					if err != nil {
						return x.usageErr("--time %v", err)
					}
					if err := x.c.ResetCursorToTime(x.ctx, x.args[0], x.args[1], t); err != nil {
						return err
					}
					return x.done("reset subscription %s of %s to %s", x.args[1], x.args[0], formatTime(t))
				}
				cur, err := parseCursor(resetID)
				if err != nil {
					return x.usageErr("--id %v", err)
				}
				if cur.isID {
					err = x.c.ResetCursor(x.ctx, x.args[0], x.args[1], cur.id)
				} else {
					err = x.c.ResetCursorToPosition(x.ctx, x.args[0], x.args[1], cur.pos)
				}
				if err != nil {
					return err
				}
				return x.done("reset subscription %s of %s to %s", x.args[1], x.args[0], resetID)
			}},
		{area: "subs", action: "skip", args: []string{"TOPIC", "SUBSCRIPTION", "N"}, brief: "Acknowledge the next N entries without delivering them.", run: func(x *adminRun) error {
			n, err := strconv.Atoi(x.args[2])
			if err != nil || n < 1 {
				return x.usageErr("N %q: want a positive count", x.args[2])
			}
			if err := x.c.SkipMessages(x.ctx, x.args[0], x.args[1], n); err != nil {
				return err
			}
			return x.done("skipped %d messages of subscription %s of %s", n, x.args[1], x.args[0])
		}},
		simple("clear", "Acknowledge the whole backlog (skip all).", func(x *adminRun) error { return x.c.ClearBacklog(x.ctx, x.args[0], x.args[1]) }, "cleared the backlog of subscription %s of %s"),
		{area: "subs", action: "expire", args: ts, brief: "Acknowledge the backlog's messages older than --older-than.",
			flags: "  --older-than D          age, whole seconds, at least 1s (required; clear takes them all)\n",
			setup: func(fs *flag.FlagSet) { fs.DurationVar(&olderThan, "older-than", 0, "") },
			run: func(x *adminRun) error {
				if olderThan == 0 {
					return x.usageErr("--older-than is required")
				}
				if err := x.c.ExpireMessages(x.ctx, x.args[0], x.args[1], olderThan); err != nil {
					return err
				}
				return x.done("expired messages older than %s of subscription %s of %s", olderThan, x.args[1], x.args[0])
			}},
		{area: "subs", action: "peek", args: ts, brief: "Print the next messages without acknowledging them (as topics peek).",
			flags: "  -n, --count N           how many (default 1)\n" +
				"  --base64                print every payload as \"payloadBase64\"\n",
			setup: func(fs *flag.FlagSet) {
				fs.IntVar(&peekN, "n", 1, "")
				fs.IntVar(&peekN, "count", 1, "")
				fs.BoolVar(&forceBase64, "base64", false, "")
			},
			run: func(x *adminRun) error { return peek(x, x.args[0], x.args[1], peekN, forceBase64) }, messages: true},
	}
}

func peek(x *adminRun, topic, sub string, n int, forceBase64 bool) error {
	if n < 1 {
		return x.usageErr("-n %d: must be at least 1", n)
	}
	msgs, err := x.c.PeekMessages(x.ctx, topic, sub, n)
	if err != nil {
		return err
	}
	w := newMsgWriter(x.a.stdout, x.format, forceBase64)
	for _, m := range msgs {
		if err := w.write(m); err != nil {
			return err
		}
	}
	return nil
}

// printID prints a message ID: its readable position, or with -o json both forms.
func (x *adminRun) printID(id stargate.MessageID) error {
	return x.print(idOut{ID: id.String(), Position: position(id)}, func(w io.Writer) { fmt.Fprintln(w, position(id)) })
}

type idOut struct {
	Topic    string `json:"topic,omitempty"`
	ID       string `json:"id"`
	Position string `json:"position"`
}

// perPartition prints get(topic), or, for a partitioned topic, get of each
// partition.
func perPartition(x *adminRun, get func(topic string) (stargate.MessageID, error)) error {
	n, err := x.c.Partitions(x.ctx, x.args[0])
	if err != nil {
		return err
	}
	if n == 0 {
		id, err := get(x.args[0])
		if err != nil {
			return err
		}
		return x.printID(id)
	}
	t, err := stargate.ParseTopic(x.args[0])
	if err != nil {
		return err
	}
	var out []idOut
	for i := range n {
		p := fmt.Sprintf("%s-partition-%d", t, i)
		id, err := get(p)
		if err != nil {
			return err
		}
		out = append(out, idOut{Topic: p, ID: id.String(), Position: position(id)})
	}
	return x.printIDs(out)
}

// printIDs prints the IDs of partitions.
func (x *adminRun) printIDs(out []idOut) error {
	return x.print(out, func(w io.Writer) {
		row(w, "PARTITION", "POSITION")
		for _, o := range out {
			row(w, o.Topic, o.Position)
		}
	})
}

type topicOut struct {
	Topic      string `json:"topic"`
	Partitions int    `json:"partitions"` // 0: not partitioned
}

func listTopics(x *adminRun, withPartitions bool) error {
	ns := x.args[0]
	plain, err := x.c.Topics(x.ctx, ns)
	if err != nil {
		return err
	}
	parted, err := x.c.PartitionedTopics(x.ctx, ns)
	if err != nil {
		return err
	}
	var out []topicOut
	isPartition := map[string]bool{}
	for _, p := range parted {
		n, err := x.c.Partitions(x.ctx, p)
		if err != nil {
			return err
		}
		out = append(out, topicOut{p, n})
		for i := range n {
			isPartition[fmt.Sprintf("%s-partition-%d", p, i)] = true
		}
	}
	for _, t := range plain {
		if withPartitions || !isPartition[t] {
			out = append(out, topicOut{Topic: t})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	if out == nil {
		out = []topicOut{}
	}
	return x.print(out, func(w io.Writer) {
		row(w, "TOPIC", "PARTITIONS")
		for _, t := range out {
			p := "-"
			if t.Partitions > 0 {
				p = strconv.Itoa(t.Partitions)
			}
			row(w, t.Topic, p)
		}
	})
}

func topicStats(x *adminRun, opts *admin.StatsOptions) error {
	n, err := x.c.Partitions(x.ctx, x.args[0])
	if err != nil {
		return err
	}
	if n == 0 {
		st, err := x.c.TopicStats(x.ctx, x.args[0], opts)
		if err != nil {
			return err
		}
		return x.print(st, func(w io.Writer) { statsText(w, st, 0) })
	}
	st, err := x.c.PartitionedTopicStats(x.ctx, x.args[0], opts)
	if err != nil {
		return err
	}
	return x.print(st, func(w io.Writer) {
		statsText(w, &st.TopicStats, st.Metadata.Partitions)
		names := make([]string, 0, len(st.Partitions))
		for p := range st.Partitions {
			names = append(names, p)
		}
		sort.Strings(names)
		if len(names) > 0 {
			fmt.Fprintln(w)
			row(w, "PARTITION", "IN", "OUT", "STORAGE", "BACKLOG")
		}
		for _, p := range names {
			ps := st.Partitions[p]
			row(w, p, rate(ps.MsgRateIn, ps.MsgThroughputIn), rate(ps.MsgRateOut, ps.MsgThroughputOut), humanBytes(ps.StorageSize), humanBytes(ps.BacklogSize))
		}
	})
}

func rate(msgs, bytes float64) string {
	return fmt.Sprintf("%.1f msg/s, %s/s", msgs, humanBytes(int64(bytes)))
}

func statsText(w io.Writer, st *admin.TopicStats, partitions int) {
	if partitions > 0 {
		row(w, "partitions", partitions)
	}
	if st.OwnerBroker != "" {
		row(w, "owner broker", st.OwnerBroker)
	}
	row(w, "in", rate(st.MsgRateIn, st.MsgThroughputIn)+fmt.Sprintf("; %s messages, %s in total", humanCount(st.MsgInCounter), humanBytes(st.BytesInCounter)))
	row(w, "out", rate(st.MsgRateOut, st.MsgThroughputOut)+fmt.Sprintf("; %s messages, %s in total", humanCount(st.MsgOutCounter), humanBytes(st.BytesOutCounter)))
	row(w, "storage", humanBytes(st.StorageSize))
	row(w, "backlog", humanBytes(st.BacklogSize))
	if st.DeduplicationStatus != "" {
		row(w, "deduplication", st.DeduplicationStatus)
	}
	subs := make([]string, 0, len(st.Subscriptions))
	for s := range st.Subscriptions {
		subs = append(subs, s)
	}
	sort.Strings(subs)
	fmt.Fprintln(w)
	row(w, "SUBSCRIPTION", "TYPE", "BACKLOG", "UNACKED", "CONSUMERS", "OUT")
	for _, name := range subs {
		s := st.Subscriptions[name]
		row(w, name, s.Type, humanCount(s.MsgBacklog), humanCount(s.UnackedMessages), len(s.Consumers), rate(s.MsgRateOut, s.MsgThroughputOut))
	}
	if len(st.Publishers) > 0 {
		fmt.Fprintln(w)
		row(w, "PRODUCER", "IN", "ADDRESS", "SINCE")
		for _, p := range st.Publishers {
			row(w, p.ProducerName, rate(p.MsgRateIn, p.MsgThroughputIn), p.Address, p.ConnectedSince)
		}
	}
}

func internalStatsText(w io.Writer, st *admin.InternalStats) {
	row(w, "state", st.State)
	row(w, "entries", humanCount(st.NumberOfEntries))
	row(w, "size", humanBytes(st.TotalSize))
	row(w, "last confirmed entry", st.LastConfirmedEntry)
	fmt.Fprintln(w)
	row(w, "LEDGER", "ENTRIES", "SIZE", "OFFLOADED")
	for _, l := range st.Ledgers {
		row(w, l.LedgerID, humanCount(l.Entries), humanBytes(l.Size), l.Offloaded)
	}
	names := make([]string, 0, len(st.Cursors))
	for n := range st.Cursors {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w)
	row(w, "CURSOR", "MARK-DELETE", "READ POSITION", "STATE")
	for _, n := range names {
		c := st.Cursors[n]
		row(w, n, c.MarkDeletePosition, c.ReadPosition, c.State)
	}
}
