#!/usr/bin/env bash
# Installs Debian's chromium for the browser test (puppeteer-core drives it; nothing downloads a
# browser). Headless with --enable-unsafe-webgpu it offers SwiftShader's WebGPU adapter.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium already installed: $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E "$0" "$@"; fi
  echo "install-chromium: needs root (or sudo) to install Debian packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "installed $(chromium --version 2>/dev/null | head -1)"
