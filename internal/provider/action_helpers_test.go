package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Actions are driven through the provider's protocol server, as Terraform 1.14 drives them: validate, plan, then
// invoke with its stream of progress events.

// objectValue is a value of an object type whose attributes are null except those given.
func objectValue(typ tftypes.Object, set map[string]tftypes.Value) tftypes.Value {
	values := map[string]tftypes.Value{}
	for name, attrType := range typ.AttributeTypes {
		values[name] = tftypes.NewValue(attrType, nil)
		if v, ok := set[name]; ok {
			values[name] = v
		}
	}
	return tftypes.NewValue(typ, values)
}

func strList(values ...string) tftypes.Value {
	elems := make([]tftypes.Value, len(values))
	for i, v := range values {
		elems[i] = str(v)
	}
	return tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, elems)
}

// actionConfig is an action's configuration with the given attributes set and the others null.
func actionConfig(t *testing.T, server tfprotov6.ProviderServer, actionType string, set map[string]tftypes.Value) *tfprotov6.DynamicValue {
	t.Helper()
	schema, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	as, ok := schema.ActionSchemas[actionType]
	if !ok {
		t.Fatalf("the provider has no action %s", actionType)
	}
	typ := as.Schema.ValueType().(tftypes.Object)
	config, err := tfprotov6.NewDynamicValue(typ, objectValue(typ, set))
	if err != nil {
		t.Fatal(err)
	}
	return &config
}

// validateAction returns the error summaries of validating and planning an action, as Terraform does at plan time.
func validateAction(t *testing.T, server tfprotov6.ProviderServer, actionType string, set map[string]tftypes.Value) []string {
	t.Helper()
	ctx := context.Background()
	config := actionConfig(t, server, actionType, set)
	actions := actionsOf(t, server)
	v, err := actions.ValidateActionConfig(ctx, &tfprotov6.ValidateActionConfigRequest{ActionType: actionType, Config: config})
	if err != nil {
		t.Fatal(err)
	}
	p, err := actions.PlanAction(ctx, &tfprotov6.PlanActionRequest{ActionType: actionType, Config: config})
	if err != nil {
		t.Fatal(err)
	}
	return errorsIn(append(v.Diagnostics, p.Diagnostics...))
}

// invokeAction validates, plans and invokes an action, and returns its progress messages and its final errors.
func invokeAction(t *testing.T, server tfprotov6.ProviderServer, actionType string, set map[string]tftypes.Value) (progress, errs []string) {
	t.Helper()
	if errs := validateAction(t, server, actionType, set); len(errs) > 0 {
		t.Fatalf("%s does not validate: %q", actionType, errs)
	}
	stream, err := actionsOf(t, server).InvokeAction(context.Background(), &tfprotov6.InvokeActionRequest{
		ActionType: actionType, Config: actionConfig(t, server, actionType, set),
	})
	if err != nil {
		t.Fatal(err)
	}
	completed := false
	for event := range stream.Events {
		switch e := event.Type.(type) {
		case tfprotov6.ProgressInvokeActionEventType:
			progress = append(progress, e.Message)
		case tfprotov6.CompletedInvokeActionEventType:
			completed = true
			errs = errorsIn(e.Diagnostics)
		}
	}
	if !completed {
		t.Fatalf("%s sent no completed event", actionType)
	}
	return progress, errs
}

// actionsOf is the action half of the provider's protocol server.
func actionsOf(t *testing.T, server tfprotov6.ProviderServer) tfprotov6.ActionServer {
	t.Helper()
	actions, ok := server.(tfprotov6.ActionServer)
	if !ok {
		t.Fatal("the provider server does not serve actions")
	}
	return actions
}

func errorsIn(diags []*tfprotov6.Diagnostic) []string {
	var out []string
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			out = append(out, d.Summary+": "+d.Detail)
		}
	}
	return out
}
