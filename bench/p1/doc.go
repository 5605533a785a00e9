// Package p1 holds the in-process benchmark: one unary gRPC→REST (JSON)
// translation of the same order through protobridge and through vanguard,
// with the same client, upstream and payload. See p1_test.go.
package p1
