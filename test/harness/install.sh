#!/usr/bin/env bash
# Installs what the real-VS-Code tiers need, once, into an ignored cache folder:
# Debian packages (Chromium, ripgrep, native build headers) when missing and we are root,
# then code-server 4.100.3 and playwright-core under .cache/harness (never as project deps).
# Idempotent: a second run with everything present does nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cache="$here/.cache/harness"
CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.64.1
mkdir -p "$cache"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
[ -e /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
dpkg -s libsecret-1-dev >/dev/null 2>&1 || need_apt+=(pkg-config libx11-dev libxkbfile-dev libsecret-1-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "harness: missing Debian packages (${need_apt[*]}) and not root to install them" >&2
    exit 3
  fi
  echo "harness: apt-get install ${need_apt[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >&2
fi

if [ -x "$cache/node_modules/.bin/code-server" ] && [ -f "$cache/node_modules/playwright-core/package.json" ] \
   && [ "$(node -p "require('$cache/node_modules/code-server/package.json').version")" = "$CODE_SERVER_VERSION" ]; then
  exit 0
fi

# @vscode/ripgrep's postinstall downloads rg from the internet; it first looks for a cached
# archive in os.tmpdir(). Pack Debian's rg there so the install works offline.
tmpdir=$(node -p "require('os').tmpdir()")
rgcache="$tmpdir/vscode-ripgrep-cache-1.15.11"
rgtar="$rgcache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$rgtar" ]; then
  mkdir -p "$rgcache"
  work=$(mktemp -d)
  cp "$(command -v rg)" "$work/rg"
  tar -czf "$rgtar" -C "$work" rg
  rm -rf "$work"
fi

cd "$cache"
[ -f package.json ] || echo '{"name":"telemetry-sink-harness","private":true}' > package.json
echo "harness: npm install code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_VERSION (about a minute)" >&2
npm_config_yes=true npm install --no-save --unsafe-perm --no-audit --no-fund \
  "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" >&2
[ -x "$cache/node_modules/.bin/code-server" ] || { echo "harness: code-server did not install" >&2; exit 1; }
