// Package report holds what the benchmark programs under bench/ share to
// write their results: the description of the machine, the load average,
// nearest-rank percentiles, medians over runs and their formatting, the
// command line as typed, and the rewrite of one program's marked section of
// RESULTS.md.
//
// It imports only the standard library and golang.org/x/sys.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Machine describes the host: CPUs, CPU model, kernel.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "unknown kernel"
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		kernel = "Linux " + unix.ByteSliceToString(u.Release[:])
	}
	return fmt.Sprintf("nproc %s, %s, %s", Output("nproc"), model, kernel)
}

// LoadAvg returns the 1, 5 and 15 minute load averages.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Output runs a command and returns its trimmed stdout, or "unknown".
func Output(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// Tree describes the git working tree of the current directory: its HEAD
// commit, and whether it has uncommitted changes.
func Tree() string {
	head := Output("git", "rev-parse", "--short", "HEAD")
	if head == "unknown" {
		return "unknown tree"
	}
	if Output("git", "status", "--porcelain", "--untracked-files=no") != "" {
		return head + " with uncommitted changes"
	}
	return head
}

// Command renders how a program was invoked; under `go run` argv[0] is a
// temporary binary, so it is shown as `go run <pkg>`.
func Command(argv []string, pkg string) string {
	name := argv[0]
	if strings.Contains(name, "go-build") {
		name = "go run " + pkg
	}
	return strings.Join(append([]string{name}, argv[1:]...), " ")
}

// Percentile returns the nearest-rank p-quantile (0 < p ≤ 1) of ds, which
// it does not modify; 0 for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// Median returns the median of xs (the mean of the middle two for an even
// count); 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MedianDuration is Median for durations.
func MedianDuration(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(Median(xs))
}

// MedianOf returns the median over runs of f (Median).
func MedianOf[T any](runs []T, f func(T) float64) float64 {
	xs := make([]float64, len(runs))
	for i, r := range runs {
		xs[i] = f(r)
	}
	return Median(xs)
}

// Each lists f of every run, formatted, comma-separated.
func Each[T any](runs []T, f func(T) float64, format func(float64) string) string {
	parts := make([]string, len(runs))
	for i, r := range runs {
		parts[i] = format(f(r))
	}
	return strings.Join(parts, ", ")
}

// F2 formats with two decimals.
func F2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

// F0 formats with no decimals.
func F0(x float64) string { return strconv.FormatFloat(x, 'f', 0, 64) }

// US formats nanoseconds as microseconds.
func US(ns float64) string { return fmt.Sprintf("%.1f µs", ns/1e3) }

// Markers returns the lines that begin and end the section of RESULTS.md
// that the program bench/<program> writes.
func Markers(program string) (begin, end string) {
	return "<!-- " + program + ":begin (written by bench/" + program + "; edits here are overwritten) -->",
		"<!-- " + program + ":end -->"
}

// Publish prints section and, unless out is "" or "-" (stdout only),
// writes it into the file out between begin and end (WriteSection).
func Publish(out, begin, end, section string) error {
	fmt.Print(section)
	if out == "" || out == "-" {
		return nil
	}
	if err := WriteSection(out, begin, end, section); err != nil {
		return err
	}
	log.Printf("wrote %s", out)
	return nil
}

// WriteSection replaces the part of the file at path from the line begin to
// the line end (both included) with section, which starts with begin and
// ends with end; without such a part it appends section, creating the file if
// needed. Everything else in the file is kept.
func WriteSection(path, begin, end, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(old) == 0 {
		old = []byte("# Benchmark results\n\nHow to run: see README.md in this directory.\n")
	}
	section = strings.TrimSuffix(section, "\n")
	var out []byte
	i := bytes.Index(old, []byte(begin))
	j := bytes.Index(old, []byte(end))
	if i >= 0 && j > i {
		out = append(out, old[:i]...)
		out = append(out, section...)
		out = append(out, old[j+len(end):]...)
	} else {
		out = append(bytes.TrimRight(old, "\n"), "\n\n"...)
		out = append(out, section...)
		out = append(out, '\n')
	}
	return os.WriteFile(path, out, 0o644)
}
