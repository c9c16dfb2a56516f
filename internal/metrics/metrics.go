// Package metrics is a small Prometheus registry written on the standard
// library: counters, gauges and histograms with labels, gauges computed at
// scrape time, and the text exposition format (version 0.0.4). There are no
// globals: the daemon builds one Registry and passes it to the components
// that record metrics.
//
// It must not import any privlink package.
package metrics

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Registry holds metric families and renders them. It is safe for
// concurrent use.
type Registry struct {
	mu       sync.Mutex
	families map[string]family
}

// family is one metric name with its HELP, TYPE and samples.
type family interface {
	// write appends the family's sample lines (without HELP and TYPE).
	write(ctx context.Context, b *strings.Builder)
	header() (help, typ string)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{families: make(map[string]family)}
}

func (r *Registry) register(name string, f family) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.families[name]; dup {
		panic(fmt.Sprintf("metrics: %s registered twice", name))
	}
	r.families[name] = f
}

// Counter registers and returns a counter family with the given label
// names. It panics if name is already registered: that is a programming
// error.
func (r *Registry) Counter(name, help string, labels ...string) *Counter {
	c := &Counter{vec: newVec[float64](name, help, labels)}
	if len(labels) == 0 {
		c.Add(0) // an unlabelled series exists from the start, at 0
	}
	r.register(name, c)
	return c
}

// Gauge registers and returns a gauge family with the given label names.
func (r *Registry) Gauge(name, help string, labels ...string) *Gauge {
	g := &Gauge{vec: newVec[float64](name, help, labels)}
	if len(labels) == 0 {
		g.Set(0)
	}
	r.register(name, g)
	return g
}

// GaugeFunc registers an unlabelled gauge whose value fn computes at scrape
// time with the scrape's context. If fn fails, the sample is left out.
func (r *Registry) GaugeFunc(name, help string, fn func(ctx context.Context) (float64, error)) {
	r.register(name, &gaugeFunc{name: name, help: help, fn: fn})
}

// Histogram registers and returns a histogram family with the given upper
// bounds (ascending; +Inf is implied) and label names.
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *Histogram {
	if !slices.IsSorted(buckets) {
		panic(fmt.Sprintf("metrics: %s: buckets not sorted", name))
	}
	h := &Histogram{vec: newVec[*histData](name, help, labels), buckets: slices.Clone(buckets)}
	if len(labels) == 0 {
		h.vec.with(nil, h.newData, func(**histData) {})
	}
	r.register(name, h)
	return h
}

