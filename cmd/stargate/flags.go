package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// errHelp is returned after -h printed a command's usage: exit 0.
var errHelp = errors.New("help shown")

// newFlagSet returns a flag set for one command with the connection flags
// registered. Flags are bound to a.conn with its current values as
// defaults, so connection flags given before the command survive.
func (a *app) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the command prints its own usage
	fs.Usage = func() {}
	a.conn.register(fs)
	return fs
}

// parse parses args into fs, taking flags from anywhere among the
// arguments ("--" ends the flags), and checks that the positional
// arguments are the ones named (e.g. "TOPIC", "SUBSCRIPTION"); a name in
// brackets ("[TOPIC]") is optional. usage is printed on -h.
func (a *app) parse(fs *flag.FlagSet, args []string, usage string, names ...string) ([]string, error) {
	if a.onParse != nil {
		a.onParse(fs, usage)
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, a.flagError(fs, err, usage)
	}
	hint := "stargate " + fs.Name()
	required := 0
	for _, n := range names {
		if !strings.HasPrefix(n, "[") {
			required++
		}
	}
	switch {
	case len(pos) < required:
		return nil, &usageError{msg: fmt.Sprintf("%s: missing %s", fs.Name(), strings.Join(names[len(pos):required], " ")), hint: hint}
	case len(pos) > len(names):
		return nil, &usageError{msg: fmt.Sprintf("%s: unexpected argument %q", fs.Name(), pos[len(names)]), hint: hint}
	}
	for i, p := range pos {
		if p == "" {
			return nil, &usageError{msg: fmt.Sprintf("%s: empty %s", fs.Name(), strings.Trim(names[i], "[]")), hint: hint}
		}
	}
	return pos, nil
}

func (a *app) flagError(fs *flag.FlagSet, err error, usage string) error {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(a.stdout, usage)
		return errHelp
	}
	return &usageError{msg: fs.Name() + ": " + err.Error(), hint: "stargate " + fs.Name()}
}

// parseInterleaved is fs.Parse that also accepts flags after positional
// arguments, as in "stargate produce TOPIC -m hi".
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil // "--": the rest are arguments
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// choice is a string flag restricted to a set of values (case-insensitive;
// "-" and "_" are the same).
type choice struct {
	val     string
	allowed []string
}

func newChoice(def string, allowed ...string) *choice { return &choice{val: def, allowed: allowed} }

func (c *choice) String() string { return c.val }

func (c *choice) Set(s string) error {
	norm := func(v string) string { return strings.ReplaceAll(strings.ToLower(v), "-", "_") }
	for _, v := range c.allowed {
		if norm(v) == norm(s) {
			c.val = v
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(c.allowed, ", "))
}

// parseAgo parses a time given as RFC 3339 ("2026-12-03T10:00:00Z") or as a
// duration before now ("10m", "1h30m").
func parseAgo(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a duration before now must not be negative", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-12-03T10:00:00Z) or a duration before now (10m)", s)
}
