#!/usr/bin/env bash
# Fetches lavapipe (Mesa's software Vulkan driver) for the webgpu backend's tests on hosts
# without a GPU, with no system change: Debian bookworm's own Mesa 22 is refused by Dawn
# ("shaderUniform*ArrayDynamicIndexing required"), so this takes mesa-vulkan-drivers from
# bookworm-backports through a temporary apt source list and state, `apt-get download`s it
# (and the Vulkan loader, libvulkan1) and unpacks them with `dpkg -x` into a cache folder:
#
#   $PRETEXT_LAVAPIPE_DIR (default <repo>/.cache/lavapipe, git-ignored)
#     lvp_icd.json      the ICD manifest, absolute library path: VK_ICD_FILENAMES=<this>
#     libvulkan.so.1    the Vulkan loader: PRETEXT_VULKAN_LOADER=<this> (preloaded by pretext)
#
# Idempotent (a second run only checks the cache). Prints the folder. Needs apt-get and dpkg.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${PRETEXT_LAVAPIPE_DIR:-$PWD/.cache/lavapipe}"
MIRROR="${PRETEXT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm-backports

if [[ -f "$DIR/lvp_icd.json" && -e "$DIR/libvulkan.so.1" ]]; then
  echo "$DIR"
  exit 0
fi
command -v apt-get >/dev/null && command -v dpkg >/dev/null || {
  echo "fetch-lavapipe: needs apt-get and dpkg (Debian)" >&2
  exit 1
}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/lists/partial" "$TMP/parts" "$TMP/cache/archives/partial" "$TMP/debs" "$TMP/root"
# bookworm for the loader (libvulkan1), bookworm-backports for Mesa 25.
for suite in bookworm "$SUITE"; do
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $suite main"
done >"$TMP/sources.list"
# Only the temporary list and state: the system's sources, lists and cache stay untouched.
APT=(-o "Dir::Etc::SourceList=$TMP/sources.list" -o "Dir::Etc::SourceParts=$TMP/parts"
  -o "Dir::State::Lists=$TMP/lists" -o "Dir::Cache=$TMP/cache" -o Debug::NoLocking=1
  -o APT::Sandbox::User=root)
apt-get "${APT[@]}" update -qq >&2
(cd "$TMP/debs" && apt-get "${APT[@]}" download -qq "mesa-vulkan-drivers/$SUITE" libvulkan1 >&2)
for deb in "$TMP"/debs/*.deb; do dpkg -x "$deb" "$TMP/root"; done

LIB="$TMP/root/usr/lib/x86_64-linux-gnu"
[[ -f "$LIB/libvulkan_lvp.so" ]] || { echo "fetch-lavapipe: no libvulkan_lvp.so in the package" >&2; exit 1; }
# The driver's own dependencies (LLVM 15, libdrm, xcb…) are ordinary bookworm libraries that
# must be on the system (.ci/run installs them); name the missing ones instead of failing later.
missing="$(ldd "$LIB/libvulkan_lvp.so" | awk '/not found/ {print $1}' | tr '\n' ' ')"
if [[ -n "$missing" ]]; then
  echo "fetch-lavapipe: libraries lavapipe needs are missing: $missing" >&2
  echo "  (bookworm packages: apt-get install libllvm15 libdrm2 libdrm-amdgpu1 libelf1 libwayland-client0 libx11-xcb1 libxcb-dri3-0 libxcb-present0 libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxshmfence1 libzstd1)" >&2
  exit 1
fi
rm -rf "$DIR.new"
mkdir -p "$DIR.new"
cp "$LIB/libvulkan_lvp.so" "$DIR.new/"
cp -L "$LIB/libvulkan.so.1" "$DIR.new/libvulkan.so.1"
ls "$TMP"/debs/*.deb | xargs -n1 basename >"$DIR.new/packages.txt"
# The package's manifest names the library bare (found on the system's library path): make it absolute.
cat >"$DIR.new/lvp_icd.json" <<JSON
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$DIR/libvulkan_lvp.so", "api_version": "1.4.305" } }
JSON
rm -rf "$DIR"
mkdir -p "$(dirname "$DIR")"
mv "$DIR.new" "$DIR"
echo "$DIR"
