#!/usr/bin/env bash
# Installs Debian's chromium for the run report's browser test (tests/integration/runs), which drives it
# with Playwright's executable_path: Playwright's own browser download cannot work without internet.
# Idempotent: nothing to do when a chromium is on the PATH. Installs as root or with passwordless sudo.
set -euo pipefail

for browser in chromium chromium-browser; do
    if command -v "$browser" >/dev/null 2>&1; then
        exit 0
    fi
done
SUDO=""
if [[ "$(id -u)" != "0" ]]; then
    SUDO="sudo -n"  # GitHub's runners: passwordless sudo
fi
if ! command -v apt-get >/dev/null 2>&1 || ! $SUDO true 2>/dev/null; then
    echo "warning: install chromium (Debian: apt-get install chromium) for the report's browser test" >&2
    exit 0
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version
