// Package lab assembles the offline Remote Access lab from its parts: an AD-like directory (ldapserver), an
// emulated Remote Access cluster (cluster) and one WS-Management server (wsman) per cluster node, all on loopback
// addresses and reached only over the network, as real servers would be. The provider's acceptance tests and the
// remoteaccess-lab command (cmd/remoteaccess-lab) start it with Start and hand Info to the provider.
//
// How the parts are wired, and why:
//   - Each server listens on its own loopback address (127.0.0.11, 127.0.0.12, ...) and all on the same port,
//     because the provider has one WinRM port for all its servers.
//   - One lab CA signs every certificate, so that one PEM (Info.CACertificatePEM) verifies the whole lab. Each WinRM
//     certificate names the server's loopback address, since the provider verifies the address it dials; wsman's own
//     certificates name 127.0.0.1 only, so the lab terminates TLS itself in front of a plain-HTTP wsman server
//     (front.go), one backend connection per client connection because NTLM authenticates the connection.
//   - The directory's certificate comes from the same CA (ldapserver.WithCA). ldapserver names 127.0.0.1, ::1 and
//     its DNS names in it, so the embedded directory listens on 127.0.0.1 (or ::1).
//   - The cluster asks the directory over LDAP, as a client's authentication would, whether a purged client's
//     accounts are still enabled before letting it re-establish its security associations after ReestablishDelay
//     (WINDOWS.md, DirectAccess tunnels). Disabling an account over LDAP is therefore what keeps a purged client out.
//   - With ExternalDirectory (e.g. a Samba AD DC) the embedded directory is not started and the cluster asks the
//     external one; its domain must be the cluster seed's.
//   - With Kerberos, the servers also accept tickets from that real domain's KDC for one service principal they
//     share (as the nodes of an NLB cluster share their cluster name's SPN), with the keys the domain exported into a
//     keytab. The lab has no KDC of its own, so Kerberos goes with an external directory.
//
// The lab imports nothing of the provider (internal/winrm, internal/remoteaccess, internal/directory, ...); its
// tests drive it with the provider's own clients.
package lab
