// Package protofiles holds protobridge's own .proto sources (protobridge/v1),
// as written, for `protobridge proto export`.
package protofiles

import "embed"

// FS holds protobridge/v1/*.proto.
//
//go:embed protobridge/v1/*.proto
var FS embed.FS
