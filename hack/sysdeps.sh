#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real, only when missing.
set -euo pipefail
need=()
command -v kubectl >/dev/null || need+=(kubernetes-client)
command -v prometheus >/dev/null || need+=(prometheus)
command -v npm >/dev/null || need+=(npm)  # Azurite, the Azure Storage API server the Blob tests read from
command -v java >/dev/null || need+=(openjdk-17-jre-headless)  # pyspark's local drift jobs (tests, demo)
[[ ${#need[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "sysdeps: missing ${need[*]}; run: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "sysdeps: installing ${need[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
