package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/protobridge/protobridge/bridge"
)

// TestSchemaIsFresh fails when schema/protobridge.schema.json no longer
// matches the config types: run `make gen`.
func TestSchemaIsFresh(t *testing.T) {
	want, err := generate("../..")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("../..", out))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run `make gen` (or go run ./schema/gen) and commit it", out)
	}
}

// TestEveryBuiltInAdapterHasItsBlocks keeps adapterBlocks in step with
// adapters/all.
func TestEveryBuiltInAdapterHasItsBlocks(t *testing.T) {
	for _, k := range bridge.AdapterKinds() {
		if _, ok := adapterBlocks[k]; !ok {
			t.Errorf("adapter kind %q is not in adapterBlocks", k)
		}
	}
}
