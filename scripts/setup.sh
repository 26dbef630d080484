#!/usr/bin/env bash
# Make sure the browsers and nginx the browser and e2e suites need are on this machine.
# Installs what is missing with apt-get when it can (root, or passwordless sudo, and apt-get present);
# otherwise stops at once with one line naming what is missing and how to provide it.
#
#   BROWSERS=chromium,firefox,webkit   which browsers the suites will run (default: all three)
#   CHROMIUM_PATH, FIREFOX_PATH, WEBKIT_DRIVER_PATH, WEBKIT_BROWSER_PATH, XVFB_PATH   other binaries
#   SETUP_NO_INSTALL=1                 only check, never install
set -euo pipefail

browsers="${BROWSERS:-chromium,firefox,webkit}"
minibrowser_default() {
  local p
  for p in /usr/lib/*-linux-gnu/webkit2gtk-4.1/MiniBrowser; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  echo "/usr/lib/$(uname -m)-linux-gnu/webkit2gtk-4.1/MiniBrowser"
}

# name|binaries (space separated)|apt packages|how to provide it otherwise
needs() {
  case "$1" in
    chromium) echo "chromium|${CHROMIUM_PATH:-/usr/bin/chromium}|chromium|apt-get install chromium, or CHROMIUM_PATH=/path/to/chrome" ;;
    firefox) echo "firefox|${FIREFOX_PATH:-/usr/bin/firefox-esr}|firefox-esr|apt-get install firefox-esr, or FIREFOX_PATH=/path/to/firefox (128+)" ;;
    webkit) echo "webkit|${WEBKIT_DRIVER_PATH:-/usr/bin/WebKitWebDriver} ${WEBKIT_BROWSER_PATH:-$(minibrowser_default)} ${XVFB_PATH:-/usr/bin/Xvfb}|webkit2gtk-driver xvfb|apt-get install webkit2gtk-driver xvfb, or WEBKIT_DRIVER_PATH, WEBKIT_BROWSER_PATH and XVFB_PATH" ;;
    nginx) echo "nginx|/usr/sbin/nginx|nginx-light|apt-get install nginx-light (the e2e stack runs /usr/sbin/nginx)" ;;
    *) echo "setup: unknown browser '$1' in BROWSERS (use chromium, firefox, webkit)" >&2; exit 2 ;;
  esac
}

items=()
IFS=',' read -r -a list <<<"$browsers"
for b in "${list[@]}"; do
  b="${b// /}"
  [ -n "$b" ] || continue
  needs "$b" >/dev/null || exit 2
  items+=("$b")
done
items+=(nginx)

# Prints "name|missing binaries|packages|hint" for each item with a missing binary.
check() {
  local item line name bins pkgs hint absent bin
  for item in "${items[@]}"; do
    line="$(needs "$item")"
    IFS='|' read -r name bins pkgs hint <<<"$line"
    absent=""
    for bin in $bins; do
      [ -x "$bin" ] || absent="$absent $bin"
    done
    [ -z "$absent" ] || echo "$name|${absent# }|$pkgs|$hint"
  done
}

missing="$(check)"
[ -z "$missing" ] && exit 0

sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
if [ "${SETUP_NO_INSTALL:-}" != 1 ] && command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
  pkgs="$(echo "$missing" | cut -d'|' -f3 | tr '\n' ' ')"
  echo "setup: installing $pkgs with apt-get"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  missing="$(check)"
  [ -z "$missing" ] && exit 0
fi

first="$(echo "$missing" | head -n 1)"
IFS='|' read -r name absent _pkgs hint <<<"$first"
echo "setup: $name is missing ($absent): $hint; or run only the others with BROWSERS=…" >&2
exit 1
