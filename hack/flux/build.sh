#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller (the GitOps engine of tests/e2e/test_gitops_flux.py)
# with the machine's Go toolchain and the Go module proxy, and extracts their CRDs from the same modules. Same
# cache as hack/cluster/build.sh: one binary per controller version + Go version, rebuilt only when either
# changes. Prints the bin directory.
#
# v1.9.x is the newest line that builds on Go 1.26 (v1.10 declares go 1.27). Each controller's go.mod holds
# `replace` directives (kustomize pins, go-digest), which only apply in the main module, so each is built as
# the main module from a scratch copy of the module the proxy serves. Two edits to that copy, both forced by
# what a module zip and this proxy hold:
#  - `replace .../api => ./api` is dropped: api/ is a nested module, left out of the parent's zip; the same
#    version of it is required from the proxy instead.
#  - source-controller requires github.com/fluxcd/pkg/artifact v0.18.3, which the proxy here refuses; v0.18.0
#    (same minor, same API for the storage and artifact server the controller uses) replaces it.
set -euo pipefail
source_version=${FLUX_SOURCE_CONTROLLER_VERSION:-v1.9.6}
kustomize_version=${FLUX_KUSTOMIZE_CONTROLLER_VERSION:-v1.9.6}
artifact_pin=github.com/fluxcd/pkg/artifact@v0.18.0
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="-mod=mod${GOFLAGS:+ $GOFLAGS}"
cache=${KDAP_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kdap-cluster}

command -v go >/dev/null || { echo "flux/build.sh: no Go toolchain on PATH; Flux needs Go >= 1.26" >&2; exit 1; }
gover=$(go env GOVERSION)
bin="$cache/bin"
mkdir -p "$bin"

module_dir() { # module@version -> the read-only directory of the downloaded module
  local dir
  dir=$(cd "$cache" && go mod download -json "$1" | awk -F'"' '/"Dir"/ {print $4}')
  [[ -n $dir && -d $dir ]] || { echo "flux/build.sh: go mod download $1 failed" >&2; exit 1; }
  printf '%s\n' "$dir"
}

# build NAME VERSION EXTRA-GO-MOD-EDIT-ARGS...
build() {
  local name=$1 version=$2; shift 2
  local module=github.com/fluxcd/$name
  local dir="$cache/flux-$name-$version"
  local out="$dir/$name-$gover"
  mkdir -p "$dir"
  if [[ ! -x $out ]]; then
    echo "building $name $version ..." >&2
    local start=$SECONDS src work
    src=$(module_dir "$module@$version")
    work=$(mktemp -d "${TMPDIR:-/tmp}/flux-$name-build.XXXXXX")
    cp -r "$src/." "$work/"
    chmod -R u+w "$work"
    (cd "$work" && go mod edit -dropreplace="$module/api" "$@" \
       && go build -trimpath -ldflags "-s -w" -o "$out.tmp" .) \
      || { chmod -R u+w "$work"; rm -rf "$work"; exit 1; }
    chmod -R u+w "$work"; rm -rf "$work"
    mv "$out.tmp" "$out"
    echo "built $name in $((SECONDS - start))s" >&2
  fi
  ln -sf "$out" "$bin/$name"
}

build source-controller "$source_version" -replace="${artifact_pin%@*}=$artifact_pin"
build kustomize-controller "$kustomize_version"

# The CRDs both controllers watch (every source kind: source-controller starts an informer per kind, and
# kustomize-controller watches GitRepository, OCIRepository, Bucket and ExternalArtifact sources).
crds="$cache/flux-crds-$source_version-$kustomize_version.yaml"
if [[ ! -f $crds ]]; then
  src=$(module_dir "github.com/fluxcd/source-controller@$source_version")
  ksrc=$(module_dir "github.com/fluxcd/kustomize-controller@$kustomize_version")
  for f in "$src"/config/crd/bases/*.yaml "$ksrc"/config/crd/bases/*.yaml; do
    echo "---"; cat "$f"
  done > "$crds.tmp"
  mv "$crds.tmp" "$crds"
fi
ln -sf "$crds" "$bin/flux-crds.yaml"
echo "$bin"
