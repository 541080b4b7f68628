package ca

import "strings"

// Waiting is how many calls wait for the next run at the CA config.
func (r *StateReader) Waiting(config string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if q := r.queues[strings.ToLower(config)]; q != nil {
		return len(q.waiting)
	}
	return 0
}

// SendNow sends the calls waiting at the CA config without waiting for the window to end.
func (r *StateReader) SendNow(config string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if q := r.queues[strings.ToLower(config)]; q != nil && !q.inFlight {
		r.sendLocked(strings.ToLower(config), q)
	}
}
