package policy

import (
	"reflect"
	"testing"
	"time"

	"github.com/protobridge/protobridge/internal/config"
)

func TestPolicyMerge(t *testing.T) {
	up := &config.PolicyConfig{Retry: &config.RetryPolicy{Attempts: 5, InitialBackoff: time.Second}, Cache: &config.CachePolicy{TTL: time.Minute}}
	route := &config.PolicyConfig{Retry: &config.RetryPolicy{InitialBackoff: time.Millisecond}, Fallback: &config.FallbackPolicy{Stale: true}}
	merged := *up
	mergeFields(reflect.ValueOf(&merged).Elem(), reflect.ValueOf(route).Elem())
	if merged.Retry.Attempts != 5 || merged.Retry.InitialBackoff != time.Millisecond || merged.Cache.TTL != time.Minute || !merged.Fallback.Stale {
		t.Fatalf("merged %+v %+v", merged.Retry, merged)
	}
	if up.Retry.InitialBackoff != time.Second {
		t.Fatal("merge changed the upstream's block")
	}
}
