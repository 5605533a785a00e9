package wirejson

import (
	"encoding/binary"
	"math/bits"

	"google.golang.org/protobuf/encoding/protowire"
)

// SWAR constants: a byte of ones and of high bits in each lane of a word.
const (
	lanes1   = 0x0101010101010101
	lanesHi  = 0x8080808080808080
	quotes   = lanes1 * '"'
	slashes  = lanes1 * '\\'
	controls = lanes1 * ' '
)

// plainPrefix returns the length of b's longest prefix of printable ASCII
// other than '"' and '\\': the bytes a JSON string holds as they are. It
// reads eight bytes at a time (the lowest flagged lane of each test is
// exact, so the first byte that needs a look is found exactly).
func plainPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, s := x^quotes, x^slashes
		flag := ((q - lanes1) &^ q) | ((s - lanes1) &^ s) | ((x - controls) &^ x) | x
		if flag &= lanesHi; flag != 0 {
			return i + bits.TrailingZeros64(flag)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < ' ' || c == '"' || c == '\\' || c >= 0x80 {
			return i
		}
	}
	return i
}

// consumeTag is protowire.ConsumeTag reading the one-byte tags of field
// numbers 1 to 15 (most tags) itself.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	if len(b) > 0 && b[0] >= 1<<3 && b[0] < 0x80 {
		return protowire.Number(b[0] >> 3), protowire.Type(b[0] & 7), 1
	}
	return protowire.ConsumeTag(b)
}

// consumeVarint is protowire.ConsumeVarint reading one-byte values itself.
func consumeVarint(b []byte) (uint64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	return protowire.ConsumeVarint(b)
}

// consumeBytes is protowire.ConsumeBytes reading lengths under 128 itself.
func consumeBytes(b []byte) ([]byte, int) {
	if len(b) > 0 && b[0] < 0x80 {
		if n := int(b[0]) + 1; n <= len(b) {
			return b[1:n], n
		}
	}
	return protowire.ConsumeBytes(b)
}
