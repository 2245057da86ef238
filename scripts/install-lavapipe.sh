#!/usr/bin/env bash
# Installs Mesa 25's lavapipe (Vulkan on the CPU) from bookworm-backports, reusing the mirror the
# machine already has configured (the first stanza of debian.sources with another suite).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E "$0" "$@"; fi
  echo "install-lavapipe: needs root (or sudo) to install Debian packages" >&2
  exit 1
fi
if [ -f /usr/share/vulkan/icd.d/lvp_icd.json ] && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]\.'; then
  echo "lavapipe (Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)) already installed"
  exit 0
fi
src=/etc/apt/sources.list.d/debian.sources
bp=/etc/apt/sources.list.d/backports.sources
if [ ! -f "$bp" ]; then
  awk 'BEGIN{RS="";ORS="\n\n"} NR==1{print}' "$src" | sed 's/^Suites:.*/Suites: bookworm-backports/' > "$bp"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "installed lavapipe: Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
