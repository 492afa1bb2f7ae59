#!/usr/bin/env bash
# System packages the browser and PostgreSQL tests need: Debian's chromium + chromium-driver and postgresql.
# Installs only what is missing, only with apt-get and root; otherwise says so and leaves the tests to skip.
set -uo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "system-deps: missing ${missing[*]} and no root apt-get here; the browser/PostgreSQL tests will skip." >&2
    exit 0
fi
echo "system-deps: installing ${missing[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/monitor-pipeline-apt.log 2>&1; then
    # A stale package index is the usual cause: refresh it once and retry.
    apt-get update -q >>/tmp/monitor-pipeline-apt.log 2>&1
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/monitor-pipeline-apt.log 2>&1 \
        || { echo "system-deps: apt-get failed, see /tmp/monitor-pipeline-apt.log; those tests will skip." >&2; exit 0; }
fi
