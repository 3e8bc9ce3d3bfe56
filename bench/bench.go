// Package bench runs stargate side by side with its peers against a real
// Pulsar broker and prints one table whose columns follow pulsar-perf's
// (msg/s, payload MiB/s, latency percentiles) plus what pulsar-perf does not
// show: wire bytes, client CPU per message, allocations per message and peak
// RSS.
//
// Every (client, scenario) pair runs in its own process (the command
// re-executes itself, or runs pulsar-perf), so CPU time (getrusage), peak
// RSS and allocation counts belong to that client alone.
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Histogram is a log-linear latency histogram in nanoseconds with 128
// sub-buckets per power of two (relative error under 0.8%). The zero value
// is ready; it is not safe for concurrent use.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // 128
	histBuckets = (64-histSubBits)*histSub + histSub
)

func histIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(v) - (histSubBits + 1)
	return shift*histSub + int(v>>shift)
}

// histUpper returns the largest value that falls in bucket i.
func histUpper(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	mant := uint64(i - shift*histSub)
	return (mant+1)<<shift - 1
}

// Record adds one observation; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[histIndex(v)]++
	h.n++
	h.max = max(h.max, v)
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 { return h.n }

// Quantile returns the smallest recorded bucket bound at or below which a
// fraction q of the observations lie (HdrHistogram's "highest equivalent
// value"), capped at the maximum observed. It returns 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			return time.Duration(min(histUpper(i), h.max))
		}
	}
	return time.Duration(h.max)
}

// Result is one row of the table. Fields that do not apply are NaN (floats)
// or negative (integers); NA marks a scenario the client cannot run.
type Result struct {
	Client   string `json:"client"`
	Scenario string `json:"scenario"`
	NA       bool   `json:"na,omitempty"`
	Note     string `json:"note,omitempty"`
	Err      string `json:"err,omitempty"`

	Msgs         int64   `json:"msgs"`
	Seconds      float64 `json:"seconds"`
	PayloadBytes int64   `json:"payloadBytes"`
	WireBytes    int64   `json:"wireBytes"` // -1: unknown
	Errors       int64   `json:"errors"`

	// Latencies in milliseconds; NaN when not measured.
	P50, P95, P99, P999 float64 `json:"-"`

	CPUSeconds float64 `json:"-"` // user+system during the window; NaN: unknown
	// BrokerCPUSeconds is the broker JVM's user+system CPU during the same
	// window (see broker_cpu.go); NaN: unknown.
	BrokerCPUSeconds float64 `json:"-"`
	Allocs           int64   `json:"allocs"`  // heap allocations during the window; -1: unknown
	PeakRSS          int64   `json:"peakRSS"` // bytes; -1: unknown
}

// NA returns the row of a scenario the client cannot run.
func NA(client, scenario, why string) Result {
	return Result{Client: client, Scenario: scenario, NA: true, Note: why}
}

// SetLatency fills the percentile fields from h (NaN when h is empty).
func (r *Result) SetLatency(h *Histogram) {
	if h == nil || h.Count() == 0 {
		r.P50, r.P95, r.P99, r.P999 = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		return
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	r.P50, r.P95, r.P99, r.P999 = ms(h.Quantile(.50)), ms(h.Quantile(.95)), ms(h.Quantile(.99)), ms(h.Quantile(.999))
}

// MarshalJSON keeps NaN out of the JSON (it becomes null).
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	f := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		plain
		P50  *float64 `json:"p50"`
		P95  *float64 `json:"p95"`
		P99  *float64 `json:"p99"`
		P999 *float64 `json:"p999"`
		CPU  *float64 `json:"cpuSeconds"`
		BCPU *float64 `json:"brokerCpuSeconds"`
	}{plain(r), f(r.P50), f(r.P95), f(r.P99), f(r.P999), f(r.CPUSeconds), f(r.BrokerCPUSeconds)})
}

