package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// statLine returns a /proc/<pid>/stat line with the given command name,
// state and start time (field 22).
func statLine(pid int, comm string, state byte, start uint64) string {
	return fmt.Sprintf("%d (%s) %c %s %d %s\n", pid, comm, state, strings.Repeat("0 ", 17)+"0", start, strings.Repeat("0 ", 29)+"0")
}

// fakeProc returns a directory laid out as procfs with the processes
// stats, pid → /proc/<pid>/stat.
func fakeProc(t *testing.T, stats map[int]string) string {
	t.Helper()
	proc := t.TempDir()
	for pid, stat := range stats {
		dir := filepath.Join(proc, strconv.Itoa(pid))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return proc
}

func TestParseOwner(t *testing.T) {
	tests := []struct {
		data    string
		want    owner
		wantErr bool
	}{
		{data: "pid=42 start=123 pidns=4026531836\n", want: owner{PID: 42, Start: 123, PidNS: 4026531836}},
		{data: "pidns=9 pid=1 start=0", want: owner{PID: 1, Start: 0, PidNS: 9}},
		{data: "pid=42 start=123", wantErr: true},
		{data: "pid=0 start=1 pidns=9", wantErr: true},
		{data: "pid=-1 start=1 pidns=9", wantErr: true},
		{data: "pid=99999999 start=1 pidns=9", wantErr: true},
		{data: "pid=42 start=123 pidns=9 uid=0", wantErr: true},
		{data: "pid=42 start=x pidns=9", wantErr: true},
		{data: "42 123 9", wantErr: true},
		{data: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseOwner([]byte(tt.data))
		if (err != nil) != tt.wantErr {
			t.Errorf("parseOwner(%q) error = %v, want error: %v", tt.data, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseOwner(%q) mismatch (-want +got):\n%s", tt.data, diff)
		}
	}
	o := owner{PID: 4194304, Start: 1<<64 - 1, PidNS: 1}
	if got, err := parseOwner([]byte(o.marshal())); err != nil || got != o {
		t.Errorf("parseOwner(marshal(%v)) = %v, %v; want it back", o, got, err)
	}
}

func TestOwnerGone(t *testing.T) {
	const pidNS = 4026531836
	// The processes of the fake procfs: pid 100 started at tick 5000 and
	// runs, 101 is a zombie, 102 has an unreadable stat.
	proc := fakeProc(t, map[int]string{
		100: statLine(100, "testenv.test", 'S', 5000),
		101: statLine(101, "testenv.test", 'Z', 6000),
		102: "garbage",
	})
	tests := []struct {
		name    string
		o       owner
		want    bool
		wantErr bool
	}{
		{name: "alive", o: owner{PID: 100, Start: 5000, PidNS: pidNS}, want: false},
		{name: "dead", o: owner{PID: 200, Start: 5000, PidNS: pidNS}, want: true},
		{name: "pid reused", o: owner{PID: 100, Start: 4000, PidNS: pidNS}, want: true},
		{name: "zombie", o: owner{PID: 101, Start: 6000, PidNS: pidNS}, want: true},
		{name: "other pid namespace, pid absent here", o: owner{PID: 200, Start: 5000, PidNS: pidNS + 1}, want: false},
		{name: "other pid namespace, pid reused here", o: owner{PID: 100, Start: 1, PidNS: pidNS + 1}, want: false},
		{name: "unreadable stat", o: owner{PID: 102, Start: 1, PidNS: pidNS}, want: false, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ownerGone(proc, pidNS, tt.o)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ownerGone(%v) = %v, %v; want %v, error: %v", tt.o, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCurrentOwner(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	self, err := currentOwner("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if self.PID != os.Getpid() || self.Start == 0 || self.PidNS == 0 {
		t.Errorf("currentOwner() = %+v, want pid %d and non-zero start and pidns", self, os.Getpid())
	}
	if gone, err := ownerGone("/proc", self.PidNS, self); gone || err != nil {
		t.Errorf("ownerGone(self) = %v, %v; want false, nil", gone, err)
	}
	dead := self
	dead.Start--
	if gone, err := ownerGone("/proc", self.PidNS, dead); !gone || err != nil {
		t.Errorf("ownerGone(self with another start time) = %v, %v; want true, nil", gone, err)
	}
}

func TestCurrentOwnerFake(t *testing.T) {
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "self", "ns"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "self", "stat"), []byte(statLine(7, "x", 'R', 777)), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("pid:[4026531836]", filepath.Join(proc, "self", "ns", "pid")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	got, err := currentOwner(proc)
	if err != nil {
		t.Fatal(err)
	}
	want := owner{PID: os.Getpid(), Start: 777, PidNS: 4026531836}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("currentOwner() mismatch (-want +got):\n%s", diff)
	}
}

func TestIDOf(t *testing.T) {
	tests := []struct {
		name   string
		wantID string
	}{
		{"plktest-ab12cd-", "ab12cd"},
		{"plktest-ab12cd-r-vpc-1", "ab12cd"},
		{"plktest-ab12cd-i-0123456789abcdef0", "ab12cd"},
		{"plktest-AB12CD-x", ""},
		{"plktest-ab12c-x", ""},
		{"plktest-ab12cde-x", ""},
		{"plktest-ab12cd", ""},
		{"plktest-", ""},
		{"plk-ab12cd-x", ""},
		{"plk-vpc-0123456789abcdef0", ""},
		{"xplktest-ab12cd-x", ""},
		{"plktest-no-such-file", ""},
	}
	for _, tt := range tests {
		id, ok := idOf(tt.name)
		if id != tt.wantID || ok != (tt.wantID != "") {
			t.Errorf("idOf(%q) = %q, %v; want %q", tt.name, id, ok, tt.wantID)
		}
	}
	for range 10 {
		p := newPrefix()
		if id, ok := idOf(p + "x"); !ok || id != prefixID(p) || BasePrefix+id+"-" != p {
			t.Errorf("idOf(%q) = %q, %v; want the id of %q, %q", p+"x", id, ok, p, prefixID(p))
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "records") // writeRecord creates it
	o := owner{PID: 42, Start: 123, PidNS: 4026531836}
	if err := writeRecord(dir, "ab12cd", o); err != nil {
		t.Fatal(err)
	}
	got, err := readRecord(dir, "ab12cd")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("readRecord() mismatch (-want +got):\n%s", diff)
	}
	// A record is never replaced: the id is another test's.
	other := owner{PID: 43, Start: 1, PidNS: 1}
	if err := writeRecord(dir, "ab12cd", other); !errors.Is(err, fs.ErrExist) {
		t.Errorf("writeRecord() over a record = %v, want fs.ErrExist", err)
	}
	if got, _ := readRecord(dir, "ab12cd"); got != o {
		t.Errorf("record after a second writeRecord() = %v, want %v unchanged", got, o)
	}
	if err := writeRecord(dir, "../x", o); err == nil {
		t.Error("writeRecord(id \"../x\") = nil, want an error")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("records directory mode = %v, want 0700", fi.Mode().Perm())
	}
	left, err := listDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ab12cd"}, left); diff != "" {
		t.Errorf("files in the records directory mismatch (-want +got):\n%s", diff)
	}
	for range 2 { // the second time there is nothing to remove
		if err := removeRecord(dir, "ab12cd"); err != nil {
			t.Errorf("removeRecord() = %v", err)
		}
	}
	if _, err := readRecord(dir, "ab12cd"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("readRecord() after removeRecord() = %v, want fs.ErrNotExist", err)
	}
}
