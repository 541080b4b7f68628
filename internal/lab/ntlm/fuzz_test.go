package ntlm

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/Azure/go-ntlmssp"
)

// No token a client makes up logs on: whatever bytes arrive, parsing and verifying them neither panics nor succeeds
// without the password, and a genuine token answers its own challenge only (the seed replays one to another).
func FuzzParseAuthenticate(f *testing.F) {
	earlier, err := NewChallenge("CORP", "RAS1")
	if err != nil {
		f.Fatal(err)
	}
	if token, err := ntlmssp.NewAuthenticateMessage(earlier.Marshal(), `CORP\admin`, "S3cret!", nil); err == nil {
		f.Add(token)
	}
	c, err := NewChallenge("CORP", "RAS1")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token []byte) {
		_, _ = MessageType(token)
		a, err := ParseAuthenticate(token)
		if err != nil {
			return
		}
		if err := c.Verify(a, "S3cret!"); err == nil {
			t.Fatalf("a token made without the password verified: %x", token)
		}
	})
}

// A real client's logon names exactly the account it was made for, and a change to any byte of it either fails
// verification or leaves the account it names the same (the LM response and the workstation are not covered by
// the proof, and the user name is compared without case, as Windows does).
func FuzzAuthenticateNamesItsAccount(f *testing.F) {
	f.Fuzz(func(t *testing.T, domain, user, password string, flip uint16) {
		if !utf8.ValidString(domain) || !utf8.ValidString(user) || !utf8.ValidString(password) || user == "" || strings.ContainsAny(domain+user, `\@`) {
			return
		}
		c, err := NewChallenge("CORP", "RAS1")
		if err != nil {
			t.Fatal(err)
		}
		token, err := ntlmssp.NewAuthenticateMessage(c.Marshal(), domain+`\`+user, password, nil)
		if err != nil {
			return // the client refuses names it cannot encode
		}
		a, err := ParseAuthenticate(token)
		if err != nil {
			t.Fatalf("the client's token does not parse: %v", err)
		}
		if a.User != user || a.Domain != domain {
			t.Fatalf("the token names %q\\%q, want %q\\%q", a.Domain, a.User, domain, user)
		}
		if err := c.Verify(a, password); err != nil {
			t.Fatalf("the client's token does not verify: %v", err)
		}
		if err := c.Verify(a, password+"x"); err == nil {
			t.Fatal("the token verifies with another password")
		}
		changed := append([]byte(nil), token...)
		i := int(flip) % len(changed)
		changed[i] ^= 1 << (flip % 8)
		b, err := ParseAuthenticate(changed)
		if err != nil || c.Verify(b, password) != nil {
			return
		}
		if !strings.EqualFold(b.User, user) || b.Domain != domain {
			t.Fatalf("flipping byte %d makes the logon name %q\\%q, want %q\\%q", i, b.Domain, b.User, domain, user)
		}
	})
}
