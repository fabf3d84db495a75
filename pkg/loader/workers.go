package loader

// The goroutines that run statements: the data workers, the control
// connections that run table definitions in dump order, and the counter
// they wait on.

import (
	"context"
	"sync"
)

// counter counts finished statements and lets others wait for a count.
type counter struct {
	mu      sync.Mutex
	n       int64
	waiters []waiter
}

type waiter struct {
	n  int64
	ch chan struct{}
}

func (c *counter) add() {
	c.mu.Lock()
	c.n++
	w := c.waiters[:0]
	for _, x := range c.waiters {
		if c.n >= x.n {
			close(x.ch)
		} else {
			w = append(w, x)
		}
	}
	c.waiters = w
	c.mu.Unlock()
}

// wait returns when the count reaches n, or with ctx's error.
func (c *counter) wait(ctx context.Context, n int64) error {
	c.mu.Lock()
	if c.n >= n {
		c.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	c.waiters = append(c.waiters, waiter{n, ch})
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// work runs data statements until the queue closes.
func (l *loader) work(ctx context.Context, c *lconn) error {
	for {
		var it *item
		select {
		case it = <-l.data:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if it == nil {
			return nil
		}
		if it.ready != nil {
			select {
			case <-it.ready:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		if it.waitFor != nil {
			if err := it.waitFor.done.wait(ctx, it.waitN); err != nil {
				return err
			}
		}
		done, err := l.loadText(ctx, c, it)
		if err != nil {
			return err
		}
		if !done {
			if err := l.exec(ctx, c, it); err != nil {
				return err
			}
		}
		if it.done != nil {
			close(it.done)
		}
		if it.keys {
			l.keys.Add(1)
		} else {
			l.inserts.Add(1)
		}
		it.table.done.add()
		l.allDone.add()
		l.sem.Release(it.weight)
	}
}

// control runs the table definitions of ch in dump order until it closes.
func (l *loader) control(ctx context.Context, c *lconn, ch <-chan *item) error {
	for {
		var it *item
		select {
		case it = <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if it == nil {
			return nil
		}
		if it.waitFor != nil {
			if err := it.waitFor.done.wait(ctx, it.waitN); err != nil {
				return err
			}
		}
		if it.waitAll > 0 {
			if err := l.allDone.wait(ctx, it.waitAll); err != nil {
				return err
			}
		}
		if err := l.exec(ctx, c, it); err != nil {
			return err
		}
		if it.done != nil {
			close(it.done)
		}
	}
}
