package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

// adminCmd is one "stargate admin AREA ACTION" command.
type adminCmd struct {
	area, action string
	args         []string // positional arguments, e.g. "TOPIC", "[N]"
	brief        string
	flags        string                  // usage lines of its own flags
	setup        func(fs *flag.FlagSet)  // registers them
	run          func(x *adminRun) error // x.args holds the arguments
	// messages: the command prints messages, as JSON lines (the default)
	// or raw payloads (-o payload), like read.
	messages bool
}

func (c *adminCmd) name() string { return "admin " + c.area + " " + c.action }

func (c *adminCmd) usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: stargate %s %s [flags]\n\n%s\n", c.name(), strings.Join(c.args, " "), c.brief)
	if c.flags != "" {
		b.WriteString("\nFlags:\n" + c.flags)
	}
	if c.messages {
		b.WriteString("  -o FORMAT               text (default), json or payload, as read prints messages\n")
	} else {
		b.WriteString("  -o json                 print JSON instead of text\n")
	}
	b.WriteString("\nConnection flags: see 'stargate help'.\n")
	return b.String()
}

// adminAreas lists the areas in usage order, with their aliases.
var adminAreas = []struct{ name, alias, brief string }{
	{"tenants", "tenant", "list, get, create, update, delete tenants"},
	{"namespaces", "ns", "list, create, delete, unload namespaces; policies, permissions, replication"},
	{"clusters", "cluster", "list clusters"},
	{"topics", "topic", "list, create, delete, unload, terminate, compact topics; stats, IDs, peek, policies, permissions"},
	{"subs", "subscriptions", "list, create, delete subscriptions; reset, skip, clear, expire"},
}

// adminCommands returns the admin commands, each with flag variables of
// its own (so nothing is shared between runs).
func adminCommands() []*adminCmd {
	var cmds []*adminCmd
	cmds = append(cmds, tenantCommands()...)
	cmds = append(cmds, namespaceCommands()...)
	cmds = append(cmds, clusterCommands()...)
	cmds = append(cmds, topicCommands()...)
	return append(cmds, subCommands()...)
}

func adminUsage() string {
	var b strings.Builder
	b.WriteString("Usage: stargate admin AREA ACTION [arguments] [flags]\n\n" +
		"Calls Pulsar's admin REST API (--admin-url, by default the service URL\n" +
		"with http(s)). Output is text for people; -o json for scripts.\n\n")
	for _, area := range adminAreas {
		fmt.Fprintf(&b, "%s (%s): %s\n", area.name, area.alias, area.brief)
		for _, c := range adminCommands() {
			if c.area == area.name {
				line := strings.TrimSpace(c.action + " " + strings.Join(c.args, " "))
				fmt.Fprintf(&b, "  %-42s %s\n", line, firstLine(c.brief))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("Run 'stargate admin AREA ACTION -h' for the flags of one.\n")
	return b.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSuffix(line, ".")
}

var adminCommand = &command{
	name:  "admin",
	brief: "tenants, namespaces, clusters, topics and subscriptions (REST admin API)",
	usage: adminUsage(),
	run:   runAdmin,
}

// findAdmin returns the command of area (or its alias) and action.
func findAdmin(area, action string) *adminCmd {
	for _, a := range adminAreas {
		if area == a.alias {
			area = a.name
		}
	}
	for _, c := range adminCommands() {
		if c.area == area && c.action == action {
			return c
		}
	}
	return nil
}

func adminHelp(a *app, args []string) error {
	if len(args) < 2 {
		fmt.Fprint(a.stdout, adminUsage())
		return nil
	}
	c := findAdmin(args[0], args[1])
	if c == nil {
		return &usageError{msg: fmt.Sprintf("admin: unknown command %q", strings.Join(args[:2], " ")), hint: "stargate admin"}
	}
	fmt.Fprint(a.stdout, c.usage())
	return nil
}

// adminCommandLines lists the admin command lines, for tests.
func adminCommandLines() [][]string {
	var lines [][]string
	for _, c := range adminCommands() {
		lines = append(lines, []string{"admin", c.area, c.action})
	}
	return lines
}

func runAdmin(a *app, ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(a.stdout, adminUsage())
		if len(args) == 0 {
			return usageErr("admin: missing AREA ACTION")
		}
		return nil
	}
	if len(args) == 2 && (args[1] == "-h" || args[1] == "--help") {
		fmt.Fprint(a.stdout, adminUsage()) // every area's actions, on one page
		return nil
	}
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return &usageError{msg: fmt.Sprintf("admin %s: missing ACTION", args[0]), hint: "stargate admin"}
	}
	c := findAdmin(args[0], args[1])
	if c == nil {
		return &usageError{msg: fmt.Sprintf("admin: unknown command %q", args[0]+" "+args[1]), hint: "stargate admin"}
	}
	fs := a.newFlagSet(c.name())
	if c.setup != nil {
		c.setup(fs)
	}
	pos, err := a.parse(fs, args[2:], c.usage(), c.args...)
	if err != nil {
		return err
	}
	out, err := a.output(c.name(), "text", "text", "json")
	if c.messages {
		out, err = a.output(c.name(), "text", "text", "json", "payload")
	}
	if err != nil {
		return err
	}
	r, err := a.resolve()
	if err != nil {
		return err
	}
	client, err := r.admin()
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	x := &adminRun{ctx: ctx, c: client, a: a, json: out == "json", format: out, args: pos, cmd: c}
	return x.classify(c.run(x))
}

// adminRun is one run of an admin command.
type adminRun struct {
	ctx    context.Context
	c      *admin.Client
	a      *app
	json   bool
	format string // -o: text, json or payload
	args   []string
	cmd    *adminCmd
}

// classify marks errors that are neither the server's refusal nor bad
// input as connection failures.
func (x *adminRun) classify(err error) error {
	var ae *admin.Error
	var ue *usageError
	switch {
	case err == nil, errors.As(err, &ae), errors.As(err, &ue), errors.Is(err, stargate.ErrInvalidArgument):
		return err
	case x.ctx.Err() != nil:
		return errInterrupted
	}
	return &connectionError{err}
}

func (x *adminRun) usageErr(format string, args ...any) error {
	return &usageError{msg: x.cmd.name() + ": " + fmt.Sprintf(format, args...), hint: "stargate " + x.cmd.name()}
}

// print writes v as indented JSON with -o json, else text().
func (x *adminRun) print(v any, text func(w io.Writer)) error {
	if x.json {
		enc := json.NewEncoder(x.a.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(x.a.stdout, 0, 4, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// list prints names one a line, or a JSON array.
func (x *adminRun) list(names []string) error {
	if names == nil {
		names = []string{}
	}
	return x.print(names, func(w io.Writer) {
		for _, n := range names {
			fmt.Fprintln(w, n)
		}
	})
}

// done reports a change for people; scripts get the exit status (and
// nothing on stdout).
func (x *adminRun) done(format string, args ...any) error {
	if !x.json {
		fmt.Fprintf(x.a.stdout, format+"\n", args...)
	}
	return nil
}

// row writes tab-separated cells as one line of a table.
func row(w io.Writer, cells ...any) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(w, "\t")
		}
		fmt.Fprint(w, c)
	}
	io.WriteString(w, "\n")
}

// deleteOpts is the --force flag of the delete commands.
func deleteFlag(force *bool) (string, func(fs *flag.FlagSet)) {
	return "  --force                 delete even what is in use\n", func(fs *flag.FlagSet) { fs.BoolVar(force, "force", false, "") }
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
