package kv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// store is the map an adapter serves: in memory, or kept in a JSON file
// (an object of strings) rewritten whole, through a temporary file and a
// rename, at every change. One process should own a file.
type store struct {
	// path is the JSON file; "" keeps the map in memory only.
	path string

	mu sync.Mutex
	m  map[string]string
	// changed is closed, and replaced, at every change: waiting gets
	// look again.
	changed chan struct{}

	closeOnce sync.Once
	closed    chan struct{}
}

// openStore loads the map from path; a missing file is an empty map.
func openStore(path string) (*store, error) {
	s := &store{path: path, m: map[string]string{}, changed: make(chan struct{}), closed: make(chan struct{})}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &s.m); err != nil {
		return nil, fmt.Errorf("%s does not hold a JSON object of strings: %w", path, err)
	}
	if s.m == nil {
		s.m = map[string]string{}
	}
	return s, nil
}

// get returns key's value, and a channel closed at the next change.
func (s *store) get(key string) (string, bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, s.changed
}

// put sets key to value; the map is unchanged when the file cannot be
// written.
func (s *store) put(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.m[key]
	s.m[key] = value
	if err := s.save(); err != nil {
		if had {
			s.m[key] = old
		} else {
			delete(s.m, key)
		}
		return err
	}
	s.notify()
	return nil
}

// remove deletes key and returns the value it had.
func (s *store) remove(key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.m[key]
	if !had {
		return "", false, nil
	}
	delete(s.m, key)
	if err := s.save(); err != nil {
		s.m[key] = old
		return "", false, err
	}
	s.notify()
	return old, true, nil
}

// notify wakes the waiting gets; s.mu is held.
func (s *store) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// save writes the map to the file; s.mu is held.
func (s *store) save() error {
	if s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s.m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".kv-*.json")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// close ends the waits; later gets and puts still work on the map.
func (s *store) close() { s.closeOnce.Do(func() { close(s.closed) }) }
