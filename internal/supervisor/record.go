package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The states of a recorded process.
const (
	stateRunning = "running" // started, and not seen to end
	stateExited  = "exited"  // ended on its own while supervised: never again
	stateStopped = "stopped" // killed by Set (stop or terminate): never again
)

// record is process.json: what a supervisor knows of a workload's process,
// durable across restarts of the daemon.
type record struct {
	Namespace string `json:"namespace"`
	// NetNS is the inode of the namespace when the process started.
	NetNS uint64 `json:"netns"`
	PID   int    `json:"pid"`
	// StartTime is field 22 of /proc/<pid>/stat (clock ticks after boot);
	// with BootID it tells the process apart from a later one that reuses
	// its pid.
	StartTime uint64 `json:"startTime"`
	BootID    string `json:"bootId"`
	State     string `json:"state"`
	// ExitCode is the exit status (128+n after signal n) of a process that
	// exited as the supervisor's child; nil when unknown.
	ExitCode *int `json:"exitCode,omitempty"`
	// Boots counts the starts of the script: 1, then 2 after a restart.
	Boots    int       `json:"boots"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
}

func (s *Supervisor) dir(id string) string { return filepath.Join(s.cfg.StateDir, id) }

// load reads id's record; a missing one is an error matching fs.ErrNotExist.
func (s *Supervisor) load(id string) (*record, error) {
	b, err := os.ReadFile(filepath.Join(s.dir(id), RecordFile))
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read record of %s: %w", id, err)
	}
	return &r, nil
}

// save writes id's record durably.
func (s *Supervisor) save(id string, r *record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(s.dir(id), RecordFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save record of %s: %w", id, err)
	}
	return nil
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory, synced, renamed over path, and the directory synced.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// appendConsole adds a line of the supervisor's own to id's console log.
func (s *Supervisor) appendConsole(id, format string, args ...any) error {
	f, err := os.OpenFile(filepath.Join(s.dir(id), ConsoleFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "privlink-init: "+format+"\n", args...)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// stamp formats t for the console log.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
