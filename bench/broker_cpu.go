package bench

import (
	"bufio"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-go/stargate/dockertest"
)

// Broker CPU per message: the bench samples the broker JVM's own CPU time
// (utime+stime of /proc/<pid>/stat) over each row's measured window. On a
// machine where the broker shares the cores with the clients, the client's
// msg/s says how the two split the machine; broker µs per message says what
// a message costs the broker, which predicts what a bigger broker would do.
// The figure is only meaningful when nothing else uses the broker during
// the window (a shared broker also serves other tenants' traffic).

// FindBrokerPID returns the pid of the broker process serving any of urls
// (ws://, http:// or pulsar:// URLs of one broker). It looks first in the
// dockertest state file named by STARGATE_PULSAR_STATE (the entry whose
// WSURL, AdminURL or ServiceURL matches), then for the local process
// listening on one of the URLs' TCP ports (/proc/net/tcp{,6} → socket inode
// → /proc/<pid>/fd). The process must be on this machine: a broker in a
// container or on another host has no pid here, and FindBrokerPID returns
// an error.
func FindBrokerPID(urls ...string) (int, error) {
	if p := os.Getenv("STARGATE_PULSAR_STATE"); p != "" {
		if s, err := dockertest.ReadState(p); err == nil {
			for _, b := range s.Brokers {
				for _, u := range urls {
					if u != "" && b.PID > 0 && (sameURL(u, b.WSURL) || sameURL(u, b.AdminURL) || sameURL(u, b.ServiceURL)) {
						if _, ok := procCPU(b.PID); ok {
							return b.PID, nil
						}
					}
				}
			}
		}
	}
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil || pu.Port() == "" {
			continue
		}
		port, err := strconv.Atoi(pu.Port())
		if err != nil {
			continue
		}
		if pid := listenerPID(port); pid > 0 {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no local broker process found for %v", urls)
}

func sameURL(a, b string) bool {
	return a != "" && strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// listenerPID returns the pid of the process with a listening TCP socket on
// port, or 0.
func listenerPID(port int) int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		s := bufio.NewScanner(fh)
		for s.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fl := strings.Fields(s.Text())
			if len(fl) < 10 || fl[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fl[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); ok && err == nil && int(p) == port {
				inodes["socket:["+fl[9]+"]"] = true
			}
		}
		fh.Close()
	}
	if len(inodes) == 0 {
		return 0
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && inodes[l] {
			pid, _ := strconv.Atoi(strings.Split(fd, "/")[2])
			return pid
		}
	}
	return 0
}

// BrokerCPU is a running sample of one process's CPU time. The zero value
// (pid 0) samples nothing and reports NaN.
type BrokerCPU struct {
	pid   int
	start time.Duration
	ok    bool
}

// StartBrokerCPU begins a sample of pid's user+system CPU time.
func StartBrokerCPU(pid int) BrokerCPU {
	if pid <= 0 {
		return BrokerCPU{}
	}
	c, ok := procCPU(pid)
	return BrokerCPU{pid: pid, start: c, ok: ok}
}

// Seconds returns the CPU seconds pid used since StartBrokerCPU, or NaN when
// the process could not be read at either end (gone, or no pid). The
// resolution is one clock tick (10 ms).
func (b BrokerCPU) Seconds() float64 {
	if !b.ok {
		return math.NaN()
	}
	c, ok := procCPU(b.pid)
	if !ok || c < b.start {
		return math.NaN()
	}
	return (c - b.start).Seconds()
}
