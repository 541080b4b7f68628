package strictjson

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type doc struct {
		Name string `json:"name"`
	}
	var d doc
	if err := Decode([]byte(`{"name":"CLIENT1"}`), &d); err != nil || d.Name != "CLIENT1" {
		t.Fatalf("Decode = %+v, %v", d, err)
	}
	cases := map[string]string{
		`{"hostname":"CLIENT1"}`:     "unknown field",
		`{"name":"CLIENT1"} {"x":1}`: "after the JSON document",
		`{"name":`:                   "unexpected EOF",
	}
	for in, want := range cases {
		if err := Decode([]byte(in), &doc{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%s) = %v, want an error containing %q", in, err, want)
		}
	}
}
