package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
)

// rowsCheck is a state check on the rows (a list of objects) of one attribute of a data source, read from the state
// as `terraform show -json` prints it, with nulls as nil.
type rowsCheck struct {
	address, attribute string
	check              func(rows []map[string]any) error
}

var _ statecheck.StateCheck = rowsCheck{}

func checkRows(address, attribute string, check func(rows []map[string]any) error) rowsCheck {
	return rowsCheck{address: address, attribute: attribute, check: check}
}

func (c rowsCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		resp.Error = fmt.Errorf("%s: no state", c.address)
		return
	}
	i := slices.IndexFunc(req.State.Values.RootModule.Resources, func(r *tfjson.StateResource) bool { return r.Address == c.address })
	if i < 0 {
		resp.Error = fmt.Errorf("%s is not in the state", c.address)
		return
	}
	raw, _ := req.State.Values.RootModule.Resources[i].AttributeValues[c.attribute].([]any)
	rows := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		row, _ := r.(map[string]any)
		rows = append(rows, row)
	}
	if err := c.check(rows); err != nil {
		resp.Error = fmt.Errorf("%s.%s: %w", c.address, c.attribute, err)
	}
}

// strs turns a list attribute of a row into strings.
func strs(v any) []string {
	list, _ := v.([]any)
	out := []string{}
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// num reads a number of the JSON state, which terraform-json decodes as json.Number; NaN for anything else.
func num(v any) float64 {
	n, ok := v.(json.Number)
	if !ok {
		return math.NaN()
	}
	f, err := n.Float64()
	if err != nil {
		return math.NaN()
	}
	return f
}

// serverAddress is the provider's name (the address) of a lab server.
func (l *testLab) serverAddress(name string) string {
	for _, s := range l.info.Servers {
		if strings.EqualFold(s.Name, name) {
			return s.Address
		}
	}
	return ""
}

// snapshot is the lab's cluster model now.
func (l *testLab) snapshot() cluster.Snapshot { return l.Cluster().Snapshot() }

// breakServer makes a lab server drop every connection without an answer, as a server that is down would, until
// the test ends.
func (l *testLab) breakServer(t *testing.T, name string) {
	t.Helper()
	l.Server(name).Faults().SetDropConnections(true)
	t.Cleanup(func() { l.Server(name).Faults().SetDropConnections(false) })
}

// Short names of the lab model's rows.
type (
	clusterVPN = cluster.VPNSnapshot
	clusterDA  = cluster.DirectAccessSnapshot
)
