#!/usr/bin/env bash
# Installs the Debian packages the tests use: promtool and prometheus (prometheus), go tool pprof
# (golang-go) and Chromium for the memory page's browser test (chromium).
# Idempotent; needs root (or sudo) and Debian's package archive.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -x /usr/bin/chromium ] || need+=(chromium) # the memory page's browser test (playwright-core drives it)
if [ ${#need[@]} -eq 0 ]; then
  echo "test deps: already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
