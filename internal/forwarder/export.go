package forwarder

import "github.com/privlink/privlink/internal/metrics"

// exporter copies the engine's atomic counters into registry series. The
// registry's series take a lock per update, so flows never touch them: the
// engine adds the differences since the last export, periodically and when
// a listener or backend goes away. Series are by listener and backend key;
// backend="" holds the connections of a listener that found no backend.
// Callers hold Engine.mu.
type exporter struct {
	conns, resets, bytes *metrics.Counter
	active               *metrics.Gauge
	last                 map[[2]string]snapshot
}

type snapshot struct {
	newConns, resets, bytesIn, bytesOut uint64
	active                              int64
}

func newExporter(reg *metrics.Registry) *exporter {
	return &exporter{
		conns:  reg.Counter("privlink_forwarder_connections_total", "Connections accepted by the forwarder, by listener and backend.", "listener", "backend"),
		resets: reg.Counter("privlink_forwarder_resets_total", "Connections the forwarder reset: no backend, failed dials, drains and removals.", "listener", "backend"),
		bytes:  reg.Counter("privlink_forwarder_bytes_total", "Bytes forwarded, by direction: in is client to backend.", "listener", "backend", "direction"),
		active: reg.Gauge("privlink_forwarder_active_connections", "Connections being forwarded.", "listener", "backend"),
		last:   make(map[[2]string]snapshot),
	}
}

func (x *exporter) sync(listener, backend string, c *counters) {
	k := [2]string{listener, backend}
	prev := x.last[k]
	cur := snapshot{
		newConns: c.newConns.Load(),
		resets:   c.resets.Load(),
		bytesIn:  c.bytesIn.Load(),
		bytesOut: c.bytesOut.Load(),
		active:   c.active.Load(),
	}
	if d := cur.newConns - prev.newConns; d > 0 {
		x.conns.Add(float64(d), listener, backend)
	}
	if d := cur.resets - prev.resets; d > 0 {
		x.resets.Add(float64(d), listener, backend)
	}
	if d := cur.bytesIn - prev.bytesIn; d > 0 {
		x.bytes.Add(float64(d), listener, backend, "in")
	}
	if d := cur.bytesOut - prev.bytesOut; d > 0 {
		x.bytes.Add(float64(d), listener, backend, "out")
	}
	if backend != "" || cur.active != prev.active {
		x.active.Set(float64(max(cur.active, 0)), listener, backend)
	}
	x.last[k] = cur
}

// forget deletes the series of a listener and backend pair that went away,
// so that a scrape stops listing what no longer exists; a key that comes
// back starts its series from zero (a counter reset to Prometheus).
func (x *exporter) forget(listener, backend string) {
	x.conns.Delete(listener, backend)
	x.resets.Delete(listener, backend)
	x.bytes.Delete(listener, backend, "in")
	x.bytes.Delete(listener, backend, "out")
	x.active.Delete(listener, backend)
	delete(x.last, [2]string{listener, backend})
}
