package policy

import (
	"context"
	"errors"
	"fmt"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// validateMiddleware enforces the protovalidate (buf.validate) rules of the
// route's input message before anything is sent upstream; nil when the
// route turns validation off or the message has no rules. Rules are compiled here, so a broken rule is
// a load problem, not a call failure. Importing protovalidate registers
// buf/validate/validate.proto, so user protos can import it.
func validateMiddleware(rp *routePolicy) (bridge.Middleware, error) {
	if v := rp.cfg.Validate; v != nil && !*v {
		return nil, nil
	}
	in := rp.r.Method.Input()
	if !hasRules(in, map[protoreflect.FullName]bool{}) {
		return nil, nil
	}
	v, err := protovalidate.New(protovalidate.WithMessageDescriptors(in))
	if err != nil {
		return nil, fmt.Errorf("protovalidate rules of %s: %v", in.FullName(), err)
	}
	name := rp.r.Name()
	return func(next bridge.Handler) bridge.Handler {
		return func(ctx context.Context, c *bridge.Call) (proto.Message, error) {
			if c.Request != nil {
				if err := v.Validate(c.Request); err != nil {
					return nil, validationError(name, err)
				}
			}
			return next(ctx, c)
		}
	}, nil
}

// hasRules reports whether md, or a message it holds, carries buf.validate
// rules, so routes without any never look inside their requests.
func hasRules(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false
	}
	seen[md.FullName()] = true
	if optionSet(md.Options(), validate.E_Message) {
		return true
	}
	for i := 0; i < md.Oneofs().Len(); i++ {
		if optionSet(md.Oneofs().Get(i).Options(), validate.E_Oneof) {
			return true
		}
	}
	for i := 0; i < md.Fields().Len(); i++ {
		f := md.Fields().Get(i)
		if optionSet(f.Options(), validate.E_Field) || (f.Message() != nil && hasRules(f.Message(), seen)) {
			return true
		}
	}
	return false
}

// optionSet reports whether options carry the extension, typed or as
// unknown bytes (descriptors compiled at run time).
func optionSet(opts proto.Message, xt protoreflect.ExtensionType) bool {
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return false
	}
	b, err := proto.Marshal(opts)
	if err != nil {
		return false
	}
	want := xt.TypeDescriptor().Number()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		if num == want {
			return true
		}
		b = b[n:]
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return false
		}
		b = b[n:]
	}
	return false
}

// validationError turns a protovalidate failure into INVALID_ARGUMENT with
// a google.rpc.BadRequest listing every violated field.
func validationError(method string, err error) error {
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return bridge.Errorf(codes.Internal, reason.ValidationFailed, map[string]string{"method": method}, "request validation failed: %v", err)
	}
	br := &errdetails.BadRequest{}
	for _, v := range ve.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: field, Description: v.Proto.GetMessage(), Reason: v.Proto.GetRuleId(),
		})
	}
	msg := "request is not valid"
	if len(br.FieldViolations) > 0 {
		f := br.FieldViolations[0]
		msg = fmt.Sprintf("request is not valid: %s: %s", f.GetField(), f.GetDescription())
		if n := len(br.FieldViolations); n > 1 {
			msg += fmt.Sprintf(" (and %d more)", n-1)
		}
	}
	return bridge.Error(codes.InvalidArgument, reason.InvalidRequest, map[string]string{"method": method}, msg, br)
}
