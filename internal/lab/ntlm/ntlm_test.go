package ntlm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/Azure/go-ntlmssp"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSpecVectors checks the NTLMv2 computations against MS-NLMP section 4.2.4.
func TestSpecVectors(t *testing.T) {
	key := NTOWFv2("Password", "User", "Domain")
	if want := mustHex(t, "0c868a403bfd7a93a3001ef22ef02e3f"); !bytes.Equal(key, want) {
		t.Fatalf("NTOWFv2 = %x, want %x", key, want)
	}
	var blob bytes.Buffer
	blob.Write(mustHex(t, "0101000000000000"))    // RespType, HiRespType, reserved
	blob.Write(make([]byte, 8))                   // time
	blob.Write(mustHex(t, "aaaaaaaaaaaaaaaa"))    // client challenge
	blob.Write(make([]byte, 4))                   // reserved
	writeAV(&blob, avNbDomain, utf16le("Domain")) // server's AV pairs
	writeAV(&blob, avNbComputer, utf16le("Server"))
	writeAV(&blob, avEOL, nil)
	blob.Write(make([]byte, 4))
	proof := NTProofStr(key, mustHex(t, "0123456789abcdef"), blob.Bytes())
	if want := mustHex(t, "68cd0ab851e51c96aabc927bebef6a1c"); !bytes.Equal(proof, want) {
		t.Fatalf("NTProofStr = %x, want %x", proof, want)
	}
}

func TestChallengeMessage(t *testing.T) {
	c, err := NewChallenge("CORP", "RAS1")
	if err != nil {
		t.Fatal(err)
	}
	msg := c.Marshal()
	if typ, err := MessageType(msg); err != nil || typ != TypeChallenge {
		t.Fatalf("MessageType = %d, %v", typ, err)
	}
	if got := decodeString(mustField(t, msg, 12), true); got != "CORP" {
		t.Errorf("target name = %q, want CORP", got)
	}
	info := mustField(t, msg, 40)
	if !bytes.Contains(info, append([]byte{2, 0, 8, 0}, utf16le("CORP")...)) {
		t.Errorf("target info %x lacks MsvAvNbDomainName CORP", info)
	}
}

func mustField(t *testing.T, msg []byte, pos int) []byte {
	t.Helper()
	b, err := field(msg, pos)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRealClient runs the handshake with the NTLM client library the WinRM client uses.
func TestRealClient(t *testing.T) {
	for _, tc := range []struct {
		name, user, password string
		wantErr              error
		wantUser, wantDomain string
	}{
		{name: "plain user", user: "admin", password: "S3cret!", wantUser: "admin"},
		{name: "down-level name", user: "CORP\\admin", password: "S3cret!", wantUser: "admin", wantDomain: "CORP"},
		{name: "UPN", user: "admin@corp.example", password: "S3cret!", wantUser: "admin@corp.example"},
		{name: "wrong password", user: "CORP\\admin", password: "nope", wantErr: ErrLogonFailure},
		{name: "non-ASCII password", user: "admin", password: "pässwörd€", wantUser: "admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			negotiate, err := ntlmssp.NewNegotiateMessage("", "")
			if err != nil {
				t.Fatal(err)
			}
			if typ, err := MessageType(negotiate); err != nil || typ != TypeNegotiate {
				t.Fatalf("negotiate type = %d, %v", typ, err)
			}
			c, err := NewChallenge("CORP", "RAS1")
			if err != nil {
				t.Fatal(err)
			}
			token, err := ntlmssp.NewAuthenticateMessage(c.Marshal(), tc.user, tc.password, nil)
			if err != nil {
				t.Fatalf("client refused the challenge: %v", err)
			}
			a, err := ParseAuthenticate(token)
			if err != nil {
				t.Fatal(err)
			}
			if a.User != tc.wantUser && tc.wantErr == nil || a.Domain != tc.wantDomain && tc.wantErr == nil {
				t.Errorf("user, domain = %q, %q; want %q, %q", a.User, a.Domain, tc.wantUser, tc.wantDomain)
			}
			password := "S3cret!"
			if tc.name == "non-ASCII password" {
				password = tc.password
			}
			if err := c.Verify(a, password); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyRejectsOtherChallenge(t *testing.T) {
	c1, _ := NewChallenge("CORP", "RAS1")
	c2, _ := NewChallenge("CORP", "RAS1")
	token, err := ntlmssp.NewAuthenticateMessage(c1.Marshal(), "admin", "pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAuthenticate(token)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Verify(a, "pw"); !errors.Is(err, ErrLogonFailure) {
		t.Fatalf("a response to another challenge verified: %v", err)
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	for _, token := range [][]byte{nil, []byte("NTLMSSP\x00\x03\x00\x00\x00"), append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0xff}, 60)...)} {
		if _, err := ParseAuthenticate(token); err == nil {
			t.Errorf("ParseAuthenticate(%x) accepted garbage", token)
		}
	}
}

// A channel binding counts only when the response carries MsvAvChannelBindings with a hash that is not all zero.
func TestHasChannelBindings(t *testing.T) {
	blob := func(pairs ...[]byte) []byte {
		r := make([]byte, 16+28)
		for _, p := range pairs {
			r = append(r, p...)
		}
		return append(r, 0, 0, 0, 0) // MsvAvEOL
	}
	av := func(id uint16, value []byte) []byte {
		return append([]byte{byte(id), byte(id >> 8), byte(len(value)), byte(len(value) >> 8)}, value...)
	}
	hash := bytes.Repeat([]byte{0xab}, 16)
	for name, tc := range map[string]struct {
		response []byte
		want     bool
	}{
		"none":              {blob(av(2, []byte("C\x00"))), false},
		"all zero":          {blob(av(2, []byte("C\x00")), av(0x0A, make([]byte, 16))), false},
		"a hash":            {blob(av(2, []byte("C\x00")), av(0x0A, hash)), true},
		"truncated":         {blob(av(0x0A, hash))[:16+28+10], false},
		"too short to hold": {make([]byte, 20), false},
	} {
		if got := (&Authenticate{NTResponse: tc.response}).HasChannelBindings(); got != tc.want {
			t.Errorf("%s: HasChannelBindings = %v, want %v", name, got, tc.want)
		}
	}
}
