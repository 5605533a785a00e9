// Command image builds protobridge's OCI image without a Docker daemon, the
// image the Dockerfile describes: the static binary built by `make image`
// on a root file system of its own (CA certificates, passwd and group
// naming the non-root user, /tmp), with the user, working directory,
// exposed ports, entrypoint and command of the Dockerfile's final stage.
// No shell and no config or .proto files are in it.
//
// Every file and the image config carry one fixed time (SOURCE_DATE_EPOCH,
// else 0), so the same binary always gives the same image digest.
//
//	go run ./image --binary ../bin/image/protobridge --dockerfile ../Dockerfile \
//	    --layout ../bin/oci --tar ../bin/protobridge-image.tar --tag protobridge:dev
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.Binary, "binary", "", "the static linux protobridge binary")
	flag.StringVar(&o.Dockerfile, "dockerfile", "Dockerfile", "the Dockerfile whose final stage gives the image config")
	flag.StringVar(&o.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of CA certificates put in the image")
	flag.StringVar(&o.Arch, "arch", runtime.GOARCH, "the binary's architecture")
	flag.StringVar(&o.Layout, "layout", "", "write an OCI image layout into this directory")
	flag.StringVar(&o.Tar, "tar", "", "write a tarball that `docker load` and `podman load` read")
	flag.StringVar(&o.Tag, "tag", "protobridge:dev", "the image's name in the tarball and layout")
	flag.Parse()
	if o.Binary == "" || (o.Layout == "" && o.Tar == "") {
		fmt.Fprintln(os.Stderr, "usage: image --binary FILE [--layout DIR] [--tar FILE] (see -h)")
		os.Exit(2)
	}
	o.Time = time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "image: SOURCE_DATE_EPOCH is not a number of seconds")
			os.Exit(2)
		}
		o.Time = time.Unix(n, 0).UTC()
	}
	digest, err := write(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("image %s %s\n", o.Tag, digest)
}
