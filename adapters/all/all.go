// Package all registers protobridge's built-in adapters. Import it for its
// side effects:
//
//	import _ "github.com/protobridge/protobridge/adapters/all"
package all

import (
	// The REST adapter, kind "rest".
	_ "github.com/protobridge/protobridge/adapters/rest"
	// The SOAP adapter, kind "soap".
	_ "github.com/protobridge/protobridge/adapters/soap"
	// The WebSocket adapter, kind "websocket".
	_ "github.com/protobridge/protobridge/adapters/websocket"
)
