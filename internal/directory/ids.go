package directory

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// decodeGUID turns the 16 bytes of objectGUID into the canonical lowercase 8-4-4-4-12 form.
// Windows stores the first three groups little-endian (the GUID struct's Data1..Data3), the rest as bytes.
func decodeGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID has %d bytes, want 16", len(b))
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]), binary.LittleEndian.Uint16(b[6:8]),
		b[8:10], b[10:16]), nil
}

// encodeGUID is the inverse of decodeGUID. It accepts upper or lower case and optional braces.
func encodeGUID(s string) ([]byte, error) {
	invalid := &ValidationError{Field: "GUID", Value: s, Reason: "want the form 01234567-89ab-cdef-0123-456789abcdef"}
	t := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return nil, invalid
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(t, "-", ""))
	if err != nil {
		return nil, invalid
	}
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b[0:4], binary.BigEndian.Uint32(raw[0:4]))
	binary.LittleEndian.PutUint16(b[4:6], binary.BigEndian.Uint16(raw[4:6]))
	binary.LittleEndian.PutUint16(b[6:8], binary.BigEndian.Uint16(raw[6:8]))
	copy(b[8:], raw[8:])
	return b, nil
}

// escapeBytes writes every byte as \xx, the filter form for a binary attribute value (RFC 4515).
func escapeBytes(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, `\%02x`, c)
	}
	return s.String()
}

// decodeSID turns a binary objectSid into its string form S-1-5-21-...: revision, sub-authority count,
// a 48-bit big-endian identifier authority, then little-endian 32-bit sub-authorities.
func decodeSID(b []byte) (string, error) {
	if len(b) < 8 || len(b) != 8+4*int(b[1]) {
		return "", fmt.Errorf("objectSid of %d bytes is malformed", len(b))
	}
	var authority uint64
	for _, c := range b[2:8] {
		authority = authority<<8 | uint64(c)
	}
	s := "S-" + strconv.Itoa(int(b[0])) + "-" + strconv.FormatUint(authority, 10)
	for i := 0; i < int(b[1]); i++ {
		s += "-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return s, nil
}

// domainRID returns the relative identifier of an account SID of a domain (S-1-5-21-a-b-c-RID).
func domainRID(sid string) (uint32, bool) {
	parts := strings.Split(sid, "-")
	if len(parts) != 8 || !strings.HasPrefix(sid, "S-1-5-21-") {
		return 0, false
	}
	rid, err := strconv.ParseUint(parts[7], 10, 32)
	return uint32(rid), err == nil
}
