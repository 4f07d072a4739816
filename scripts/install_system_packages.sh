#!/usr/bin/env bash
# System packages the project needs: Xvfb and the X/GL libraries for Qt, VTK and MediaPipe.
# Idempotent: installs only what is missing, so repeated `make` calls cost one dpkg query.
set -euo pipefail
packages=(
  xvfb xauth
  libgl1 libegl1 libgles2 libglu1-mesa libgl1-mesa-dri libosmesa6
  libglib2.0-0 libsm6 libxext6 libxrender1 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-shape0
  libxcb-xinerama0 libxcb-xkb1 libxcb-cursor0 libxcb-xfixes0
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing system packages: ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
