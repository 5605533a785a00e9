// Package bridge is protobridge's contract with its adapters and front
// doors: what a plugin author needs and nothing else.
//
// An adapter talks to one kind of upstream ("rest", "soap", "websocket",
// or a kind of your own). It registers a Factory by kind in init
// (RegisterAdapter); the daemon builds one Adapter per configured upstream
// of that kind, handing it the settings every kind shares (Upstream) and
// the upstream's own block of the config undecoded (Upstream.Config, a
// RawConfig whose Decode is as strict as the core's and reports
// file:line). Adapter.Bind checks and compiles each route at load time, so
// `protobridge check` reports an adapter's objections with positions; the
// Endpoint it returns serves the route's calls. Proto options of a new
// adapter can live in an extension of its own, read with ReadOption.
//
// Calls reach an Endpoint through the policy chain (authentication,
// limits, validation, cache, retries, breaker, ...), which is Middleware
// over the same Handler signature, so adapters know nothing of policies.
// Every front door — the gRPC server, BridgeService.Invoke, an MCP server,
// an async worker — enters the chain through an Invoker with a Call.
//
// Failures are gRPC status errors (Error, Errorf, Wrap, HTTPError) with a
// google.rpc.ErrorInfo whose reasons are listed in package reason. An
// adapter marks a failure that provably never reached the upstream's
// processing with NotSent, which lets retries repeat even unsafe calls.
// Package httpx is the toolkit of HTTP-based adapters; package bridgetest
// is the conformance suite every adapter runs.
package bridge
