# protobridge — see README.md. `make demo` and `make test` are the two commands
# a newcomer needs; everything they use is installed by the targets below.

GO      ?= go
BIN     := $(CURDIR)/bin
GRPCURL := $(BIN)/grpcurl
GHZ     := $(BIN)/ghz
HELM    := $(BIN)/helm
NATS    := $(BIN)/nats-server
BUF     := $(GO) tool -modfile=tools/go.mod buf
PEERS   := test/peers/node_modules/.package-lock.json

GRPCURL_VERSION := v1.9.4
GHZ_VERSION     := v0.120.0
HELM_VERSION    := v4.3.2
NATS_VERSION    := v2.15.3

export PATH := $(BIN):$(PATH)

.PHONY: all build image test demo gen schema lint vet fmt-check bench tools peers deps clean

all: build

## build: compile the daemon and protobridge-goclient (gowsdl clients for gen wsdl) into bin/, stamped with
## the commit (protobridge version)
build:
	$(GO) build -buildvcs=auto -o $(BIN)/ ./cmd/protobridge ./cmd/protobridge-goclient

## image: build the container image without a Docker daemon (the Dockerfile's final stage, on a static binary)
## into bin/oci (an OCI layout) and bin/protobridge-image.tar (for docker load / podman load)
IMAGE_TAG  ?= protobridge:dev
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
image:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags="-s -w -buildid=" -o $(BIN)/image/protobridge ./cmd/protobridge
	cd deploy && $(GO) run ./image --binary $(BIN)/image/protobridge --dockerfile $(CURDIR)/Dockerfile --arch $(IMAGE_ARCH) \
		--layout $(BIN)/oci --tar $(BIN)/protobridge-image.tar --tag $(IMAGE_TAG)

## demo: run the daemon on 127.0.0.1:50051 against built-in sample upstreams, status page on 127.0.0.1:9090 (grpcurl is put in bin/)
demo: $(GRPCURL)
	@echo "Compiling protobridge into $(BIN) (the first build takes a few minutes; each package is named as it compiles)..."
	@$(GO) build -v -o $(BIN)/protobridge ./cmd/protobridge
	@echo "grpcurl is in $(BIN): in another terminal run  export PATH=$(BIN):\$$PATH"
	$(BIN)/protobridge demo

## test: install the test peers, clients and Debian packages, then run every test with the race detector
test: deps tools peers fmt-check vet
	$(GO) test -race -count=1 -timeout 20m ./...
	cd examples/adapter-kv && $(GO) test -race -count=1 ./...
	cd deploy && $(GO) test -race -count=1 ./...

## gen: regenerate gen/ from proto/ with buf (pinned in tools/go.mod), lint the protos, and regenerate the config schema
gen: schema
	$(BUF) generate
	$(BUF) lint

## schema: regenerate schema/protobridge.schema.json from the config types (a test fails when it is stale)
schema:
	$(GO) run ./schema/gen

## lint: gofmt, go vet and buf lint
lint: fmt-check vet
	$(BUF) lint

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd examples/adapter-kv && $(GO) vet ./...
	cd deploy && $(GO) vet ./...
	cd bench && $(GO) vet ./...

## bench: benchmarks side by side with the anchors, printing BENCH ratio lines
bench: tools
	$(MAKE) -C bench run
	PROTOBRIDGE_BENCH=1 $(GO) test ./internal/frontdoor/mcp -run TestBenchP7 -count=1 -v | grep '^BENCH'
	PROTOBRIDGE_BENCH=1 $(GO) test ./test/async -run TestBenchP8 -count=1 -v | grep '^BENCH'
	$(GO) run ./adapters/rest/openapi/p9bench

## tools: grpcurl, helm (the chart's tests), nats-server (the JetStream cluster of test/async) and ghz (bench),
## pinned, built from the Go module proxy into bin/
tools: $(GRPCURL) $(GHZ) $(HELM) $(NATS)

$(GRPCURL):
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

$(NATS):
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(GO) install github.com/nats-io/nats-server/v2@$(NATS_VERSION)

$(GHZ):
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

$(HELM):
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

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
