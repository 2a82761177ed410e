#!/usr/bin/env bash
# Installs Debian's ClickHouse (18.16 on Debian 12) for the ship tier and `npm run bench:ship`:
# clickhouse-server and clickhouse-client through apt, as root. Idempotent: nothing to do when both
# are on the PATH. Exit 3 = missing and not root (the tests then skip, or fail on CI).
# The package's own service is never started: the tests run their own server on a free loopback
# port with a temporary data folder (test/helpers/clickhouse.ts).
set -euo pipefail
if command -v clickhouse-server >/dev/null 2>&1 && command -v clickhouse-client >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "harness: clickhouse-server/clickhouse-client missing and not root to apt-get them" >&2
  exit 3
fi
echo "harness: apt-get install clickhouse-server clickhouse-client (about 15 s)" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client >&2
command -v clickhouse-server >/dev/null 2>&1 || { echo "harness: clickhouse-server did not install" >&2; exit 1; }
