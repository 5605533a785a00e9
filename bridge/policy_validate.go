package bridge

import (
	"context"
	"errors"
	"fmt"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// validateMiddleware enforces the protovalidate (buf.validate) rules of the
// route's input message before anything is sent upstream; nil when the
// route turns validation off. Rules are compiled here, so a broken rule is
// a load problem, not a call failure. Importing protovalidate registers
// buf/validate/validate.proto, so user protos can import it.
func validateMiddleware(rp *routePolicy) (Middleware, error) {
	if v := rp.cfg.Validate; v != nil && !*v {
		return nil, nil
	}
	in := rp.r.Method.Input()
	v, err := protovalidate.New(protovalidate.WithMessageDescriptors(in))
	if err != nil {
		return nil, fmt.Errorf("protovalidate rules of %s: %v", in.FullName(), err)
	}
	name := rp.r.Name()
	return func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (proto.Message, error) {
			if c.Request != nil {
				if err := v.Validate(c.Request); err != nil {
					return nil, validationError(name, err)
				}
			}
			return next(ctx, c)
		}
	}, nil
}

// validationError turns a protovalidate failure into INVALID_ARGUMENT with
// a google.rpc.BadRequest listing every violated field.
func validationError(method string, err error) error {
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return Errorf(codes.Internal, "VALIDATION_FAILED", map[string]string{"method": method}, "request validation failed: %v", err)
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
	return Error(codes.InvalidArgument, "INVALID_REQUEST", map[string]string{"method": method}, msg, br)
}
