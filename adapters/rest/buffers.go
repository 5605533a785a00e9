package rest

import (
	"slices"
	"sync"
)

// bufs holds the buffers of reply bodies between calls (a large part of a
// call's allocated bytes, and so of its share of garbage collection): a
// body transcoded on the fast path is not referred to once its reply is
// written. Buffers of up to maxPooled bytes are kept.
//
// Request bodies are not pooled: net/http writes the headers and the body
// in one write only for readers it knows (a bytes.Reader, which cannot tell
// when the transport is done with it).
var bufs sync.Pool

const maxPooled = 64 << 10

// takeBuf returns an empty buffer of at least size bytes.
func takeBuf(size int) []byte {
	if p, ok := bufs.Get().(*[]byte); ok {
		return slices.Grow((*p)[:0], size)
	}
	return make([]byte, 0, size)
}

// putBuf gives back a buffer nothing refers to any more.
func putBuf(b []byte) {
	if cap(b) <= maxPooled {
		bufs.Put(&b)
	}
}
