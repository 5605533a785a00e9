package protogen

import "github.com/protobridge/protobridge/adapters/internal/genproto"

// LockVersion is the format version written to lock files.
const LockVersion = genproto.LockVersion

// Lock keeps field and enum numbers, and the names given to schema
// components, stable across regenerations (genproto.Lock).
type Lock = genproto.Lock

// LockEntry numbers the fields of one message or the values of one enum.
type LockEntry = genproto.LockEntry

// ParseLock decodes a lock file.
func ParseLock(data []byte) (*Lock, error) { return genproto.ParseLock(data) }
