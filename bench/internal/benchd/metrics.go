package benchd

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Passes are the count and total duration of the controller's reconcile
// passes, from the daemon's /metrics.
type Passes struct {
	Count   float64
	Seconds float64
}

// Minus is p − q, the passes between two readings.
func (p Passes) Minus(q Passes) Passes { return Passes{p.Count - q.Count, p.Seconds - q.Seconds} }

// Mean is the mean pass duration, 0 without passes.
func (p Passes) Mean() time.Duration {
	if p.Count <= 0 {
		return 0
	}
	return time.Duration(p.Seconds / p.Count * float64(time.Second))
}

// Passes reads the reconcile pass histogram's count and sum; zero if the
// daemon does not answer.
func (d *Daemon) Passes() Passes {
	resp, err := http.Get(d.URL + "/metrics")
	if err != nil {
		return Passes{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p Passes
	for line := range strings.SplitSeq(string(b), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "privlink_reconcile_duration_seconds_count":
			p.Count = v
		case "privlink_reconcile_duration_seconds_sum":
			p.Seconds = v
		}
	}
	return p
}
