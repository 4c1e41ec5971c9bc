#!/usr/bin/env bash
# Builds the local control plane's binaries with the machine's Go toolchain and the Go module proxy.
# Output: a cache outside the work tree, one directory per component version, so a binary is rebuilt
# only when its pinned version (in the go.mod beside this script) changes. Prints the bin directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
cache=${KDAP_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kdap-cluster}

command -v go >/dev/null || { echo "build.sh: no Go toolchain on PATH; the control plane needs Go >= 1.26" >&2; exit 1; }
# k8s.io/kubernetes v1.36 and kwok v0.8 declare go 1.26; GOTOOLCHAIN=local forbids downloading a newer one.
gominor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [[ ! $gominor =~ ^[0-9]+$ ]] || (( gominor < 26 )); then
  echo "build.sh: $(go env GOVERSION) is too old; the control plane needs Go >= 1.26 on PATH" >&2
  exit 1
fi

version_of() { # module dir, module path -> pinned version
  awk -v m="$2" '$1==m || ($1=="require" && $2==m) {print ($1=="require") ? $3 : $2; exit}' "$here/$1/go.mod"
}
k8s=$(version_of kube k8s.io/kubernetes)
etcd=$(version_of etcd go.etcd.io/etcd/server/v3)
kwok=$(version_of kwok sigs.k8s.io/kwok)
gover=$(go env GOVERSION)
bin="$cache/bin"
mkdir -p "$bin"

# build NAME VERSION MODULE-DIR PACKAGE LDFLAGS
build() {
  local name=$1 version=$2 dir=$3 pkg=$4 ldflags=$5
  local out="$cache/$name-$version-$gover"
  if [[ ! -x $out ]]; then
    echo "building $name $version ..." >&2
    local start=$SECONDS
    (cd "$here/$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
    mv "$out.tmp" "$out"
    echo "built $name in $((SECONDS - start))s" >&2
  fi
  ln -sf "$out" "$bin/$name"
}

minor=${k8s#v1.}; minor=${minor%%.*}
kv="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1"
kv="$kv -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
kv="$kv -X k8s.io/client-go/pkg/version.gitVersion=$k8s -X k8s.io/client-go/pkg/version.gitMajor=1"
kv="$kv -X k8s.io/client-go/pkg/version.gitMinor=$minor"
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  build "$c" "$k8s" kube "k8s.io/kubernetes/cmd/$c" "$kv"
done
build etcd "$etcd" etcd . ""
build kwok "$kwok" kwok sigs.k8s.io/kwok/cmd/kwok "-X sigs.k8s.io/kwok/pkg/consts.Version=${kwok#v}"

# Gateway API CRDs (standard channel) from the module the proxy serves.
gw=$(awk '$1=="sigs.k8s.io/gateway-api" {print $2; exit}' "$here/gateway-api.version")
gwdir="$cache/gateway-api-$gw"
if [[ ! -f $gwdir/standard-install.yaml ]]; then
  src=$(cd "$here/kube" && go mod download -json "sigs.k8s.io/gateway-api@$gw" | awk -F'"' '/"Dir"/ {print $4}')
  mkdir -p "$gwdir"
  for f in "$src"/config/crd/standard/*.yaml; do echo "---"; cat "$f"; done > "$gwdir/standard-install.yaml.tmp"
  mv "$gwdir/standard-install.yaml.tmp" "$gwdir/standard-install.yaml"
fi
ln -sf "$gwdir/standard-install.yaml" "$bin/gateway-api-standard.yaml"
# kwok's published default stages (node init + lease heartbeat, pod ready/complete/delete), from its module.
stages="$cache/kwok-stages-$kwok.yaml"
if [[ ! -f $stages ]]; then
  src=$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  for f in "$src"/kustomize/stage/node/fast/node-initialize.yaml "$src"/kustomize/stage/node/heartbeat-with-lease/*.yaml \
           "$src"/kustomize/stage/pod/fast/*.yaml; do
    echo "---"; cat "$f"
  done > "$stages.tmp"
  mv "$stages.tmp" "$stages"
fi
ln -sf "$stages" "$bin/kwok-stages.yaml"
echo "$bin"
