package stream

import (
	"fmt"
	"sync"
	"time"
)

// health judges whether the stream makes progress: connected, hearing
// from the server, publishing what it received within twice the flush
// interval.
type health struct {
	mu      sync.Mutex
	limit   time.Duration // twice the flush interval
	now     func() time.Time
	conn    bool
	since   time.Time // when the connection was lost, or last heard from
	connErr error
	heard   time.Time
	pending []time.Time // when the first event of each queued segment arrived, oldest first
	pubErr  error
	stalled bool
}

func newHealth(flush time.Duration, now func() time.Time) *health {
	return &health{limit: 2 * flush, now: now, since: now()}
}

// every is how often the health is judged.
func (h *health) every() time.Duration {
	return min(max(h.limit/8, 50*time.Millisecond), 5*time.Second)
}

func (h *health) connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conn, h.heard, h.connErr = true, h.now(), nil
}

func (h *health) disconnected(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn {
		h.since = h.now()
	}
	h.conn, h.connErr = false, err
}

func (h *health) alive() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.heard = h.now()
}

func (h *health) queued(opened time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = append(h.pending, opened)
}

func (h *health) published(opened time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.pending) > 0 {
		h.pending = h.pending[1:]
	}
	h.pubErr = nil
}

func (h *health) publishFailed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pubErr = err
}

// judge says why the stream is stalled ("" when it is not), given when the
// open segment's first event arrived (zero: none open), and whether that
// changed since the last judgement.
func (h *health) judge(open time.Time) (reason string, changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	oldest := open
	if len(h.pending) > 0 && (oldest.IsZero() || h.pending[0].Before(oldest)) {
		oldest = h.pending[0]
	}
	switch {
	case !h.conn && now.Sub(h.since) > h.limit:
		reason = fmt.Sprintf("no replication connection to the server for %s: %v", now.Sub(h.since).Round(time.Second), h.connErr)
	case h.conn && now.Sub(h.heard) > h.limit:
		reason = fmt.Sprintf("the server sent nothing, not even a heartbeat, for %s", now.Sub(h.heard).Round(time.Second))
	case !oldest.IsZero() && now.Sub(oldest) > h.limit+h.limit/2:
		reason = fmt.Sprintf("events received %s ago are not in the remote yet", now.Sub(oldest).Round(time.Second))
		if h.pubErr != nil {
			reason += fmt.Sprintf(": %v", h.pubErr)
		}
	}
	if (reason != "") != h.stalled {
		h.stalled = reason != ""
		return reason, true
	}
	return reason, false
}
