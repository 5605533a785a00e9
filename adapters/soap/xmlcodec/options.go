package xmlcodec

import (
	"encoding/xml"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// fieldOptions reads a field's (protobridge.v1.xml) option. Options of
// descriptors compiled at run time are re-read through the global registry
// so the extension is typed.
func fieldOptions(fd protoreflect.FieldDescriptor) *pbv1.XMLOptions {
	opts := &descriptorpb.FieldOptions{}
	reread(fd.Options(), opts)
	x, _ := proto.GetExtension(opts, pbv1.E_Xml).(*pbv1.XMLOptions)
	return x
}

// messageOptions reads a message's (protobridge.v1.xml_root) option.
func messageOptions(md protoreflect.MessageDescriptor) *pbv1.XMLMessageOptions {
	opts := &descriptorpb.MessageOptions{}
	reread(md.Options(), opts)
	x, _ := proto.GetExtension(opts, pbv1.E_XmlRoot).(*pbv1.XMLMessageOptions)
	return x
}

func reread(from, to proto.Message) {
	if from == nil || !from.ProtoReflect().IsValid() {
		return
	}
	if b, err := proto.Marshal(from); err == nil {
		_ = proto.Unmarshal(b, to)
	}
}

// enumValueLiteral returns the XSD literal an enum value's
// (protobridge.v1.xml_value) option gives it.
func enumValueLiteral(vd protoreflect.EnumValueDescriptor) (string, bool) {
	opts := &descriptorpb.EnumValueOptions{}
	reread(vd.Options(), opts)
	if !proto.HasExtension(opts, pbv1.E_XmlValue) {
		return "", false
	}
	lit, ok := proto.GetExtension(opts, pbv1.E_XmlValue).(string)
	return lit, ok
}

// ParseQName parses a qualified name as protobridge options write it:
// "{namespace}local", "xsd:local" or "xs:local" for the XML Schema namespace,
// or a bare local name without namespace. The empty string is the zero Name.
func ParseQName(s string) (xml.Name, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return xml.Name{}, true
	}
	if strings.HasPrefix(s, "{") {
		// Cut at the last '}': a namespace may hold braces ("http://{{url}}/x"),
		// a local name never does.
		i := strings.LastIndexByte(s, '}')
		if i < 0 {
			return xml.Name{}, false
		}
		return xml.Name{Space: s[1:i], Local: s[i+1:]}, isNCName(s[i+1:])
	}
	if p, local, ok := strings.Cut(s, ":"); ok {
		if p != "xsd" && p != "xs" {
			return xml.Name{}, false
		}
		return xml.Name{Space: XSDNamespace, Local: local}, isNCName(local)
	}
	return xml.Name{Local: s}, isNCName(s)
}

// FormatQName writes a name as "{namespace}local", or "local" without a namespace.
func FormatQName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}
