package daemon

import (
	"context"
	"strings"
	"testing"
)

// TestRedisLogsThroughSlog: go-redis's log lines come out in the daemon's
// format (JSON here), not through Go's standard logger.
func TestRedisLogsThroughSlog(t *testing.T) {
	var buf syncBuffer
	routeLibraryLogs(NewLogger("json", &buf))
	defer libLog.Store(nil)
	redisLogger{}.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 2, "refused")
	if got := buf.String(); !strings.HasPrefix(got, "{") || !strings.Contains(got, `"level":"WARN","msg":"redis","message":"connection pool: failed to dial after 2 attempts: refused"`) {
		t.Errorf("got %q", got)
	}
}
