package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A console file that grows past 2 × consoleKeep on disk has its head
// freed: the size and the tail stay, appends land after them, and
// ConsoleLog reads the same last bytes.
func TestTrimConsole(t *testing.T) {
	s := &Supervisor{cfg: Config{StateDir: t.TempDir()}}
	if punched, err := s.trimConsole("i-1"); err != nil || punched {
		t.Fatalf("trimConsole(no file) = %v, %v; want nothing done", punched, err)
	}
	if err := os.Mkdir(s.dir("i-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.dir("i-1"), ConsoleFile)
	// The script's side: an O_APPEND descriptor that stays open.
	script, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer script.Close()
	line := func(i int) []byte { return fmt.Appendf(nil, "GET /%08d HTTP/1.1 200 -\n", i) }
	var all []byte
	write := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			b := line(i)
			if _, err := script.Write(b); err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
	}
	lines := 1 << 20 / len(line(0)) // ~1 MiB
	write(0, lines)
	if punched, err := s.trimConsole("i-1"); err != nil || punched {
		t.Fatalf("trimConsole(1 MiB) = %v, %v; want nothing done", punched, err)
	}
	write(lines, 4*lines)
	punched, err := s.trimConsole("i-1")
	if err != nil {
		t.Skipf("this file system cannot punch holes: %v", err)
	}
	if !punched {
		t.Fatal("trimConsole(4 MiB) punched nothing")
	}
	size, used, err := fileUsage(script)
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(len(all)) || used > consoleKeep+64<<10 {
		t.Errorf("after the trim: size %d (want %d), %d bytes on disk (want ≤ %d)", size, len(all), used, consoleKeep+64<<10)
	}
	write(4*lines, 4*lines+10)
	got, err := s.ConsoleLog(t.Context(), "i-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := all[len(all)-ConsoleMax:]; !bytes.Equal(got, want) {
		t.Errorf("ConsoleLog() after the trim and more lines = %d bytes ending %q, want the last %d bytes written", len(got), got[max(0, len(got)-30):], ConsoleMax)
	}
}
