// Package broker connects the daemon to NATS JetStream, where async jobs
// and webhook events are kept: an embedded server with file storage under
// the state directory by default, or an external cluster (nats.url) that
// several daemons share.
package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/protobridge/protobridge/internal/config"
)

// Broker is a connection to JetStream, and the embedded server when the
// daemon runs one.
type Broker struct {
	// NC is the NATS connection; JS its JetStream context.
	NC *nats.Conn
	JS jetstream.JetStream
	// Replicas is how many servers keep each stream.
	Replicas int
	// Embedded is the in-process server (nil with nats.url).
	Embedded *server.Server
}

// MaxPayload bounds one stored job or event on the embedded server.
const MaxPayload = 8 << 20

// startTimeout bounds the embedded server's start, the wait for an
// external cluster to answer, and the wait for JetStream to be ready.
const startTimeout = 30 * time.Second

// Open connects to the external cluster of cfg.URL, or starts JetStream
// in the process with file storage under cfg.StateDir.
func Open(ctx context.Context, cfg config.NATSConfig, name string, log *slog.Logger) (*Broker, error) {
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "server", c.ConnectedUrlRedacted()) }),
	}
	b := &Broker{Replicas: cfg.Replicas}
	url := cfg.URL
	if url == "" {
		dir, err := filepath.Abs(cfg.StateDir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("nats.state_dir: %w", err)
		}
		ns, err := server.NewServer(&server.Options{
			ServerName: name, DontListen: true, JetStream: true, StoreDir: dir,
			MaxPayload: MaxPayload, NoSigs: true, NoLog: true,
		})
		if err != nil {
			return nil, fmt.Errorf("embedded NATS: %w", err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(startTimeout) {
			ns.Shutdown()
			return nil, errors.New("embedded NATS did not start in time (is another daemon using nats.state_dir?)")
		}
		b.Embedded = ns
		opts = append(opts, nats.InProcessServer(ns))
	} else {
		if cfg.Credentials != "" {
			opts = append(opts, nats.UserCredentials(cfg.Credentials))
		}
		opts = append(opts, nats.RetryOnFailedConnect(false), nats.Timeout(10*time.Second))
	}
	// An external cluster may be starting beside the daemon (a pod and its
	// NATS dependency: refused, not yet in DNS, dropping packets): the
	// first connect is tried again for startTimeout, unless the server
	// answered and refused the daemon (credentials, TLS).
	nc, err := nats.Connect(url, opts...)
	if err != nil && cfg.URL != "" && !refused(err) {
		log.Info("waiting for the NATS servers of nats.url", "error", err, "for", startTimeout)
		cctx, cancel := context.WithTimeout(ctx, startTimeout)
		retry := time.NewTicker(250 * time.Millisecond)
		for err != nil && !refused(err) && cctx.Err() == nil {
			select {
			case <-cctx.Done():
				continue
			case <-retry.C:
			}
			nc, err = nats.Connect(url, opts...)
		}
		retry.Stop()
		cancel()
	}
	if err != nil {
		b.shutdownServer()
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		b.shutdownServer()
		return nil, err
	}
	b.NC, b.JS = nc, js
	// JetStream in a fresh cluster needs a moment to elect its meta leader.
	wctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		actx, acancel := context.WithTimeout(wctx, 2*time.Second)
		_, err := js.AccountInfo(actx)
		acancel()
		if err == nil {
			return b, nil
		}
		select {
		case <-wctx.Done():
			b.Close()
			return nil, fmt.Errorf("JetStream is not available at %s: %w", nc.ConnectedUrlRedacted(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// refused reports a connect error that waiting does not mend: the server
// answered and turned the daemon away (credentials, TLS).
func refused(err error) bool {
	for _, e := range []error{nats.ErrAuthorization, nats.ErrAuthExpired, nats.ErrAuthRevoked, nats.ErrAccountAuthExpired,
		nats.ErrNkeysNotSupported, nats.ErrSecureConnRequired, nats.ErrSecureConnWanted} {
		if errors.Is(err, e) {
			return true
		}
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var rh tls.RecordHeaderError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &rh)
}

// Close drains the connection and stops the embedded server.
func (b *Broker) Close() {
	if b.NC != nil {
		_ = b.NC.Drain()
		deadline := time.Now().Add(2 * time.Second)
		for !b.NC.IsClosed() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		b.NC.Close()
	}
	b.shutdownServer()
}

func (b *Broker) shutdownServer() {
	if b.Embedded != nil {
		b.Embedded.Shutdown()
		b.Embedded.WaitForShutdown()
	}
}
