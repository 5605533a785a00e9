package mcpfront

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// errorResult words a failed call for the agent: what happened and what
// to do, from the status's code and details (ErrorInfo, RetryInfo,
// BadRequest, the upstream's reply), never a Go error chain.
func errorResult(tool string, err error) *mcp.CallToolResult {
	st := status.Convert(err)
	var info *errdetails.ErrorInfo
	var retry *errdetails.RetryInfo
	var bad *errdetails.BadRequest
	var up *pbv1.UpstreamError
	for _, d := range st.Details() {
		switch x := d.(type) {
		case *errdetails.ErrorInfo:
			info = x
		case *errdetails.RetryInfo:
			retry = x
		case *errdetails.BadRequest:
			bad = x
		case *pbv1.UpstreamError:
			up = x
		}
	}
	upstream := ""
	if info != nil {
		upstream = info.GetMetadata()["upstream"]
	}
	if upstream == "" && up != nil {
		upstream = up.GetUpstream()
	}
	from := "the upstream"
	if upstream != "" {
		from = "upstream " + upstream
	}
	upMsg := ""
	if up != nil && strings.TrimSpace(up.GetBody()) != "" {
		upMsg = strings.TrimSpace(up.GetBody())
		if m := jsonMessage(upMsg); m != "" {
			upMsg = m
		}
		if len(upMsg) > 500 {
			upMsg = upMsg[:500] + "…"
		}
	}
	retryAfter := ""
	if d := retry.GetRetryDelay(); d != nil {
		secs := int(math.Ceil(d.AsDuration().Seconds()))
		retryAfter = fmt.Sprintf("retry after %d s", max(secs, 1))
	}
	var what, todo string
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange, codes.FailedPrecondition:
		what = fmt.Sprintf("%s rejected the request (%s): %s", tool, st.Code(), st.Message())
		if bad != nil && len(bad.GetFieldViolations()) > 0 {
			var b strings.Builder
			b.WriteString(tool + " rejected the arguments before calling the upstream:")
			for _, v := range bad.GetFieldViolations() {
				fmt.Fprintf(&b, "\n- %s: %s", v.GetField(), v.GetDescription())
				if v.GetReason() != "" {
					fmt.Fprintf(&b, " (rule %s)", v.GetReason())
				}
			}
			what = b.String()
			todo = "Correct the fields named above and call again; do not retry unchanged."
		} else {
			todo = "Change the arguments as the message says and call again; do not retry unchanged."
		}
	case codes.ResourceExhausted:
		what = fmt.Sprintf("%s is rate limited or over quota: %s", tool, st.Message())
		todo = "Wait, then call again"
		if retryAfter != "" {
			todo = "Wait and " + retryAfter
		}
		todo += "."
	case codes.Unauthenticated:
		what = fmt.Sprintf("%s needs credentials the call did not carry or that were not accepted.", tool)
		todo = "Configure the MCP client with a valid API key (x-api-key header) or bearer token (Authorization: Bearer …); retrying without one will fail the same way."
	case codes.PermissionDenied:
		what = fmt.Sprintf("The caller is authenticated but may not call %s.", tool)
		todo = "Use another tool, or ask the operator for access; retrying will not help."
	case codes.NotFound:
		what = fmt.Sprintf("%s found nothing: %s", from, st.Message())
		todo = "Check the identifiers in the arguments (list the resources first if a list tool exists)."
	case codes.AlreadyExists:
		what = fmt.Sprintf("%s says it already exists: %s", from, st.Message())
		todo = "Use the existing resource or choose another identifier."
	case codes.DeadlineExceeded:
		what = fmt.Sprintf("%s did not answer in time.", from)
		todo = "Retry later, or ask for less at once."
	case codes.Unavailable:
		what = fmt.Sprintf("%s is unavailable right now: %s", from, st.Message())
		todo = "Retry later"
		if retryAfter != "" {
			todo = strings.ToUpper(retryAfter[:1]) + retryAfter[1:]
		}
		todo += "."
	case codes.Canceled:
		what = "The call was cancelled."
		todo = "Call again if the result is still needed."
	case codes.Unimplemented:
		what = fmt.Sprintf("%s is not served: %s", tool, st.Message())
		todo = "List the tools again and use one that is served."
	default:
		what = fmt.Sprintf("%s failed (%s): %s", tool, st.Code(), st.Message())
		todo = "This is not a problem with the arguments; retry later or report it to the operator."
	}
	lines := []string{what}
	if upMsg != "" && !strings.Contains(what, upMsg) {
		lines = append(lines, "The upstream said: "+upMsg)
	}
	lines = append(lines, todo)
	if info != nil && info.GetReason() != "" {
		lines = append(lines, fmt.Sprintf("(code %s, reason %s)", st.Code(), info.GetReason()))
	}
	return errorText(strings.Join(lines, "\n"))
}

// jsonMessage finds the human message in a JSON error body: a "message",
// "detail", "error_description" or "title" string at the top or one level
// down ({"error":{"message":…}}).
func jsonMessage(body string) string {
	var v any
	if json.Unmarshal([]byte(body), &v) != nil {
		return ""
	}
	var find func(v any, depth int) string
	find = func(v any, depth int) string {
		obj, ok := v.(map[string]any)
		if !ok || depth > 2 {
			return ""
		}
		for _, k := range []string{"message", "detail", "error_description", "title", "error"} {
			if s, ok := obj[k].(string); ok && s != "" {
				return s
			}
		}
		for _, k := range sortedKeys(obj) {
			if m := find(obj[k], depth+1); m != "" {
				return m
			}
		}
		return ""
	}
	return find(v, 0)
}
