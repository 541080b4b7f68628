package winrm

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Benchmarks of the decoding every run pays for; `make bench` runs them. No test asserts a time.

// clixmlErrors is PowerShell 5.1's error stream for a failure: a progress record, then n error lines.
func clixmlErrors(n int) string {
	var b strings.Builder
	b.WriteString("#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">" +
		"<Obj S=\"progress\" RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN>" +
		"<MS><I64 N=\"SourceId\">1</I64><PR N=\"Record\"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI>" +
		"<PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>")
	for i := range n {
		fmt.Fprintf(&b, "<S S=\"Error\">Remove-NetIPsecMainModeSA : The SA %d of CORP\\j_x00F8_rn was not found._x000D__x000A_</S>", i)
	}
	b.WriteString("</Objs>")
	return b.String()
}

func BenchmarkDecodeCLIXML(b *testing.B) {
	for _, lines := range []int{4, 64} {
		stderr := clixmlErrors(lines)
		b.Run(fmt.Sprintf("%d_lines", lines), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(stderr)))
			for b.Loop() {
				if DecodeCLIXML(stderr) == "" {
					b.Fatal("nothing decoded")
				}
			}
		})
	}
}

// benchSA has the shape of a main-mode SA in a script's result.
type benchSA struct {
	Name           string `json:"name"`
	LocalEndpoint  string `json:"local_endpoint"`
	RemoteEndpoint string `json:"remote_endpoint"`
	RemoteFirstID  string `json:"remote_first_id"`
	RemoteSecondID string `json:"remote_second_id"`
	QuickModeSAs   int    `json:"quick_mode_sas"`
}

// scriptStdout is what a script prints: an informational line, then {"result": {"sas": [...]}} with n SAs.
func scriptStdout(n int) []byte {
	sas := make([]benchSA, n)
	for i := range sas {
		sas[i] = benchSA{
			Name: fmt.Sprintf("%d", 1000+i), LocalEndpoint: "2002:c000:22a::c000:22a", RemoteEndpoint: fmt.Sprintf("2001:db8::%x", i),
			RemoteFirstID: fmt.Sprintf(`CORP\CLIENT%d$`, i), RemoteSecondID: fmt.Sprintf(`CORP\user%d`, i), QuickModeSAs: 2,
		}
	}
	doc, err := json.Marshal(map[string]any{"result": map[string]any{"sas": sas}})
	if err != nil {
		panic(err)
	}
	return append(append([]byte("WARNING: module loaded\r\n"), doc...), '\r', '\n')
}

func BenchmarkDecodeScriptOutput(b *testing.B) {
	c := &Client{cfg: Config{Host: "ras1"}}
	s := Script{Name: "get-ipsec-sas/v1"}
	for _, n := range []int{1, 200} {
		res := &result{stdout: scriptStdout(n)}
		b.Run(fmt.Sprintf("%d_sas", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(res.stdout)))
			for b.Loop() {
				var out struct {
					SAs []benchSA `json:"sas"`
				}
				if err := c.decode(s, res, &out); err != nil || len(out.SAs) != n {
					b.Fatalf("decode: %d SAs, %v", len(out.SAs), err)
				}
			}
		})
	}
}
