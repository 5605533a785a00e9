package xmlcodec

import (
	"encoding/xml"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
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

// EnumValueLiteralField is the field number of the EnumValueOptions string
// extension that carries an enum value's XSD literal (see doc.go). It is read
// whether or not the extension is registered in the running binary.
const EnumValueLiteralField = 51700

// enumValueLiteral returns the XSD literal set on an enum value by the
// extension numbered EnumValueLiteralField.
func enumValueLiteral(vd protoreflect.EnumValueDescriptor) (string, bool) {
	opts := &descriptorpb.EnumValueOptions{}
	reread(vd.Options(), opts)
	lit, found := "", false
	opts.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() && fd.Number() == EnumValueLiteralField && fd.Kind() == protoreflect.StringKind {
			lit, found = v.String(), true
			return false
		}
		return true
	})
	if found {
		return lit, true
	}
	b := opts.ProtoReflect().GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		if num == EnumValueLiteralField && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return "", false
			}
			return string(v), true
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return "", false
		}
		b = b[m:]
	}
	return "", false
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
		ns, local, ok := strings.Cut(s[1:], "}")
		return xml.Name{Space: ns, Local: local}, ok && isNCName(local)
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
