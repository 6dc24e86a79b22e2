package edge

import (
	"context"
	"fmt"
	"testing"

	"github.com/udi-edge/udi-edge/agent/testkit"
)

// checkFor polls f until it returns nil or the deadline passes.
var checkFor = testkit.CheckFor

var errorf = fmt.Errorf

// runAgent opens a and runs it until the test ends, then stops and closes
// it; it returns the context the agent runs under.
func runAgent(t *testing.T, a *Agent) context.Context {
	t.Helper()
	stop, err := a.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return context.Background()
}

// connected reports which devices of a have their port open.
func (a *Agent) connected() map[string]bool {
	m := map[string]bool{}
	for _, d := range a.devices() {
		m[d.ID] = d.Connected
	}
	return m
}
