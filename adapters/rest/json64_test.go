package rest

import (
	"testing"
)

func TestInt64AsNumbers(t *testing.T) {
	md := method("CreateBook").Input()
	in := `{"book":{"id":"-9223372036854775808","title":"9"},"requestId":"1"}`
	got, err := int64AsNumbers([]byte(in), md)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"book":{"id":-9223372036854775808,"title":"9"},"requestId":"1"}`; string(got) != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if !has64(md) {
		t.Error("CreateBook input has an int64 field")
	}
}
