#!/usr/bin/env bash
# Azurite (npm `azurite`), a real Azure Storage API server, for the tests that read Blob / ADLS data through
# the real azure-storage-blob client. Installed once per machine, keyed by version; prints the bin directory.
set -euo pipefail
VERSION=3.35.0
DIR=${KDAP_AZURITE_DIR:-$HOME/.cache/kdap-azurite/$VERSION}
if [[ ! -x $DIR/node_modules/.bin/azurite-blob ]]; then
  command -v npm >/dev/null || { echo "azurite: npm is missing; run: sudo apt-get install -y npm" >&2; exit 1; }
  mkdir -p "$DIR"
  echo "azurite: installing $VERSION into $DIR" >&2
  npm install --prefix "$DIR" --no-audit --no-fund --silent "azurite@$VERSION" >&2
fi
echo "$DIR/node_modules/.bin"
