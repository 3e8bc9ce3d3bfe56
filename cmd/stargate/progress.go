package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// meter counts messages and bytes, shows a live count and rate on stderr
// when it is a terminal, and prints the final summary. Its goroutine, if
// any, is stopped and waited for by finish.
type meter struct {
	verb   string // "produced", "consumed", "read"
	w      io.Writer
	quiet  bool
	start  time.Time
	count  atomic.Int64
	bytes  atomic.Int64
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	isLive bool // the live line is on
}

// progressEvery is how often the live line is redrawn.
const progressEvery = 500 * time.Millisecond

func (a *app) newMeter(verb string) *meter {
	m := &meter{verb: verb, w: a.stderr, quiet: a.conn.quiet, start: time.Now(), stop: make(chan struct{})}
	if a.stderrTTY && !a.conn.quiet {
		m.isLive = true
		m.wg.Go(m.live)
	}
	return m
}

// add counts one message of n payload bytes.
func (m *meter) add(n int) {
	m.count.Add(1)
	m.bytes.Add(int64(n))
}

func (m *meter) live() {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	last, lastAt := int64(0), m.start
	for {
		select {
		case <-m.stop:
			fmt.Fprint(m.w, "\r\033[K") // clear the live line
			return
		case now := <-t.C:
			n := m.count.Load()
			rate := float64(n-last) / now.Sub(lastAt).Seconds()
			last, lastAt = n, now
			fmt.Fprintf(m.w, "\r\033[K%s %s messages, %s, %s msg/s", m.verb, humanCount(n), humanBytes(m.bytes.Load()), humanCount(int64(rate+0.5)))
		}
	}
}

// clearLine clears the live line, if any, before another line is
// printed on stderr (the live line is redrawn at the next tick).
func (m *meter) clearLine() {
	if m.isLive {
		fmt.Fprint(m.w, "\r\033[K")
	}
}

// finish stops the live line and prints the summary, with extra appended
// ("; 2 not sent").
func (m *meter) finish(extra string) {
	m.once.Do(func() {
		close(m.stop)
		m.wg.Wait()
		if m.quiet {
			return
		}
		fmt.Fprintln(m.w, m.summary(time.Since(m.start))+extra)
	})
}

func (m *meter) summary(d time.Duration) string {
	n := m.count.Load()
	s := fmt.Sprintf("%s %s %s (%s) in %s", m.verb, humanCount(n), plural(n, "message"), humanBytes(m.bytes.Load()), d.Round(time.Millisecond))
	if sec := d.Seconds(); n > 0 && sec > 0 {
		s += fmt.Sprintf(", %s msg/s", humanCount(int64(float64(n)/sec+0.5)))
	}
	return s
}

func plural(n int64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
