#!/usr/bin/env bash
# Builds Argo Rollouts' controller (the comparison side of the scale benchmark) with the machine's Go toolchain
# and the Go module proxy, and extracts its CRDs from the same module. Same cache as hack/cluster/build.sh:
# one binary per Argo version + Go version, rebuilt only when either changes. Prints the bin directory.
#
# argo-rollouts' go.mod pins k8s.io/* through `replace` directives, which only apply in the main module, so it is
# built as the main module: the module the proxy serves is copied to a scratch dir and built there, against its
# own go.mod/go.sum.
set -euo pipefail
version=${ARGO_ROLLOUTS_VERSION:-v1.10.1}
module=github.com/argoproj/argo-rollouts
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
cache=${KDAP_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kdap-cluster}

command -v go >/dev/null || { echo "argo/build.sh: no Go toolchain on PATH; Argo Rollouts needs Go >= 1.26" >&2; exit 1; }
gover=$(go env GOVERSION)
bin="$cache/bin"
dir="$cache/argo-rollouts-$version"
out="$dir/rollouts-controller-$gover"
crds="$dir/crds.yaml"
mkdir -p "$bin" "$dir"

src=""
module_dir() { # download once (a no-op when the module cache has it) and print the read-only module dir
  if [[ -z $src ]]; then
    src=$(cd "$dir" && go mod download -json "$module@$version" | awk -F'"' '/"Dir"/ {print $4}')
    [[ -n $src && -d $src ]] || { echo "argo/build.sh: go mod download $module@$version failed" >&2; exit 1; }
  fi
  printf '%s\n' "$src"
}

if [[ ! -x $out ]]; then
  echo "building rollouts-controller $version ..." >&2
  start=$SECONDS
  module_dir >/dev/null
  work=$(mktemp -d "${TMPDIR:-/tmp}/argo-rollouts-build.XXXXXX")
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && go build -trimpath \
      -ldflags "-s -w -X $module/utils/version.version=${version#v} -X $module/utils/version.gitTag=$version" \
      -o "$out.tmp" ./cmd/rollouts-controller)
  mv "$out.tmp" "$out"
  echo "built rollouts-controller in $((SECONDS - start))s" >&2
fi
ln -sf "$out" "$bin/rollouts-controller"

# The CRDs (Rollout, Experiment, AnalysisRun, AnalysisTemplate, ClusterAnalysisTemplate) from the same module.
if [[ ! -f $crds ]]; then
  module_dir >/dev/null
  for f in rollout experiment analysis-run analysis-template cluster-analysis-template; do
    echo "---"; cat "$src/manifests/crds/$f-crd.yaml"
  done > "$crds.tmp"
  mv "$crds.tmp" "$crds"
fi
ln -sf "$crds" "$bin/argo-rollouts-crds.yaml"
echo "$bin"
