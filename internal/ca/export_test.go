package ca

import "strings"

// Waiting is how many calls wait for the next run at c.
func (r *StateReader) Waiting(c *CA) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if q := r.queues[stateKey{config: strings.ToLower(c.config), runner: c.runner}]; q != nil {
		return len(q.waiting)
	}
	return 0
}

// SendNow sends the calls waiting at c without waiting for the window to end.
func (r *StateReader) SendNow(c *CA) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := stateKey{config: strings.ToLower(c.config), runner: c.runner}
	if q := r.queues[key]; q != nil && !q.inFlight {
		r.sendLocked(key, q)
	}
}
