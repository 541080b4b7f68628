// Package ntlm is the server side of an NTLMv2 logon (MS-NLMP), enough for an HTTP server to accept the
// raw NTLMSSP tokens that Go's NTLM clients send under "Authorization: Negotiate".
//
// It builds the CHALLENGE message without NTLMSSP_NEGOTIATE_KEY_EXCH (the pinned WinRM client refuses it) and
// verifies the NTLMv2 response of the AUTHENTICATE message. It does no signing or sealing: the lab serves
// WinRM over HTTPS, or over HTTP without message encryption.
package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // NTLMv2 is defined on HMAC-MD5.
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //nolint:gosec,staticcheck // NTLM's NT hash is MD4 by definition.
)

// Negotiate flags (MS-NLMP 2.2.2.5) used by the CHALLENGE message.
const (
	FlagUnicode                 uint32 = 0x00000001
	FlagRequestTarget           uint32 = 0x00000004
	FlagNTLM                    uint32 = 0x00000200
	FlagAlwaysSign              uint32 = 0x00008000
	FlagTargetTypeDomain        uint32 = 0x00010000
	FlagExtendedSessionSecurity uint32 = 0x00080000
	FlagTargetInfo              uint32 = 0x00800000
	FlagKeyExchange             uint32 = 0x40000000
)

// Message types.
const (
	TypeNegotiate    uint32 = 1
	TypeChallenge    uint32 = 2
	TypeAuthenticate uint32 = 3
)

// AV pair identifiers (MS-NLMP 2.2.2.1).
const (
	avEOL           uint16 = 0
	avNbComputer    uint16 = 1
	avNbDomain      uint16 = 2
	avDNSComputer   uint16 = 3
	avTimestamp     uint16 = 7
	challengeLength        = 48 // CHALLENGE header without the optional VERSION field
)

var signature = []byte("NTLMSSP\x00")

// ErrLogonFailure is returned when the response does not prove knowledge of the password.
var ErrLogonFailure = errors.New("ntlm: logon failure: unknown user name or bad password")

// MessageType returns the type of an NTLMSSP token (1, 2 or 3).
func MessageType(token []byte) (uint32, error) {
	if len(token) < 12 || !bytes.Equal(token[:8], signature) {
		return 0, errors.New("ntlm: not an NTLMSSP message")
	}
	return binary.LittleEndian.Uint32(token[8:12]), nil
}

// Challenge is the server's half of one handshake: the CHALLENGE message it sent and the nonce it must check.
type Challenge struct {
	ServerChallenge [8]byte
	Domain          string // NetBIOS domain name, sent as TargetName and MsvAvNbDomainName
	Computer        string // NetBIOS computer name, sent as MsvAvNbComputerName
	Issued          time.Time
}

// NewChallenge returns a challenge with a random nonce.
func NewChallenge(domain, computer string) (*Challenge, error) {
	c := &Challenge{Domain: domain, Computer: computer, Issued: time.Now()}
	if _, err := rand.Read(c.ServerChallenge[:]); err != nil {
		return nil, fmt.Errorf("ntlm: server challenge: %w", err)
	}
	return c, nil
}

// Marshal encodes the CHALLENGE message (MS-NLMP 2.2.1.2).
func (c *Challenge) Marshal() []byte {
	targetName := utf16le(c.Domain)
	var info bytes.Buffer
	writeAV(&info, avNbDomain, utf16le(c.Domain))
	writeAV(&info, avNbComputer, utf16le(c.Computer))
	writeAV(&info, avDNSComputer, utf16le(strings.ToLower(c.Computer)))
	stamp := make([]byte, 8)
	binary.LittleEndian.PutUint64(stamp, fileTime(c.Issued))
	writeAV(&info, avTimestamp, stamp)
	writeAV(&info, avEOL, nil)

	flags := FlagUnicode | FlagRequestTarget | FlagNTLM | FlagAlwaysSign | FlagTargetTypeDomain |
		FlagExtendedSessionSecurity | FlagTargetInfo
	msg := make([]byte, challengeLength, challengeLength+len(targetName)+info.Len())
	copy(msg, signature)
	binary.LittleEndian.PutUint32(msg[8:], TypeChallenge)
	putField(msg[12:], len(targetName), challengeLength)
	binary.LittleEndian.PutUint32(msg[20:], flags)
	copy(msg[24:32], c.ServerChallenge[:])
	putField(msg[40:], info.Len(), challengeLength+len(targetName))
	msg = append(msg, targetName...)
	return append(msg, info.Bytes()...)
}

// Authenticate is the decoded AUTHENTICATE message (MS-NLMP 2.2.1.3).
type Authenticate struct {
	Flags       uint32
	User        string // as the client typed it: "user", or "user@domain" with an empty Domain
	Domain      string
	Workstation string
	LMResponse  []byte
	NTResponse  []byte
}

