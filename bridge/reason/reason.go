// Package reason lists the google.rpc.ErrorInfo reasons protobridge
// raises (domain protobridge.dev). Callers may branch on them: they are
// part of the contract and change only with a major version. Adapters use
// them for the failures they report; a reason of their own is fine where
// none of these fits, written the same way (UPPER_SNAKE_CASE).
package reason

import "strconv"

// Failures of the caller's request or of the route, found before the
// upstream is called.
const (
	UnknownMethod       = "UNKNOWN_METHOD"        // the daemon does not serve the method
	StreamingMethod     = "STREAMING_METHOD"      // a unary-only entry was asked for a streaming method
	BadPayload          = "BAD_PAYLOAD"           // a JSON payload does not fit the input message
	BadRequestMessage   = "BAD_REQUEST_MESSAGE"   // the request's bytes do not decode as the input message
	InvalidRequest      = "INVALID_REQUEST"       // the request breaks its protovalidate rules
	InvalidPath         = "INVALID_PATH"          // a path template cannot be filled from the request
	InvalidPathField    = "INVALID_PATH_FIELD"    // a path variable's field is unset or not allowed there
	InvalidQueryField   = "INVALID_QUERY_FIELD"   // a field cannot be sent as a query parameter
	BadRequestBody      = "BAD_REQUEST_BODY"      // the request body cannot be encoded
	RequestTooLarge     = "REQUEST_TOO_LARGE"     // the encoded request is over max_request_bytes
	BadRequestType      = "BAD_REQUEST_TYPE"      // the request is not of the route's input type
	BadRequest          = "BAD_REQUEST"           // the upstream request could not be built
	BadIdempotencyKey   = "BAD_IDEMPOTENCY_KEY"   // the idempotency-key metadata is malformed
	StreamingNotAllowed = "STREAMING_UNSUPPORTED" // the upstream kind cannot serve this streaming shape
)

// Refusals by the policy chain.
const (
	Unauthenticated          = "UNAUTHENTICATED"             // no valid credential
	PermissionDenied         = "PERMISSION_DENIED"           // the caller is not allowed on the route
	RateLimited              = "RATE_LIMITED"                // a rate limit refused or timed out the call
	CircuitOpen              = "CIRCUIT_OPEN"                // the upstream's circuit breaker is open
	StateUnavailable         = "STATE_UNAVAILABLE"           // shared state (Redis) failed where failing open is unsafe
	IdempotencyKeyReused     = "IDEMPOTENCY_KEY_REUSED"      // the key was used with another request
	IdempotencyKeyInProgress = "IDEMPOTENCY_KEY_IN_PROGRESS" // a call with the key is still running
	Draining                 = "DRAINING"                    // the daemon is shutting down
)

// Failures reaching or understanding the upstream.
const (
	UpstreamUnavailable   = "UPSTREAM_UNAVAILABLE"    // the connection failed or broke
	UpstreamTimeout       = "UPSTREAM_TIMEOUT"        // the upstream did not answer in time
	UpstreamBadResponse   = "UPSTREAM_BAD_RESPONSE"   // the reply cannot be decoded as the output message
	ResponseTooLarge      = "RESPONSE_TOO_LARGE"      // the reply is over max_response_bytes
	UpstreamStreamDropped = "UPSTREAM_STREAM_DROPPED" // an SSE/NDJSON stream ended and could not resume
	StreamEventTooLarge   = "STREAM_EVENT_TOO_LARGE"  // one stream event is over max_event_bytes
	UpstreamStreamError   = "UPSTREAM_STREAM_ERROR"   // an SSE stream sent its error event
	UpstreamXMLLimit      = "UPSTREAM_XML_LIMIT"      // an XML reply is too deep or too large
	UpstreamXMLForbidden  = "UPSTREAM_XML_FORBIDDEN"  // an XML reply carries a DTD or entity declaration
	SOAPFault             = "SOAP_FAULT"              // the upstream answered with a SOAP fault
	SOAPVersionMismatch   = "SOAP_VERSION_MISMATCH"   // the reply's SOAP envelope version is not the binding's
	WSSecurity            = "WS_SECURITY"             // the WS-Security header cannot be built
	AdapterClosed         = "ADAPTER_CLOSED"          // the adapter was closed (its route table retired)
	CorrelationInFlight   = "CORRELATION_ID_IN_FLIGHT"
	WSNoUpgrade           = "UPSTREAM_WS_NO_UPGRADE"
	WSSubprotocol         = "UPSTREAM_WS_SUBPROTOCOL"
	WSHandshakeTimeout    = "UPSTREAM_WS_HANDSHAKE_TIMEOUT"
	WSKeepaliveTimeout    = "UPSTREAM_WS_KEEPALIVE_TIMEOUT"
	WSDropped             = "UPSTREAM_WS_DROPPED"
	WSBadFrame            = "UPSTREAM_WS_BAD_FRAME"
	WSFrameType           = "UPSTREAM_WS_FRAME_TYPE"
	WSFrameTooLarge       = "UPSTREAM_WS_FRAME_TOO_LARGE"
	WSNoReply             = "UPSTREAM_WS_NO_REPLY"
)

// Failures of the call itself or of protobridge.
const (
	DeadlineExceeded = "DEADLINE_EXCEEDED" // the caller's deadline or the route's timeout passed
	Cancelled        = "CANCELLED"         // the caller went away
	Internal         = "INTERNAL"          // a bug: logged with details the caller does not get
	BadResponseType  = "BAD_RESPONSE_TYPE" // an adapter returned a message of the wrong type
	Encode           = "ENCODE"            // a reply could not be encoded for the front door
	ValidationFailed = "VALIDATION_FAILED" // protovalidate itself failed (not a rule violation)
)

// Failures of a route's CEL mapping, guards and composite steps.
const (
	GuardFailed   = "GUARD_FAILED"          // a guard on the request or the reply held (metadata: guard)
	MappingFailed = "MAPPING_FAILED"        // a map: or step expression failed at run time
	StepFailed    = "COMPOSITE_STEP_FAILED" // a required step of a composite route failed (metadata: step)
)

// Failures of the sandbox (serve --replay, --mock).
const (
	SandboxNoRecording = "SANDBOX_NO_RECORDING" // replay found no recording matching the request
	SandboxMock        = "SANDBOX_MOCK"         // the mock cannot answer this route
)

// Failures of async jobs and webhook subscriptions.
const (
	JobNotFound      = "JOB_NOT_FOUND"     // no such job, or its result expired
	JobStore         = "JOB_STORE"         // JetStream, where jobs and events are kept, failed
	ResultTooLarge   = "RESULT_TOO_LARGE"  // a job's result does not fit in its record
	CallbacksOff     = "CALLBACKS_OFF"     // a callback was asked for but no signing secret is set
	BadCallbackURL   = "BAD_CALLBACK_URL"  // a callback URL is not an absolute http(s) URL
	BadPriority      = "BAD_PRIORITY"      // a job's priority is not a JobPriority value
	UnknownSource    = "UNKNOWN_SOURCE"    // no webhook source of that name
	ConsumerConflict = "CONSUMER_CONFLICT" // a durable subscription exists with other settings
)

// UpstreamHTTP is the reason of an upstream HTTP error reply: UPSTREAM_HTTP_<status>.
func UpstreamHTTP(status int) string { return "UPSTREAM_HTTP_" + strconv.Itoa(status) }

// UpstreamWSClose is the reason of a WebSocket close with an unexpected code: UPSTREAM_WS_CLOSE_<code>.
func UpstreamWSClose(code int) string { return "UPSTREAM_WS_CLOSE_" + strconv.Itoa(code) }
