# protobridge — see README.md. `make demo` and `make test` are the two commands
# a newcomer needs; everything they use is installed by the targets below.

GO      ?= go
BIN     := $(CURDIR)/bin
GRPCURL := $(BIN)/grpcurl
GHZ     := $(BIN)/ghz
BUF     := $(GO) tool -modfile=tools/go.mod buf
PEERS   := test/peers/node_modules/.package-lock.json

GRPCURL_VERSION := v1.9.4
GHZ_VERSION     := v0.120.0

export PATH := $(BIN):$(PATH)

.PHONY: all build test demo gen lint vet fmt-check bench tools peers deps clean

all: build

## build: compile the daemon and protobridge-goclient (gowsdl clients for gen wsdl) into bin/
build:
	$(GO) build -o $(BIN)/ ./cmd/protobridge ./cmd/protobridge-goclient

## demo: run the daemon on 127.0.0.1:50051 against built-in sample upstreams (grpcurl is put in bin/)
demo: $(GRPCURL)
	@echo "grpcurl is in $(BIN): in another terminal run  export PATH=$(BIN):\$$PATH"
	$(GO) run ./cmd/protobridge demo

## test: install the test peers, clients and Debian packages, then run every test with the race detector
test: deps tools peers fmt-check vet
	$(GO) test -race -count=1 -timeout 20m ./...
	cd examples/adapter-kv && $(GO) test -race -count=1 ./...

## gen: regenerate gen/ from proto/ with buf (pinned in tools/go.mod) and lint the protos
gen:
	$(BUF) generate
	$(BUF) lint

## lint: gofmt, go vet and buf lint
lint: fmt-check vet
	$(BUF) lint

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## bench: benchmarks side by side with the anchors, printing BENCH ratio lines
bench: tools
	$(MAKE) -C bench run
	PROTOBRIDGE_BENCH=1 $(GO) test ./internal/frontdoor/mcp -run TestBenchP7 -count=1 -v | grep '^BENCH'
	$(GO) run ./adapters/rest/openapi/p9bench

## tools: grpcurl (and ghz for bench) pinned, built from the Go module proxy into bin/
tools: $(GRPCURL) $(GHZ)

$(GRPCURL):
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

$(GHZ):
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

## peers: the npm test peers (Prism, node-soap, ws) from the committed lock file
peers: $(PEERS)

$(PEERS): test/peers/package-lock.json
	npm ci --prefix test/peers --no-audit --no-fund --loglevel=error

## deps: Debian packages the tests use (needs root, as on CI): chromium renders the status page,
## php-soap and python3-zeep are SOAP peers (PHP SoapServer, zeep as a client oracle), redis-server backs shared state
DEBS := chromium php-cli php-soap python3-zeep redis-server
deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

clean:
	rm -rf $(BIN) test/peers/node_modules
