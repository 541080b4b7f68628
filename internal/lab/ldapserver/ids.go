package ldapserver

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// guidNamespace scopes the name-based (version 5) GUIDs the lab derives, so
// they never collide with GUIDs from elsewhere.
var guidNamespace = uuid.MustParse("6f1c3a52-7d0e-4b8e-9a61-0c2d5e8f4a17")

// objectGUID returns the 16 bytes of an objectGUID as AD stores and sends
// them: the GUID's first three groups little-endian, the rest as written
// (internal/lab/WINDOWS.md, Active Directory). A GUID given in the seed wins; otherwise it is derived from
// the object's stable name.
func objectGUID(given, derivedFrom string) ([]byte, error) {
	var g uuid.UUID
	if given != "" {
		var err error
		if g, err = uuid.Parse(given); err != nil {
			return nil, fmt.Errorf("object_guid %q: %w", given, err)
		}
	} else {
		g = uuid.NewSHA1(guidNamespace, []byte(strings.ToLower(derivedFrom)))
	}
	return guidToWire(g), nil
}

func guidToWire(g uuid.UUID) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b[0:4], binary.BigEndian.Uint32(g[0:4]))
	binary.LittleEndian.PutUint16(b[4:6], binary.BigEndian.Uint16(g[4:6]))
	binary.LittleEndian.PutUint16(b[6:8], binary.BigEndian.Uint16(g[6:8]))
	copy(b[8:], g[8:])
	return b
}

// GUIDString formats objectGUID wire bytes the way Windows prints them.
func GUIDString(wire []byte) (string, error) {
	if len(wire) != 16 {
		return "", fmt.Errorf("objectGUID must be 16 bytes, got %d", len(wire))
	}
	var g uuid.UUID
	binary.BigEndian.PutUint32(g[0:4], binary.LittleEndian.Uint32(wire[0:4]))
	binary.BigEndian.PutUint16(g[4:6], binary.LittleEndian.Uint16(wire[4:6]))
	binary.BigEndian.PutUint16(g[6:8], binary.LittleEndian.Uint16(wire[6:8]))
	copy(g[8:], wire[8:])
	return g.String(), nil
}

// sid is a Windows security identifier.
type sid struct {
	authority uint64
	subs      []uint32
}

func parseSID(s string) (sid, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || !strings.EqualFold(parts[0], "S") || parts[1] != "1" {
		return sid{}, fmt.Errorf("malformed SID %q", s)
	}
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil {
		return sid{}, fmt.Errorf("malformed SID %q: %w", s, err)
	}
	out := sid{authority: auth}
	for _, p := range parts[3:] {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return sid{}, fmt.Errorf("malformed SID %q: %w", s, err)
		}
		out.subs = append(out.subs, uint32(v))
	}
	if len(out.subs) > 15 {
		return sid{}, fmt.Errorf("malformed SID %q: too many sub-authorities", s)
	}
	return out, nil
}

// domainSID derives S-1-5-21-a-b-c from the domain's DNS name.
func domainSID(dnsName string) sid {
	h := sha256.Sum256([]byte(strings.ToLower(dnsName)))
	return sid{authority: 5, subs: []uint32{
		21,
		binary.BigEndian.Uint32(h[0:4]),
		binary.BigEndian.Uint32(h[4:8]),
		binary.BigEndian.Uint32(h[8:12]),
	}}
}

func (s sid) withRID(rid uint32) sid {
	subs := append(append([]uint32(nil), s.subs...), rid)
	return sid{authority: s.authority, subs: subs}
}

// bytes is the binary objectSid: revision, count, 48-bit big-endian
// authority, little-endian sub-authorities.
func (s sid) bytes() []byte {
	b := make([]byte, 8+4*len(s.subs))
	// The authority is the low 48 bits of a big-endian uint64; revision and
	// count are written over its two high bytes.
	binary.BigEndian.PutUint64(b[0:8], s.authority)
	b[0] = 1
	b[1] = byte(len(s.subs)) //nolint:gosec // parseSID allows at most 15 sub-authorities
	for i, v := range s.subs {
		binary.LittleEndian.PutUint32(b[8+4*i:], v)
	}
	return b
}

func (s sid) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "S-1-%d", s.authority)
	for _, v := range s.subs {
		fmt.Fprintf(&sb, "-%d", v)
	}
	return sb.String()
}

// firstDerivedRID is above the RIDs Windows hands to built-in principals.
const (
	firstDerivedRID = 1104
	derivedRIDSpan  = 1 << 24
)

// derivedRID maps a sAMAccountName to a stable RID; the store resolves the
// rare collision by probing upwards.
func derivedRID(samAccountName string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(samAccountName)))
	return firstDerivedRID + h.Sum32()%derivedRIDSpan
}
