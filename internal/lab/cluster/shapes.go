package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// Shapes of what Get-NetIPsecMainModeSA prints (WINDOWS.md, Shapes of the SA identities and algorithms). The class
// page of MSFT_NetMainModeSA lists RemoteFirstId and RemoteSecondId as strings and CipherAlgorithm and
// HashAlgorithm as uint16 codes; the seed article's commands read the identities as objects with .Identity and
// .AuthenticationMethod. Neither is known to be what every server prints, so the lab prints either, per server.
const (
	ShapeObject = "object" // identities as {Identity, AuthenticationMethod}, algorithms by name (AES256, SHA256)
	ShapeString = "string" // identities as strings, algorithms as uint16 codes (the class page)
)

// Algorithm codes the class page lists, with its names; the scripts map these to names and keep any other code as
// a number. The lab's tunnels use AES-256 and SHA-256.
const (
	cipherAES256 = 65003
	hashSHA256   = 65001
)

var (
	cipherNames = map[int]string{0: "None", 2: "DES", 6: "3DES", 65001: "AES-128", 65002: "AES-192", cipherAES256: "AES-256",
		65004: "AES-GCM-128", 65005: "AES-GCM-192", 65006: "AES-GCM-256"}
	hashNames = map[int]string{0: "None", 2: "MD5", 3: "SHA-1", hashSHA256: "SHA-256", 65002: "SHA-384", 65003: "AES-GMAC-128",
		65004: "AES-GMAC-192", 65005: "AES-GMAC-256"}
)

func validShape(shape string) bool {
	return shape == "" || shape == ShapeObject || shape == ShapeString
}

// printedIdentity is an identity as a server of that shape prints it.
func printedIdentity(id identity, shape string) any {
	if shape == ShapeString {
		return id.Identity
	}
	return map[string]any{"Identity": id.Identity, "AuthenticationMethod": id.AuthenticationMethod}
}

// printedAlgorithms are the cipher and hash of the lab's tunnels as a server of that shape prints them.
func printedAlgorithms(shape string) (cipher, hash any) {
	if shape == ShapeString {
		return float64(cipherAES256), float64(hashSHA256)
	}
	return "AES256", "SHA256"
}

// idText mirrors the scripts' Get-IdText: a string as it is, an object's Identity, "" for anything else.
func idText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		s, _ := x["Identity"].(string)
		return s
	}
	return ""
}

// idMethod mirrors the scripts' Get-IdMethod: an object's AuthenticationMethod; a string carries none.
func idMethod(v any) string {
	if m, ok := v.(map[string]any); ok {
		s, _ := m["AuthenticationMethod"].(string)
		return s
	}
	return ""
}

// algorithmName mirrors the scripts' Get-AlgorithmName: a code the class page names becomes its name, another
// code stays a number, a name stays as it is.
func algorithmName(v any, names map[int]string) string {
	var text string
	switch x := v.(type) {
	case float64:
		text = strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		text = x
	default:
		return ""
	}
	if code, err := strconv.Atoi(strings.TrimSpace(text)); err == nil && names[code] != "" {
		return names[code]
	}
	return text
}

func (r saRow) firstID() string  { return idText(r.first) }
func (r saRow) secondID() string { return idText(r.second) }

// SetSAShape makes a server print its main-mode SAs in a shape (ShapeObject, the default, or ShapeString).
func (c *Cluster) SetSAShape(server, shape string) error {
	if !validShape(shape) {
		return fmt.Errorf("SA shape %q is not %s or %s", shape, ShapeObject, ShapeString)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saShapes[strings.ToUpper(server)] = shape
	return nil
}

func (c *Cluster) saShape(server string) string { return c.saShapes[strings.ToUpper(server)] }
