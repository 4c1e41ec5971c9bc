// Command etcd is the upstream etcd server, built from its Go module so the
// local control plane does not depend on a distribution's (too old) etcd.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
