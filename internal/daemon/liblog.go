package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// libLog is the logger of the libraries that log through a process-wide
// hook of their own (go-redis): the last daemon's. The JWKS library logs
// through handlers the daemon gives it (internal/auth).
var (
	libLog     atomic.Pointer[slog.Logger]
	libLogOnce sync.Once
)

// routeLibraryLogs sends go-redis's log lines (pool and connection
// trouble) through log, in the daemon's text or JSON format, instead of
// Go's standard logger.
func routeLibraryLogs(log *slog.Logger) {
	libLog.Store(log)
	libLogOnce.Do(func() { redis.SetLogger(redisLogger{}) })
}

// redisLogger is go-redis's internal.Logging as slog warnings.
type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if log := libLog.Load(); log != nil {
		log.WarnContext(ctx, "redis", "message", strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
	}
}
