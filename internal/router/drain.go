package router

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
)

// ErrDraining is the cause a front door cancels a call's context with when
// the shutdown grace period ends while the call still runs.
var ErrDraining = errors.New("the daemon is shutting down")

// CutError is the status of a call whose context a front door cancelled
// with ErrDraining: UNAVAILABLE with reason DRAINING (another replica may
// serve a retry), whatever the call's own error said (CANCELLED, mostly).
// Other errors, and calls that were not cut, pass unchanged.
func CutError(ctx context.Context, err error) error {
	if err == nil || !errors.Is(context.Cause(ctx), ErrDraining) || isDraining(err) {
		return err
	}
	return bridge.Wrap(err, codes.Unavailable, reason.Draining, nil, "the call was cut off at the end of the shutdown grace period: the daemon is shutting down")
}

func isDraining(err error) bool {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetReason() == reason.Draining {
			return true
		}
	}
	return false
}
