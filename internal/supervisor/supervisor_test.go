package supervisor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIsScript(t *testing.T) {
	tests := map[string]bool{
		"#!/bin/sh\necho hi\n": true,
		"#!":                   true,
		"#cloud-config\n":      false,
		"echo hi":              false,
		" #!/bin/sh":           false,
		"":                     false,
	}
	for in, want := range tests {
		if got := IsScript([]byte(in)); got != want {
			t.Errorf("IsScript(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCheckWorkload(t *testing.T) {
	good := Workload{ID: "i-0123456789abcdef0", Namespace: "plk-i-0123456789abcdef0"}
	if err := checkWorkload(good); err != nil {
		t.Errorf("checkWorkload(%+v) = %v", good, err)
	}
	for _, w := range []Workload{
		{ID: "", Namespace: "plk-x"},
		{ID: "../x", Namespace: "plk-x"},
		{ID: ".hidden", Namespace: "plk-x"},
		{ID: "i-1", Namespace: ""},
		{ID: "i-1", Namespace: "a/b"},
		{ID: "i-1", Namespace: ".."},
	} {
		if err := checkWorkload(w); err == nil {
			t.Errorf("checkWorkload(%+v) = nil, want an error", w)
		}
	}
}

func TestSetRejectsBadInput(t *testing.T) {
	s := &Supervisor{cfg: Config{StateDir: t.TempDir()}, known: map[string]*entry{}}
	w := Workload{ID: "i-1", Namespace: "plk-i-1"}
	if err := s.Set(t.Context(), []Workload{w, w}); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("Set(duplicate) = %v, want a duplicate error", err)
	}
	if err := s.Set(t.Context(), []Workload{{ID: "i-1", Namespace: "../x"}}); err == nil {
		t.Error("Set(bad namespace) = nil, want an error")
	}
}

func TestRecordRoundTrip(t *testing.T) {
	s := &Supervisor{cfg: Config{StateDir: t.TempDir()}}
	if err := os.Mkdir(s.dir("i-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	code := 3
	want := &record{
		Namespace: "plk-i-1", NetNS: 4026532244, PID: 42, StartTime: 123456, BootID: "b",
		State: stateExited, ExitCode: &code, Boots: 2,
		Started: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), Finished: time.Date(2025, 6, 1, 12, 1, 0, 0, time.UTC),
	}
	if err := s.save("i-1", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.load("i-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("load() mismatch (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(s.dir("i-1"), RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("record mode = %v, want 0600", fi.Mode().Perm())
	}
	if des, _ := os.ReadDir(s.dir("i-1")); len(des) != 1 {
		t.Errorf("directory holds %d entries, want only the record (no temporary files)", len(des))
	}
}

func TestConsoleLog(t *testing.T) {
	s := &Supervisor{cfg: Config{StateDir: t.TempDir()}}
	ctx := context.Background()
	if got, err := s.ConsoleLog(ctx, "i-1"); err != nil || got != nil {
		t.Errorf("ConsoleLog(unknown) = %q, %v; want nothing", got, err)
	}
	if _, err := s.ConsoleLog(ctx, "../etc"); err == nil {
		t.Error("ConsoleLog(../etc) = nil error")
	}
	if err := os.Mkdir(s.dir("i-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	long := append(bytes.Repeat([]byte("a"), ConsoleMax), "the end\n"...)
	if err := os.WriteFile(filepath.Join(s.dir("i-1"), ConsoleFile), long, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConsoleLog(ctx, "i-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != ConsoleMax || !bytes.HasSuffix(got, []byte("the end\n")) {
		t.Errorf("ConsoleLog() = %d bytes ending %q, want the last %d bytes", len(got), got[max(0, len(got)-8):], ConsoleMax)
	}
}
