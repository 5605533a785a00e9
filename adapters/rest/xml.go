package rest

import (
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/internal/xmlmap"
)

// xmlMessage is the XML mapping of a request or reply body (see xmlmap).
type xmlMessage = xmlmap.Message

// encodeXML writes m as an XML document, leaving out the fields in skip
// (those bound to the URL path).
func encodeXML(m protoreflect.Message, x *xmlMessage, skip fieldTree) ([]byte, error) {
	return xmlmap.Encode(m, x, skip)
}

// decodeXML reads an XML reply into m.
func decodeXML(data []byte, m protoreflect.Message, x *xmlMessage) error {
	return xmlmap.Decode(data, m, x)
}
