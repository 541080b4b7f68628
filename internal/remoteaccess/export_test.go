package remoteaccess

// PurgesWaiting counts the purges that wait for the next batch of a server (for the tests of remoteaccess_test too).
func (b *PurgeBatcher) PurgesWaiting(server string, r Runner) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.queues[batchKey{server: server, runner: r}]; q != nil {
		return len(q.waiting)
	}
	return 0
}

// LooksWaiting counts the looks that wait to ride the next batch of a server.
func (b *PurgeBatcher) LooksWaiting(server string, r Runner) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.queues[batchKey{server: server, runner: r}]; q != nil {
		return len(q.looks)
	}
	return 0
}
