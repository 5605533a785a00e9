// Package openapi turns an OpenAPI 3.0/3.1 or Swagger 2.0 document into a
// .proto that protobridge serves over a REST upstream: `protobridge gen
// openapi` is its command line. The output passes buf lint's STANDARD rules
// and loads in the daemon (`protobridge check` with the config stub,
// ConfigStub).
//
// # Parser
//
// Documents are read with github.com/pb33f/libopenapi: it models Swagger
// 2.0, OpenAPI 3.0 and 3.1 natively (schemas share one type across
// versions, so one generator serves all three), resolves local, relative
// and (opt-in) remote $refs through its rolodex, keeps YAML positions for
// errors, and loads the corpus's 5.3 MB mailchimp spec in about 0.4 s where
// kin-openapi took about 1.1 s (and needs openapi2conv for Swagger 2.0).
// JSON and YAML syntax errors are reported as file:line before libopenapi
// sees the document; unresolved $refs as file:line or file: #/json/pointer.
//
// # Services and methods
//
// One service per first tag (<Tag>Service, with the tag's description),
// or one for the whole spec (Options.OneService, named after the title);
// every service carries (protobridge.v1.service).upstream. An operation is
// an rpc named after its operationId (else method and path) in PascalCase,
// taking <Rpc>Request and returning <Rpc>Response, with google.api.http:
// the path with each {param} naming its request field, body "body" when
// the operation has a request body, response_body naming the reply field.
// Path and query parameters are request fields (the query string uses the
// parameter's exact name through json_name); header parameters are request
// fields that the config stub's routes: entries send as headers
// (rest.headers); cookie parameters are left out. A request body in JSON
// or XML is a message (or repeated, map or scalar) field "body"; other
// media types (forms, files) are a google.api.HttpBody passed through as
// it is. The reply is the lowest 2xx (else default) response: JSON or XML
// as a field named after its type ("pet", "items" for arrays, "values" for
// maps), other media types as google.api.HttpBody. text/event-stream and
// NDJSON replies make the rpc server-streaming (each event decodes into
// the response field; see the rest adapter's stream settings). XML
// operations get (protobridge.v1.route).encoding = ENCODING_XML. The
// rpc's comment is its summary, description, method and path, and the
// documented error replies ("404: Pet not found"); deprecated operations
// are deprecated rpcs. Paths with a variable inside a segment
// ("/files/{id}.json", "/v1/{name}:cancel") keep it there: the rest
// adapter's templates accept text around single-segment variables; AWS-style "#..."/"?..." path suffixes are dropped, with
// a warning.
//
// # Messages and fields
//
// A named schema (components/schemas, definitions) that is an object, an
// allOf or a representable oneOf becomes a top-level message; other named
// schemas stand for the type they describe. Inline objects become messages
// nested in the message using them. Properties become fields in spec order,
// named in lower_snake_case with json_name set to the property's exact
// spelling, so the bridge sends the API's names (see the rest adapter's
// json_names). Descriptions (else titles) become comments, with
// "Required.", "Read-only.", the format and the allowed values; the field
// comments are what MCP tools show.
//
//   - allOf: the branches' properties merged into one message (a single
//     $ref branch is that type);
//   - oneOf/anyOf: null branches dropped (a single branch left is that
//     type); branches that are each an object with exactly one property,
//     the names distinct, become a proto oneof (the JSON is the same);
//     anything else is google.protobuf.Value, which carries any JSON;
//   - nullable (3.0) and type [T, "null"] (3.1): scalars are proto3
//     optional anyway (every singular scalar is, so an explicit zero is sent
//     and an unset field is not); messages have presence;
//   - additionalProperties with a schema and no properties: map<string, T>
//     (arrays and maps as values become ListValue and Struct); a free-form
//     object is google.protobuf.Struct; untyped schemas google.protobuf.Value;
//   - arrays: repeated (arrays of arrays as repeated ListValue);
//   - formats: int32 → int32, int64 and plain integer → int64 (written as
//     JSON numbers), uint32/uint64, float → float, number → double, byte
//     and binary → bytes, boolean → bool; date, date-time and other string
//     formats stay strings (the text as the API writes it; the format is in
//     the comment), since a Timestamp would re-render the API's precision
//     and offsets;
//   - string enums become proto enums: a named schema a top-level enum,
//     an inline one an enum nested in the message using it, with a
//     <ENUM>_UNSPECIFIED zero value and one value per literal
//     (PREFIX_LITERAL in buf's case, unique ignoring case) carrying the
//     literal as (protobridge.v1.json_value), so bodies, query and path
//     parameters and XML carry "available", not the value name; null is
//     left out (the field has presence); the lock keeps each literal's
//     number and reserves dropped ones. Integer enums stay integers, and
//     every enum's literals are listed in the field comment;
//   - xml objects map to (protobridge.v1.xml) (name, wrapped and item for
//     arrays, attribute, namespace) and a named schema's xml name to
//     (protobridge.v1.xml_root); when the spec uses XML bodies every field
//     whose name differs from its property's states the element name.
//
// # Names and numbers
//
// Names follow buf lint's case rules exactly and are unique ignoring case
// and underscores (the rules of adapters/soap/protogen; the helpers are
// copied, as adapters import no other adapter). Services, rpcs and the
// request and response messages are named first; schemas yield to them
// with a numeric suffix. A Lock (NAME.lock.json beside the .proto) keeps
// names and field numbers: regenerating with it gives the same file, new
// fields get new numbers and removed ones are reserved.
package openapi
