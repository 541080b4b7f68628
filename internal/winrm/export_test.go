package winrm

// DropConnections closes the client's idle HTTP connections and forgets them, as a server or a network that drops
// idle connections does: the next request opens a new connection and, with NTLM, logs on again.
func DropConnections(c *Client) { c.transport.close() }
