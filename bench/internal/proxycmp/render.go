package proxycmp

import (
	"fmt"
	"strings"

	"github.com/privlink/privlink/bench/internal/report"
)

// Table writes the table of one placement's results: one row per variant,
// each value the median over runs with every run's value in brackets.
func Table(w func(string, ...any), variants []*Variant, res map[string][]Sample) {
	w("| variant | throughput | conn/s | latency p50 | latency p99 | proxy CPU: throughput / conn/s | proxy CPU per connection | CPU0 / CPU1 busy (conn/s) |\n|---|---|---|---|---|---|---|---|\n")
	for _, v := range variants {
		rs := res[v.Name]
		proxy, perConn := "–", "–"
		if v.PID != 0 {
			proxy = fmt.Sprintf("%s %% / %s %%", report.F0(report.MedianOf(rs, ProxyTput)*100), report.F0(report.MedianOf(rs, ProxyConns)*100))
			perConn = report.US(report.MedianOf(rs, ProxyPerConn))
		}
		errs := ""
		if n := Sum(rs, func(s Sample) float64 { return float64(s.CPSErrors) }); n > 0 {
			errs = fmt.Sprintf(" (%.0f failed)", n)
		}
		w("| %s | %s Gbit/s [%s] | %s [%s]%s | %s [%s] | %s [%s] | %s | %s | %s %% / %s %% |\n", v.Name,
			report.F2(report.MedianOf(rs, Gbps)), report.Each(rs, Gbps, report.F2),
			report.F0(report.MedianOf(rs, CPS)), report.Each(rs, CPS, report.F0), errs,
			report.US(report.MedianOf(rs, P50)), report.Each(rs, P50, report.US),
			report.US(report.MedianOf(rs, P99)), report.Each(rs, P99, report.US),
			proxy, perConn,
			report.F0(report.MedianOf(rs, CPUBusy(0))*100), report.F0(report.MedianOf(rs, CPUBusy(1))*100))
	}
}

// Verdict is "met" or "MISSED".
func Verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// Gbps and the functions below pick one measurement of a sample.
func Gbps(s Sample) float64 { return s.Gbps }

// CPS is connections per second.
func CPS(s Sample) float64 { return s.CPS }

// P50 is the latency median, ns.
func P50(s Sample) float64 { return float64(s.P50) }

// P99 is the latency 99th percentile, ns.
func P99(s Sample) float64 { return float64(s.P99) }

// ProxyTput is the proxy's CPU share during the throughput test.
func ProxyTput(s Sample) float64 { return s.TputCPU.Process }

// ProxyConns is the proxy's CPU share during the conn/s test.
func ProxyConns(s Sample) float64 { return s.CPSCPU.Process }

// ProxyPerConn is the proxy's CPU time per completed connection, ns.
func ProxyPerConn(s Sample) float64 {
	if s.CPS <= 0 || s.CPSCPU.Process < 0 {
		return 0
	}
	return s.CPSCPU.Process / s.CPS * 1e9
}

// CPUBusy is a CPU's busy share during the conn/s test.
func CPUBusy(cpu int) func(Sample) float64 {
	return func(s Sample) float64 {
		if cpu < len(s.CPSCPU.PerCPU) {
			return s.CPSCPU.PerCPU[cpu]
		}
		return 0
	}
}

// Ratio is a / b.
func Ratio(a, b float64) float64 { return a / b }

// Diff is a − b.
func Diff(a, b float64) float64 { return a - b }

// PerRun combines two variants' values run by run.
func PerRun(a, b []Sample, f func(Sample) float64, op func(a, b float64) float64, format func(float64) string) string {
	parts := make([]string, min(len(a), len(b)))
	for i := range parts {
		parts[i] = format(op(f(a[i]), f(b[i])))
	}
	return strings.Join(parts, ", ")
}

// Sum is the sum over runs of f.
func Sum(rs []Sample, f func(Sample) float64) float64 {
	var t float64
	for _, r := range rs {
		t += f(r)
	}
	return t
}
