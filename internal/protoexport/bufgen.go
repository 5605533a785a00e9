package protoexport

// BufGenYAML is the buf.gen.yaml the README shows for Go stubs of a
// service whose .proto imports the exported files, in a module named
// example.com/shop: protobridge/v1 is generated into that module (so the
// stubs never import protobridge), google/api and buf/validate use their
// published Go packages. protoc-gen-go-plugin and
// protoc-gen-go-grpc-plugin stand for the plugins (`local:
// protoc-gen-go` with the plugin on PATH).
const BufGenYAML = `version: v2
managed:
  enabled: true
  override:
    - file_option: go_package_prefix
      value: example.com/shop/gen
  disable:
    - file_option: go_package
      path: google/api
    - file_option: go_package
      path: buf/validate
plugins:
  - local: protoc-gen-go-plugin
    out: gen
    opt: paths=source_relative
  - local: protoc-gen-go-grpc-plugin
    out: gen
    opt: paths=source_relative
`
