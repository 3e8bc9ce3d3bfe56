package stargatetest

import (
	"container/heap"
	"sync"
	"time"
)

// scheduler runs delayed callbacks (nack redelivery, ack timeouts, delayed
// delivery, batch flushes, delayed producer acks) on one goroutine that
// stop joins, so no timer goroutine outlives the Server.
type scheduler struct {
	mu    sync.Mutex
	items timerHeap
	seq   uint64
	wake  chan struct{}
	quit  chan struct{}
	done  chan struct{}
}

type timerItem struct {
	at  time.Time
	seq uint64
	f   func()
}

type timerHeap []timerItem

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timerItem)) }
func (h *timerHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func newScheduler() *scheduler {
	s := &scheduler{wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// after runs f on the scheduler goroutine after d. f must validate that
// what it acts on still exists: there is no cancellation.
func (s *scheduler) after(d time.Duration, f func()) {
	s.mu.Lock()
	s.seq++
	heap.Push(&s.items, timerItem{at: time.Now().Add(d), seq: s.seq, f: f})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) run() {
	defer close(s.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.mu.Lock()
		var due []func()
		now := time.Now()
		for len(s.items) > 0 && !s.items[0].at.After(now) {
			due = append(due, heap.Pop(&s.items).(timerItem).f)
		}
		wait := time.Hour
		if len(s.items) > 0 {
			wait = s.items[0].at.Sub(now)
		}
		s.mu.Unlock()
		for _, f := range due {
			f()
		}
		if len(due) > 0 {
			continue // callbacks may have scheduled more work that is due now
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-s.wake:
		case <-s.quit:
			return
		}
	}
}

// stop ends the goroutine and waits for it; pending callbacks are dropped.
func (s *scheduler) stop() {
	close(s.quit)
	<-s.done
}
