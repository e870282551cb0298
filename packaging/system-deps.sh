#!/usr/bin/env bash
# Install the Debian/Ubuntu packages cbct-viewer needs, skipping apt when all are present.
#   packaging/system-deps.sh run    libraries Qt's xcb plugin and VTK's OpenGL need on a desktop
#   packaging/system-deps.sh test   the above plus a virtual screen (Xvfb) and Mesa's off-screen GL
set -euo pipefail

runtime=(
  python3-venv
  libgl1 libgl1-mesa-dri libegl1 libegl-mesa0 libglib2.0-0 libdbus-1-3 libfontconfig1 libfreetype6
  libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxrender1 libxi6 libxext6 libxt6 libsm6 libice6
  libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0
  libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1
)
test_only=(xvfb xauth libosmesa6)

wanted=("${runtime[@]}")
[ "${1:-run}" = "test" ] && wanted+=("${test_only[@]}")

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "cbct-viewer: please install these system packages: ${missing[*]}" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "cbct-viewer: installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
