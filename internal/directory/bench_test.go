package directory

import (
	"fmt"
	"testing"
)

// Benchmarks of building the identities a block purges, once per block; `make bench` runs them. No test asserts a time.

func BenchmarkDeviceIdentities(b *testing.B) {
	dom := DomainInfo{DNSRoot: "corp.example", NetBIOSName: "CORP"}
	acct := Account{SAMAccountName: "LAPTOP-0042$", DNSHostName: "laptop-0042.corp.example", Kind: KindComputer}
	b.ReportAllocs()
	for b.Loop() {
		if ids := DeviceIdentities(acct, dom); len(ids) != 3 {
			b.Fatalf("identities %v", ids)
		}
	}
}

func BenchmarkUserIdentities(b *testing.B) {
	dom := DomainInfo{DNSRoot: "corp.example", NetBIOSName: "CORP"}
	for i, upn := range []string{"alice@corp.example", "alice@contoso.example"} {
		acct := Account{SAMAccountName: "alice", UserPrincipalName: upn, Kind: KindUser}
		b.Run(fmt.Sprintf("upn_%d", i), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ids := UserIdentities(acct, dom); len(ids) < 2 {
					b.Fatalf("identities %v", ids)
				}
			}
		})
	}
}