// UnmarshalJSON reverses MarshalJSON.
func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	var v struct {
		plain
		P50  *float64 `json:"p50"`
		P95  *float64 `json:"p95"`
		P99  *float64 `json:"p99"`
		P999 *float64 `json:"p999"`
		CPU  *float64 `json:"cpuSeconds"`
		BCPU *float64 `json:"brokerCpuSeconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Result(v.plain)
	g := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	r.P50, r.P95, r.P99, r.P999, r.CPUSeconds = g(v.P50), g(v.P95), g(v.P99), g(v.P999), g(v.CPU)
	r.BrokerCPUSeconds = g(v.BCPU)
	return nil
}

// Rate returns messages per second.
func (r *Result) Rate() float64 {
	if r.Seconds <= 0 {
		return math.NaN()
	}
	return float64(r.Msgs) / r.Seconds
}

// Columns is the table header.
var Columns = []string{"client", "scenario", "msg/s", "MiB/s payload", "MiB/s wire",
	"p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "CPU µs/msg", "broker µs/msg", "allocs/msg", "peak RSS MiB", "note"}

// Row formats r as table cells.
func (r *Result) Row() []string {
	if r.NA || (r.Err != "" && r.Msgs <= 0) { // nothing measured: no figures at all
		note := r.Note
		if !r.NA {
			note = strings.TrimSpace("error: " + r.Err + "; " + note)
		}
		row := []string{r.Client, r.Scenario}
		for range len(Columns) - 3 {
			row = append(row, "n/a")
		}
		return append(row, note)
	}
	note := r.Note
	if r.Err != "" {
		note = strings.TrimSpace("error: " + r.Err + "; " + note)
	}
	if r.Errors > 0 {
		note = strings.TrimSpace(fmt.Sprintf("%d send errors; %s", r.Errors, note))
	}
	sec := r.Seconds
	per := func(v float64) string {
		if r.Msgs <= 0 || math.IsNaN(v) || v < 0 {
			return "n/a"
		}
		return fmtNum(v / float64(r.Msgs))
	}
	mibs := func(b int64) string {
		if b < 0 || sec <= 0 {
			return "n/a"
		}
		return fmtNum(float64(b) / sec / (1 << 20))
	}
	// ≤ 0 is "unknown" too: a zero Result has 0, and a real window shorter
	// than the 10-ms clock tick can read 0.
	brokerPer := "n/a"
	if r.BrokerCPUSeconds > 0 {
		brokerPer = per(r.BrokerCPUSeconds * 1e6)
	}
	rss := "n/a"
	if r.PeakRSS >= 0 {
		rss = fmtNum(float64(r.PeakRSS) / (1 << 20))
	}
	allocs := "n/a"
	if r.Allocs >= 0 {
		allocs = per(float64(r.Allocs))
	}
	rate := fmtNum(r.Rate())
	if r.Msgs <= 0 { // never a rate of 0: say what happened instead
		rate = "n/a"
		if r.Err == "" {
			note = strings.TrimSpace("no message in the window; " + note)
		}
	}
	return []string{r.Client, r.Scenario, rate, mibs(r.PayloadBytes), mibs(r.WireBytes),
		fmtMs(r.P50), fmtMs(r.P95), fmtMs(r.P99), fmtMs(r.P999),
		per(r.CPUSeconds * 1e6), brokerPer, allocs, rss, note}
}

// fmtNum prints three significant digits, without exponent.
func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func fmtMs(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmtNum(v)
}

// WriteTable prints rs as an aligned text table; markdown selects a
// GitHub-flavoured markdown table instead.
func WriteTable(w io.Writer, rs []Result, markdown bool) error {
	if markdown {
		line := func(cells []string) string { return "| " + strings.Join(cells, " | ") + " |\n" }
		var b strings.Builder
		b.WriteString(line(Columns))
		seps := make([]string, len(Columns))
		for i := range seps {
			seps[i] = "---"
		}
		b.WriteString(line(seps))
		for _, r := range rs {
			b.WriteString(line(r.Row()))
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(Columns, "\t"))
	for _, r := range rs {
		fmt.Fprintln(tw, strings.Join(r.Row(), "\t"))
	}
	return tw.Flush()
}

// Usage is a snapshot of this process's resource counters.
type Usage struct {
	When    time.Time
	CPU     time.Duration // user + system
	Mallocs uint64
	IO      int64 // rchar + wchar from /proc/self/io; -1 when unavailable
	MaxRSS  int64 // bytes
}

// Snapshot reads the counters of this process. It calls runtime.ReadMemStats
// (a short stop-the-world), so take it outside hot loops only.
func Snapshot() Usage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Usage{
		When:    time.Now(),
		CPU:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		Mallocs: ms.Mallocs,
		IO:      procIO("self"),
		MaxRSS:  peakRSS("self"),
	}
}

// peakRSS returns VmHWM of a process, in bytes, or -1. Unlike the maxrss of
// getrusage/wait4, which Linux carries over from the pre-exec image (so a
// child would inherit its parent's peak), VmHWM belongs to the current
// address space.
func peakRSS(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n * 1024
		}
	}
	return -1
}

// procIO returns rchar+wchar of a process from /proc/<pid>/io, or -1. Socket
// reads and writes count; on a client process that does no other I/O during
// the window this is its WebSocket (or binary protocol) traffic, TCP/IP
// headers excluded.
func procIO(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/io")
	if err != nil {
		return -1
	}
	var total int64
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "rchar" || k == "wchar") {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			total += n
		}
	}
	return total
}

// procCPU returns the user+system CPU time of a process from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 utime
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15 stime
	const hz = 100                           // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, true
}

// Fill sets the window fields of r from two snapshots.
func (r *Result) Fill(a, b Usage) {
	r.Seconds = b.When.Sub(a.When).Seconds()
	r.CPUSeconds = (b.CPU - a.CPU).Seconds()
	r.Allocs = int64(b.Mallocs - a.Mallocs)
	r.WireBytes = -1
	if a.IO >= 0 && b.IO >= 0 {
		r.WireBytes = b.IO - a.IO
	}
	r.PeakRSS = b.MaxRSS
}
