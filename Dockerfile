# syntax=docker/dockerfile:1
# protobridge container image: a static binary on distroless, run as the
# non-root user 65532. No config or .proto files are baked in: mount them
# at /etc/protobridge (the Helm chart does, from a ConfigMap).
#
#   docker build -t protobridge .
#   docker run -v $PWD/deploy:/etc/protobridge -p 50051:50051 protobridge
#
# `make image` builds the same image without a Docker daemon
# (deploy/image reads this file's final stage for the image config).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
# Reproducible: no cgo, no file system paths, no build id.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w -buildid=" -o /out/protobridge ./cmd/protobridge

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/protobridge /usr/local/bin/protobridge
USER 65532:65532
WORKDIR /etc/protobridge
# gRPC front door, admin HTTP (/healthz /readyz /metrics, status page), MCP.
EXPOSE 50051/tcp 9090/tcp 8765/tcp
ENTRYPOINT ["/usr/local/bin/protobridge"]
CMD ["serve", "--config", "/etc/protobridge/protobridge.yaml"]
