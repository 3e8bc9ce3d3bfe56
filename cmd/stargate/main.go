// Command stargate produces to, consumes from, reads and administers Apache
// Pulsar topics over the broker's WebSocket and REST admin APIs.
//
// Install it with
//
//	go install github.com/stargate-go/stargate/cmd/stargate@latest
//
// Usage:
//
//	stargate [connection flags] COMMAND [flags] [arguments]
//
//	stargate produce TOPIC [-m TEXT]... [-f FILE] [--json]   messages from arguments, a file or stdin
//	stargate consume TOPIC -s SUB [-n N]                     print and acknowledge a subscription's messages
//	stargate read TOPIC [--start earliest|latest|ID|TIME]    read a topic without a subscription
//	stargate admin AREA ACTION ...                           tenants, namespaces, clusters, topics, subs
//	stargate help [COMMAND]                                  the usage of a command
//
// Flags may come before or after the arguments. "stargate help COMMAND" (or
// "stargate COMMAND -h") lists a command's flags.
//
// # Connection
//
// The service URL comes from --url or STARGATE_URL (default
// ws://localhost:8080; several comma-separated URLs of one cluster for
// failover); the admin REST URL from --admin-url or STARGATE_ADMIN_URL,
// by default the service URL with http(s) for ws(s). A token comes from
// --token, --token-file, STARGATE_TOKEN or STARGATE_TOKEN_FILE (the file
// is read again at every connection, so a rotated token is picked up).
// TLS: --tls-ca (STARGATE_TLS_CA), --tls-cert and --tls-key
// (STARGATE_TLS_CERT, STARGATE_TLS_KEY) for mutual TLS, --tls-insecure
// (STARGATE_TLS_INSECURE=true) to skip verification. Flags win over the
// environment.
//
// # Output
//
// Output is for people by default (tables, human sizes) and for scripts with
// -o json (one JSON value per line for messages). Messages go to stdout;
// progress, the final summary and errors go to stderr, with a live count and
// rate while stderr is a terminal. -q silences the summary.
//
// # Interrupting
//
// The first Ctrl-C (SIGINT or SIGTERM) stops cleanly: produce stops reading
// input, waits for the acknowledgement of every message already sent and
// reports any message it read but did not send; consume stops taking
// messages and closes the consumer after its acknowledgements have been
// written. A second Ctrl-C ends the process at once.
//
// # Exit status
//
//	0    success, including a consume or read without -n ended by Ctrl-C or --wait
//	1    any other failure: bad input data (a malformed --json line, a message too large), local I/O
//	2    usage error: unknown command or flag, bad flag value, missing argument, unreadable TLS or token file
//	3    connection error: the server could not be reached, TLS failed, a send timed out
//	4    the server refused: an HTTP status (unauthorized, not found, conflict, …), a send error, a terminated topic
//	     (consume retries a busy subscription, 409, for 3s first: the broker releases a closed
//	     Exclusive consumer asynchronously, so a consume right after another one may meet it)
//	130  interrupted before the command was done (input left unsent, fewer than -n messages)
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := &app{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		// After the first signal a second one kills the process: stop
		// restores the default handlers.
		interrupted: stop,
		stderrTTY:   isTerminal(os.Stderr),
		stdinTTY:    isTerminal(os.Stdin),
	}
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
