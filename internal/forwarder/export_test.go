package forwarder

import (
	"strings"
	"testing"

	"github.com/privlink/privlink/internal/metrics"
)

func TestExporterForget(t *testing.T) {
	reg := metrics.NewRegistry()
	x := newExporter(reg)
	var gone, kept counters
	for _, c := range []*counters{&gone, &kept} {
		c.newConns.Add(2)
		c.resets.Add(1)
		c.bytesIn.Add(10)
		c.bytesOut.Add(20)
		c.active.Add(1)
	}
	x.sync("l1", "t-gone", &gone)
	x.sync("l1", "t-kept", &kept)
	x.sync("l1", "", &gone) // the listener's unassigned connections
	x.forget("l1", "t-gone")
	x.forget("l1", "")

	var b strings.Builder
	if err := reg.WriteText(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if strings.Contains(text, `backend="t-gone"`) || strings.Contains(text, `backend=""`) {
		t.Errorf("forgotten series are still exported:\n%s", text)
	}
	for _, want := range []string{
		`privlink_forwarder_connections_total{listener="l1",backend="t-kept"} 2`,
		`privlink_forwarder_resets_total{listener="l1",backend="t-kept"} 1`,
		`privlink_forwarder_bytes_total{listener="l1",backend="t-kept",direction="in"} 10`,
		`privlink_forwarder_active_connections{listener="l1",backend="t-kept"} 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %s; got:\n%s", want, text)
		}
	}

	// A key that comes back counts from zero.
	var again counters
	again.newConns.Add(1)
	x.sync("l1", "t-gone", &again)
	if got := x.conns.Value("l1", "t-gone"); got != 1 {
		t.Errorf("connections of a returning backend = %v, want 1", got)
	}
}
