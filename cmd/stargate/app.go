package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
)

// app is one run of the command: its streams, environment and the
// connection flags shared by every subcommand. Nothing in it is global, so
// tests run the command in-process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// interrupted, if set, is called once a command has noticed the first
	// interrupt; main restores the default signal handlers there, so that
	// a second Ctrl-C ends the process at once.
	interrupted func()
	stderrTTY   bool // live progress on stderr
	stdinTTY    bool // hint when reading messages from a terminal

	conn connFlags

	// onParse, if set, sees each command's flag set before it parses
	// (tests check that the usage text lists every flag).
	onParse func(fs *flag.FlagSet, usage string)
}

// command is one subcommand.
type command struct {
	name  string
	brief string
	usage string // full usage text, flags included
	run   func(a *app, ctx context.Context, args []string) error
}

// commands are the top-level subcommands; admin has its own table.
func commands() []*command {
	return []*command{produceCommand, consumeCommand, readCommand, adminCommand, versionCommand}
}

const topUsage = `Usage: stargate [connection flags] COMMAND [flags] [arguments]

Commands:
%s
Connection flags (also accepted after the command):
` + connUsage + `
Run 'stargate help COMMAND' for a command's flags.

Exit status: 0 done; 1 other failure (bad input data, local I/O); 2 usage error;
3 connection error; 4 refused by the server; 130 interrupted before done.
`

func (a *app) topUsage() string {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.brief)
	}
	fmt.Fprintf(&b, "  %-9s %s\n", "help", "show the usage of a command")
	return fmt.Sprintf(topUsage, b.String())
}

// run runs the command line args and returns the exit status.
func (a *app) run(ctx context.Context, args []string) int {
	err := a.dispatch(ctx, args)
	return a.report(err)
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	fs := a.newFlagSet("stargate")
	if err := fs.Parse(args); err != nil {
		return a.flagError(fs, err, a.topUsage())
	}
	args = fs.Args()
	if len(args) == 0 {
		fmt.Fprint(a.stderr, a.topUsage())
		return usageErr("no command given")
	}
	name, args := args[0], args[1:]
	if name == "help" {
		return a.help(args)
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(a, ctx, args)
		}
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", name), hint: "stargate help"}
}

func (a *app) help(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(a.stdout, a.topUsage())
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if c == adminCommand && len(args) > 1 {
				return adminHelp(a, args[1:])
			}
			fmt.Fprint(a.stdout, c.usage)
			return nil
		}
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", args[0]), hint: "stargate help"}
}

// report prints err on stderr and returns the exit status for it.
func (a *app) report(err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	code := exitCode(err)
	if errors.Is(err, errInterrupted) {
		// The summary said what was left; say why we stopped.
		fmt.Fprintln(a.stderr, "stargate: interrupted")
		return code
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "stargate: ") { // the library's errors have it already
		msg = "stargate: " + msg
	}
	fmt.Fprintln(a.stderr, msg)
	var ue *usageError
	if errors.As(err, &ue) && ue.hint != "" {
		fmt.Fprintf(a.stderr, "Run '%s -h' for usage.\n", ue.hint)
	}
	return code
}

// noteInterrupt is called by a command once it has seen ctx end because of a
// signal: from then on a second signal ends the process.
func (a *app) noteInterrupt() {
	if a.interrupted != nil {
		a.interrupted()
	}
}

const versionUsage = "Usage: stargate version\n\nPrints the module version and the Go version it was built with.\n"

var versionCommand = &command{
	name:  "version",
	brief: "print the version of stargate",
	usage: versionUsage,
	run: func(a *app, _ context.Context, args []string) error {
		fs := a.newFlagSet("version")
		if _, err := a.parse(fs, args, versionUsage); err != nil {
			return err
		}
		v, gov := "(devel)", ""
		if bi, ok := debug.ReadBuildInfo(); ok {
			v, gov = bi.Main.Version, bi.GoVersion
			if v == "" {
				v = "(devel)"
			}
		}
		fmt.Fprintf(a.stdout, "stargate %s %s\n", v, gov)
		return nil
	},
}

// flagNames returns the names of fs's flags, sorted, for tests.
func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	return names
}
