package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// A script's stdout and stderr are its console file itself, opened with
// O_APPEND, so that the script outlives the daemon without a pipe to it.
// So the daemon cannot rotate the file: the script would go on writing to
// the old one. It frees the file's head instead: once the file takes more
// than consoleKeep on disk, the supervisor punches a hole over all but
// the last consoleKeep bytes (FALLOC_FL_PUNCH_HOLE, size kept). Offsets do
// not move, so appends go on where they were and ConsoleLog still reads
// the last ConsoleMax bytes; a script that logs every request no longer
// fills the disk.

// consoleKeep is what a console file may hold on disk before its head is
// freed, and what is left of it after.
const consoleKeep = 1 << 20

// trimConsole frees all but the last consoleKeep bytes of workload id's
// console file if it holds more on disk. It reports whether it punched.
func (s *Supervisor) trimConsole(id string) (bool, error) {
	f, err := os.OpenFile(filepath.Join(s.dir(id), ConsoleFile), os.O_WRONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("trim console of %s: %w", id, err)
	}
	defer f.Close()
	size, used, err := fileUsage(f)
	if err != nil {
		return false, fmt.Errorf("trim console of %s: %w", id, err)
	}
	if used <= 2*consoleKeep {
		return false, nil
	}
	// Whole pages, so that the blocks are really freed.
	end := (size - consoleKeep) &^ (pageSize - 1)
	if err := punchHole(f, end); err != nil {
		return false, fmt.Errorf("trim console of %s: %w", id, err)
	}
	return true, nil
}

const pageSize = 4096

// trimConsoles trims the console files of the workloads whose scripts run.
// A file system that cannot punch holes is reported once per workload.
func (s *Supervisor) trimConsoles() {
	s.mu.Lock()
	var ids []string
	for id, e := range s.known {
		if e.rec != nil && e.rec.State == stateRunning && !e.trimFailed {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	for _, id := range ids {
		if _, err := s.trimConsole(id); err != nil {
			s.log.Warn("cannot free the head of a console log; it grows without bound", "workload", id, "err", err)
			s.mu.Lock()
			if e := s.known[id]; e != nil {
				e.trimFailed = true
			}
			s.mu.Unlock()
		}
	}
}