// ParseAuthenticate decodes an AUTHENTICATE message.
func ParseAuthenticate(token []byte) (*Authenticate, error) {
	typ, err := MessageType(token)
	if err != nil {
		return nil, err
	}
	if typ != TypeAuthenticate || len(token) < 64 {
		return nil, fmt.Errorf("ntlm: message type %d is not a valid AUTHENTICATE message", typ)
	}
	a := &Authenticate{Flags: binary.LittleEndian.Uint32(token[60:64])}
	fields := []*[]byte{&a.LMResponse, &a.NTResponse, nil, nil, nil}
	strs := []*string{nil, nil, &a.Domain, &a.User, &a.Workstation}
	for i := range fields {
		raw, err := field(token, 12+8*i)
		if err != nil {
			return nil, err
		}
		if fields[i] != nil {
			*fields[i] = raw
			continue
		}
		*strs[i] = decodeString(raw, a.Flags&FlagUnicode != 0)
	}
	return a, nil
}

// Verify checks the NTLMv2 response of a against the password. A wrong password, an NTLMv1 response
// or a client that asks for key exchange all fail with ErrLogonFailure or a descriptive error.
func (c *Challenge) Verify(a *Authenticate, password string) error {
	if a.Flags&FlagKeyExchange != 0 {
		return errors.New("ntlm: key exchange was not offered")
	}
	// NTProofStr (16) + blob header: RespType, HiRespType, reserved (6), time (8), client challenge (8).
	if len(a.NTResponse) < 16+28 || a.NTResponse[16] != 1 || a.NTResponse[17] != 1 {
		return errors.New("ntlm: only NTLMv2 responses are accepted")
	}
	if a.User == "" {
		return errors.New("ntlm: anonymous logon is not accepted")
	}
	key := NTOWFv2(password, a.User, a.Domain)
	want := NTProofStr(key, c.ServerChallenge[:], a.NTResponse[16:])
	if !hmac.Equal(want, a.NTResponse[:16]) {
		return ErrLogonFailure
	}
	return nil
}

// avChannelBindings is MsvAvChannelBindings (MS-NLMP 2.2.2.1): the MD5 hash of the TLS channel's binding.
const avChannelBindings = 0x000A

// HasChannelBindings reports an NTLMv2 response whose AV pairs carry a channel binding hash that is not all zero.
// Windows' CbtHardeningLevel = Strict refuses a logon without one (internal/lab/WINDOWS.md, WinRM).
func (a *Authenticate) HasChannelBindings() bool {
	const avStart = 16 + 28 // NTProofStr, then the blob's fixed part
	if len(a.NTResponse) < avStart {
		return false
	}
	pairs := a.NTResponse[avStart:]
	for len(pairs) >= 4 {
		id, n := binary.LittleEndian.Uint16(pairs), int(binary.LittleEndian.Uint16(pairs[2:]))
		if id == 0 || len(pairs) < 4+n { // MsvAvEOL, or a truncated pair
			return false
		}
		if id == avChannelBindings {
			return !bytes.Equal(pairs[4:4+n], make([]byte, n))
		}
		pairs = pairs[4+n:]
	}
	return false
}

// NTOWFv2 is the NTLMv2 response key: HMAC_MD5(MD4(UTF16LE(password)), UTF16LE(UPPER(user) + domain)).
func NTOWFv2(password, user, domain string) []byte {
	h := md4.New() //nolint:gosec // the NT hash is MD4 by definition
	h.Write(utf16le(password))
	return hmacMD5(h.Sum(nil), utf16le(strings.ToUpper(user)+domain))
}

// NTProofStr is HMAC_MD5(responseKeyNT, serverChallenge || blob), the first 16 bytes of an NTLMv2 response.
func NTProofStr(responseKeyNT, serverChallenge, blob []byte) []byte {
	return hmacMD5(responseKeyNT, serverChallenge, blob)
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	mac := hmac.New(md5.New, key)
	for _, d := range data {
		mac.Write(d)
	}
	return mac.Sum(nil)
}

func utf16le(s string) []byte {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return b
}

func decodeString(b []byte, unicode bool) string {
	if !unicode {
		return string(b)
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(units))
}

func writeAV(b *bytes.Buffer, id uint16, value []byte) {
	var hdr [4]byte
	binary.LittleEndian.PutUint16(hdr[:], id)
	binary.LittleEndian.PutUint16(hdr[2:], uint16(len(value))) //nolint:gosec // names are short
	b.Write(hdr[:])
	b.Write(value)
}

// putField writes a security buffer descriptor: length, maximum length, offset.
func putField(b []byte, length, offset int) {
	binary.LittleEndian.PutUint16(b, uint16(length))     //nolint:gosec // bounded by the message size
	binary.LittleEndian.PutUint16(b[2:], uint16(length)) //nolint:gosec // bounded by the message size
	binary.LittleEndian.PutUint32(b[4:], uint32(offset)) //nolint:gosec // bounded by the message size
}

// field reads the payload a security buffer descriptor at pos points to.
func field(msg []byte, pos int) ([]byte, error) {
	length := int(binary.LittleEndian.Uint16(msg[pos:]))
	offset := int(binary.LittleEndian.Uint32(msg[pos+4:]))
	if offset > len(msg) || length > len(msg)-offset {
		return nil, errors.New("ntlm: security buffer points outside the message")
	}
	return msg[offset : offset+length], nil
}

// fileTime converts t to Windows FILETIME: 100 ns intervals since 1601-01-01.
func fileTime(t time.Time) uint64 {
	const epochDelta = 116444736000000000
	return uint64(t.UnixNano()/100) + epochDelta //nolint:gosec // times after 1970
}
