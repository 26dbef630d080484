#!/usr/bin/env bash
# Make sure the browsers, nginx, openssl, Caddy and oauth2-proxy the browser and e2e suites need are on this
# machine. Installs what is missing with apt-get when it can (root, or passwordless sudo, and apt-get
# present); otherwise stops at once with one line naming what is missing and how to provide it.
# oauth2-proxy (the version in scripts/oauth2-proxy.version) is OAUTH2_PROXY_PATH when set, else a
# build cached outside git in ${XDG_CACHE_HOME:-$HOME/.cache}/ajax-reauth/bin/ (reused while its
# --version matches), else built there once with `go install` (Go from the module proxy, no cgo).
#
#   BROWSERS=chromium,firefox,webkit   which browsers the suites will run (default: all three)
#   CHROMIUM_PATH, FIREFOX_PATH, WEBKIT_DRIVER_PATH, WEBKIT_BROWSER_PATH, XVFB_PATH   other binaries
#   CADDY_PATH                         another caddy binary (default /usr/bin/caddy, Debian's caddy)
#   OAUTH2_PROXY_PATH                  a prebuilt oauth2-proxy of the pinned version
#   SETUP_NO_INSTALL=1                 only check, never install (nor build)
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
    openssl) echo "openssl|/usr/bin/openssl|openssl|apt-get install openssl (the e2e stack makes its test CA and certificates with it for the h1-tls / h2 transports)" ;;
    caddy) echo "caddy|${CADDY_PATH:-/usr/bin/caddy}|caddy|apt-get install caddy, or CADDY_PATH=/path/to/caddy (2.6+; the real-proxy stack's forward_auth front)" ;;
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
items+=(nginx openssl caddy)

# oauth2-proxy: the pinned version, from OAUTH2_PROXY_PATH, the cache, or built once with Go.
oauth2_proxy() {
  local version cache bin
  version="$(tr -d '[:space:]' <"$(dirname "$0")/oauth2-proxy.version")"
  if [ -n "${OAUTH2_PROXY_PATH:-}" ]; then
    "$OAUTH2_PROXY_PATH" --version 2>/dev/null | grep -q " $version " && return 0
    echo "setup: OAUTH2_PROXY_PATH=$OAUTH2_PROXY_PATH is not oauth2-proxy $version (--version: $("$OAUTH2_PROXY_PATH" --version 2>&1 | head -n 1))" >&2
    return 1
  fi
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/ajax-reauth/bin"
  bin="$cache/oauth2-proxy-$version"
  [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q " $version " && return 0
  if [ "${SETUP_NO_INSTALL:-}" = 1 ]; then
    echo "setup: oauth2-proxy $version is missing ($bin): run bash scripts/setup.sh without SETUP_NO_INSTALL, or set OAUTH2_PROXY_PATH" >&2
    return 1
  fi
  # Go's own installer puts it in /usr/local/go/bin, which a non-login shell may not have on PATH.
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
  if ! command -v go >/dev/null 2>&1; then
    echo "setup: oauth2-proxy $version is missing and Go is not installed: install Go 1.26+, or set OAUTH2_PROXY_PATH to a prebuilt oauth2-proxy $version" >&2
    return 1
  fi
  echo "setup: building oauth2-proxy $version into $cache (go install, about 2 minutes once)"
  mkdir -p "$cache"
  local tmp
  tmp="$(mktemp -d)"
  GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install \
    -ldflags "-X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=$version" \
    "github.com/oauth2-proxy/oauth2-proxy/v7@$version" || { rm -rf "$tmp"; echo "setup: go install of oauth2-proxy $version failed (see above)" >&2; return 1; }
  mv "$tmp/oauth2-proxy" "$bin"
  rm -rf "$tmp"
  "$bin" --version | grep -q " $version " || { echo "setup: $bin does not report $version" >&2; return 1; }
}

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
[ -z "$missing" ] && { oauth2_proxy; exit $?; }

sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
if [ "${SETUP_NO_INSTALL:-}" != 1 ] && command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
  pkgs="$(echo "$missing" | cut -d'|' -f3 | tr '\n' ' ')"
  echo "setup: installing $pkgs with apt-get"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  missing="$(check)"
  [ -z "$missing" ] && { oauth2_proxy; exit $?; }
fi

first="$(echo "$missing" | head -n 1)"
IFS='|' read -r name absent _pkgs hint <<<"$first"
echo "setup: $name is missing ($absent): $hint; or run only the others with BROWSERS=…" >&2
exit 1