// DefaultBuckets are latency buckets in seconds, from 1 ms to 10 s.
var DefaultBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// WriteText writes every family in the Prometheus text format, families in
// name order and series in label order.
func (r *Registry) WriteText(ctx context.Context, w io.Writer) error {
	r.mu.Lock()
	names := make([]string, 0, len(r.families))
	for name := range r.families {
		names = append(names, name)
	}
	fams := make([]family, 0, len(names))
	slices.Sort(names)
	for _, name := range names {
		fams = append(fams, r.families[name])
	}
	r.mu.Unlock()

	var b strings.Builder
	for i, f := range fams {
		help, typ := f.header()
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", names[i], escapeHelp(help), names[i], typ)
		f.write(ctx, &b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ServeHTTP serves the registry as a Prometheus scrape target.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = r.WriteText(req.Context(), w) // the client went away; nothing to do
}

// vec is a set of series of one family, keyed by their label values.
type vec[V any] struct {
	name   string
	help   string
	labels []string

	mu     sync.Mutex
	series map[string]*series[V]
}

type series[V any] struct {
	values []string
	v      V
}

func newVec[V any](name, help string, labels []string) vec[V] {
	return vec[V]{name: name, help: help, labels: slices.Clone(labels), series: make(map[string]*series[V])}
}

// with runs fn on the series of values, creating it with init if needed.
func (v *vec[V]) with(values []string, init func() V, fn func(*V)) {
	if len(values) != len(v.labels) {
		panic(fmt.Sprintf("metrics: %s: got %d label values, want %d", v.name, len(values), len(v.labels)))
	}
	key := strings.Join(values, "\xff")
	v.mu.Lock()
	defer v.mu.Unlock()
	s, ok := v.series[key]
	if !ok {
		s = &series[V]{values: slices.Clone(values), v: init()}
		v.series[key] = s
	}
	fn(&s.v)
}

// delete removes the series of values, if it has one.
func (v *vec[V]) delete(values []string) {
	key := strings.Join(values, "\xff")
	v.mu.Lock()
	delete(v.series, key)
	v.mu.Unlock()
}

// sorted returns the series sorted by label values, with copies of their
// values made by clone.
func (v *vec[V]) sorted(clone func(V) V) []series[V] {
	v.mu.Lock()
	out := make([]series[V], 0, len(v.series))
	for _, s := range v.series {
		out = append(out, series[V]{values: s.values, v: clone(s.v)})
	}
	v.mu.Unlock()
	slices.SortFunc(out, func(a, b series[V]) int { return slices.Compare(a.values, b.values) })
	return out
}

// labelText renders {a="x",b="y"} plus extra pairs, or "" when there are
// none.
func labelText(names, values []string, extra ...string) string {
	if len(names) == 0 && len(extra) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=\"%s\"", n, escapeLabel(values[i]))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=\"%s\"", extra[i], escapeLabel(extra[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

func identity[V any](v V) V { return v }

// Counter is a family of monotonically increasing values.
type Counter struct{ vec vec[float64] }

// Inc adds 1 to the series with the given label values.
func (c *Counter) Inc(labelValues ...string) { c.Add(1, labelValues...) }

// Add adds d (which must not be negative) to the series with the given
// label values.
func (c *Counter) Add(d float64, labelValues ...string) {
	if d < 0 {
		panic(fmt.Sprintf("metrics: %s: negative counter increment %v", c.vec.name, d))
	}
	c.vec.with(labelValues, func() float64 { return 0 }, func(v *float64) { *v += d })
}

// Delete removes the series with the given label values, for a subject
// that is gone, so that scrapes stop listing it. A later Add starts the
// series again from 0, which Prometheus reads as a counter reset.
func (c *Counter) Delete(labelValues ...string) { c.vec.delete(labelValues) }

// Value returns the current value of a series (0 if it has none yet).
func (c *Counter) Value(labelValues ...string) float64 { return value(&c.vec, labelValues) }

func (c *Counter) header() (string, string) { return c.vec.help, "counter" }

func (c *Counter) write(_ context.Context, b *strings.Builder) {
	for _, s := range c.vec.sorted(identity) {
		fmt.Fprintf(b, "%s%s %s\n", c.vec.name, labelText(c.vec.labels, s.values), formatFloat(s.v))
	}
}

// Gauge is a family of values that go up and down.
type Gauge struct{ vec vec[float64] }

// Set sets the series with the given label values to v.
func (g *Gauge) Set(v float64, labelValues ...string) {
	g.vec.with(labelValues, func() float64 { return 0 }, func(p *float64) { *p = v })
}

// Delete removes the series with the given label values, for a subject
// that is gone.
func (g *Gauge) Delete(labelValues ...string) { g.vec.delete(labelValues) }

// Value returns the current value of a series (0 if it has none yet).
func (g *Gauge) Value(labelValues ...string) float64 { return value(&g.vec, labelValues) }

func (g *Gauge) header() (string, string) { return g.vec.help, "gauge" }

func (g *Gauge) write(_ context.Context, b *strings.Builder) {
	for _, s := range g.vec.sorted(identity) {
		fmt.Fprintf(b, "%s%s %s\n", g.vec.name, labelText(g.vec.labels, s.values), formatFloat(s.v))
	}
}

func value(v *vec[float64], values []string) float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.series[strings.Join(values, "\xff")]; ok {
		return s.v
	}
	return 0
}

type gaugeFunc struct {
	name, help string
	fn         func(ctx context.Context) (float64, error)
}

func (g *gaugeFunc) header() (string, string) { return g.help, "gauge" }

func (g *gaugeFunc) write(ctx context.Context, b *strings.Builder) {
	v, err := g.fn(ctx)
	if err != nil {
		return
	}
	fmt.Fprintf(b, "%s %s\n", g.name, formatFloat(v))
}

// Histogram is a family of distributions, such as request latencies.
type Histogram struct {
	vec     vec[*histData]
	buckets []float64
}

type histData struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

// Observe records v in the series with the given label values.
func (h *Histogram) Observe(v float64, labelValues ...string) {
	h.vec.with(labelValues, h.newData,
		func(d **histData) {
			i, _ := slices.BinarySearch(h.buckets, v) // first bound >= v
			(*d).counts[i]++
			(*d).sum += v
			(*d).count++
		})
}

func (h *Histogram) newData() *histData {
	return &histData{counts: make([]uint64, len(h.buckets)+1)}
}

func (h *Histogram) header() (string, string) { return h.vec.help, "histogram" }

func (h *Histogram) write(_ context.Context, b *strings.Builder) {
	clone := func(d *histData) *histData {
		c := *d
		c.counts = slices.Clone(d.counts)
		return &c
	}
	for _, s := range h.vec.sorted(clone) {
		var cum uint64
		for i, n := range s.v.counts {
			cum += n
			le := "+Inf"
			if i < len(h.buckets) {
				le = formatFloat(h.buckets[i])
			}
			fmt.Fprintf(b, "%s_bucket%s %d\n", h.vec.name, labelText(h.vec.labels, s.values, "le", le), cum)
		}
		ls := labelText(h.vec.labels, s.values)
		fmt.Fprintf(b, "%s_sum%s %s\n", h.vec.name, ls, formatFloat(s.v.sum))
		fmt.Fprintf(b, "%s_count%s %d\n", h.vec.name, ls, s.v.count)
	}
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
