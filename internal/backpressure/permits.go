package backpressure

// Permits turns iterator demand into pull-mode permit frames.
//
// Credit is what the broker may still deliver beyond what the loop has
// taken: permits granted minus messages handed to the loop. When the loop
// asks for a message and credit has fallen to the refill threshold, Demand
// tops credit back up to the window and returns the size of the permit frame
// to send. A loop that stops asking sends no permits, so the broker is never
// more than the window ahead of the loop.
//
// Permits is not safe for concurrent use; its owner serialises calls.
type Permits struct {
	window    int
	threshold int
	credit    int
}

// NewPermits returns a controller with the given window and refill
// threshold. window must be at least 1; threshold is clamped to
// [0, window-1], so a permit frame is always for at least one message.
func NewPermits(window, threshold int) *Permits {
	if window < 1 {
		window = 1
	}
	threshold = max(0, min(threshold, window-1))
	return &Permits{window: window, threshold: threshold}
}

// Demand records that the loop wants another message. It returns the number
// of messages to permit now, or 0 when no permit frame is needed. It never
// returns a negative number.
func (p *Permits) Demand() int {
	if p.credit > p.threshold {
		return 0
	}
	n := p.window - p.credit
	p.credit = p.window
	return n
}

// Taken records that one permitted message was handed to the loop.
func (p *Permits) Taken() {
	if p.credit > 0 {
		p.credit--
	}
}

// Reset forgets all credit, as when the connection that held the permits is
// gone: the next Demand grants a whole window on the new connection.
func (p *Permits) Reset() { p.credit = 0 }

// Credit reports the messages the broker may still deliver unasked.
func (p *Permits) Credit() int { return p.credit }
