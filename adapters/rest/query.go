package rest

import (
	"encoding/json"
	"net/url"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/internal/xmlmap"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/wirejson"
)

// fieldTree marks fields that do not go into the query string because the
// path or the body carries them (and, for XML bodies, that the body leaves
// out). A nil subtree covers the whole field.
type fieldTree = xmlmap.FieldTree

// scalarWKT lists the well-known message types whose JSON form is a scalar,
// which is how they are written as query parameters (RFC 3339 timestamps,
// "1.5s" durations, comma-separated field masks, wrapped values).
var scalarWKT = map[protoreflect.FullName]bool{
	"google.protobuf.Timestamp":   true,
	"google.protobuf.Duration":    true,
	"google.protobuf.FieldMask":   true,
	"google.protobuf.DoubleValue": true,
	"google.protobuf.FloatValue":  true,
	"google.protobuf.Int64Value":  true,
	"google.protobuf.UInt64Value": true,
	"google.protobuf.Int32Value":  true,
	"google.protobuf.UInt32Value": true,
	"google.protobuf.BoolValue":   true,
	"google.protobuf.StringValue": true,
	"google.protobuf.BytesValue":  true,
}

// opaqueWKT lists well-known types that have no query-string form.
var opaqueWKT = map[protoreflect.FullName]bool{
	"google.protobuf.Struct":    true,
	"google.protobuf.Value":     true,
	"google.protobuf.ListValue": true,
	"google.protobuf.Any":       true,
}

// appendQuery adds the set fields of m that skip does not cover as query
// parameters: repeated fields repeat the parameter, nested messages use
// dotted names (the JSON names the upstream's json_names setting spells), map fields are skipped. A set field with
// no query-string form (a repeated message, Struct, Any) is an
// INVALID_ARGUMENT error: the binding should carry it in the body.
func appendQuery(q url.Values, m protoreflect.Message, prefix string, skip fieldTree, names wirejson.Names) error {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		sub, skipped := skip[fd.Number()]
		if fd.IsMap() || (skipped && sub == nil) || !m.Has(fd) {
			continue
		}
		name := prefix + wirejson.OutName(fd, names)
		v := m.Get(fd)
		if md := fd.Message(); md != nil && !scalarWKT[md.FullName()] && (fd.IsList() || opaqueWKT[md.FullName()]) {
			return bridge.Errorf(codes.InvalidArgument, reason.InvalidQueryField, map[string]string{"field": name},
				"request field %s is %s, which cannot be sent as a query parameter; bind it to the body", name, kindLabel(fd))
		}
		switch {
		case fd.IsList():
			l := v.List()
			for j := 0; j < l.Len(); j++ {
				s, err := queryValue(fd, l.Get(j), name)
				if err != nil {
					return err
				}
				q.Add(name, s)
			}
		case fd.Message() != nil && !scalarWKT[fd.Message().FullName()]:
			if err := appendQuery(q, v.Message(), name+".", sub, names); err != nil {
				return err
			}
		default:
			s, err := queryValue(fd, v, name)
			if err != nil {
				return err
			}
			q.Add(name, s)
		}
	}
	return nil
}

// queryValue renders one scalar or scalar-like well-known message.
func queryValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, name string) (string, error) {
	if fd.Message() == nil {
		return scalarString(fd, v), nil
	}
	b, err := protojson.Marshal(v.Message().Interface())
	if err == nil && len(b) > 0 && b[0] == '"' {
		var s string
		err = json.Unmarshal(b, &s)
		return s, err
	}
	if err != nil {
		return "", bridge.Errorf(codes.InvalidArgument, reason.InvalidQueryField, map[string]string{"field": name}, "request field %s: %v", name, err)
	}
	return string(b), nil
}
