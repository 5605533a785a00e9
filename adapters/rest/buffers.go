package rest

import (
	"slices"
	"sync"
)

// bufs holds the buffers of request and reply bodies between calls (a
// large part of a call's allocated bytes, and so of its share of garbage
// collection): a request body transcoded on the fast path goes back once
// the transport is done writing it (httpx.SendBuffered), a reply body once
// the reply has been transcoded from it. Buffers of up to maxPooled bytes
// are kept.
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
