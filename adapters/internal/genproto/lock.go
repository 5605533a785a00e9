package genproto

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// LockVersion is the format version written to lock files.
const LockVersion = 1

// Lock keeps what must not change when a WSDL or an OpenAPI spec is regenerated: the numbers of fields and
// enum values, and the names given to schema components. Keep it beside the .proto
// (LockName) and pass it back to Generate: fields keep their numbers, new fields get
// numbers never used before, and removed fields' numbers and names become `reserved`.
type Lock struct {
	Version int `json:"version"`
	// Names maps a schema component to the top-level proto name it was
	// given: for a WSDL "type {ns}local", "element {ns}local", "enum
	// {ns}local"; for OpenAPI a named schema ("$ref" string) or an
	// operation ("op METHOD PATH").
	Names map[string]string `json:"names,omitempty"`
	// Messages and Enums are keyed by the message's or enum's path in the package
	// ("Outer.Inner").
	Messages map[string]*LockEntry `json:"messages,omitempty"`
	Enums    map[string]*LockEntry `json:"enums,omitempty"`
}

// LockEntry numbers the fields of one message or the values of one enum.
type LockEntry struct {
	// Numbers maps each live field (or enum value) name to its number.
	Numbers map[string]int `json:"numbers,omitempty"`
	// Retired maps removed names to their numbers, emitted as reserved. A retired name
	// that comes back gets its number back.
	Retired map[string]int `json:"retired,omitempty"`
}

// ParseLock decodes a lock file.
func ParseLock(data []byte) (*Lock, error) {
	var l Lock
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if l.Version != LockVersion {
		return nil, fmt.Errorf("lock file version %d, want %d", l.Version, LockVersion)
	}
	return &l, nil
}

// Marshal encodes the lock as indented JSON with sorted keys.
func (l *Lock) Marshal() []byte {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		panic(err) // maps of strings and ints always encode
	}
	return append(data, '\n')
}

// firstReservedField and lastReservedField bound the field numbers protobuf keeps for
// itself.
const (
	firstReservedField = 19000
	lastReservedField  = 19999
)

// Number assigns numbers to names (in order) from old, starting at first for new names,
// and returns the new entry with the numbers and names to reserve.
func Number(old *LockEntry, names []string, first int) (nums []int, entry *LockEntry, reserved []int, resNames []string) {
	if old == nil {
		old = &LockEntry{}
	}
	entry = &LockEntry{Numbers: map[string]int{}, Retired: map[string]int{}}
	next := first
	for _, n := range old.Numbers {
		next = max(next, n+1)
	}
	for _, n := range old.Retired {
		next = max(next, n+1)
	}
	nums = make([]int, len(names))
	for i, name := range names {
		if n, ok := old.Numbers[name]; ok {
			nums[i] = n
		} else if n, ok := old.Retired[name]; ok {
			nums[i] = n
		} else {
			if next >= firstReservedField && next <= lastReservedField {
				next = lastReservedField + 1
			}
			nums[i] = next
			next++
		}
		entry.Numbers[name] = nums[i]
	}
	for _, m := range []map[string]int{old.Retired, old.Numbers} {
		for name, n := range m {
			if _, live := entry.Numbers[name]; !live {
				entry.Retired[name] = n
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(entry.Retired)) {
		reserved = append(reserved, entry.Retired[name])
		resNames = append(resNames, name)
	}
	if len(entry.Retired) == 0 {
		entry.Retired = nil
	}
	if len(entry.Numbers) == 0 {
		entry.Numbers = nil
	}
	return nums, entry, reserved, resNames
}
