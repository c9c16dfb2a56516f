package report

import (
	"testing"
	"time"
)

func TestMarkers(t *testing.T) {
	begin, end := Markers("nlb")
	if want := "<!-- nlb:begin (written by bench/nlb; edits here are overwritten) -->"; begin != want {
		t.Errorf("Markers(nlb) begin = %q, want %q", begin, want)
	}
	if want := "<!-- nlb:end -->"; end != want {
		t.Errorf("Markers(nlb) end = %q, want %q", end, want)
	}
}

func TestMedianOf(t *testing.T) {
	runs := []time.Duration{3, 1, 2, 10}
	f := func(d time.Duration) float64 { return float64(d) }
	if got := MedianOf(runs, f); got != 2.5 {
		t.Errorf("MedianOf(%v) = %v, want 2.5", runs, got)
	}
	if got := Each(runs, f, F0); got != "3, 1, 2, 10" {
		t.Errorf("Each(%v) = %q, want \"3, 1, 2, 10\"", runs, got)
	}
}
