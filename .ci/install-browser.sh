#!/usr/bin/env bash
# Installs Debian's headless browser for the console test (tests/tests/console.rs):
# `chromium` and `chromium-driver` from the distribution's own archive, nothing from the
# internet at test time. Idempotent and quiet: does nothing when both are already present.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

# apt's chatter goes to a log that is printed only when something fails.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-browser.sh: apt-get failed installing chromium and chromium-driver" >&2
    exit 1
fi

command -v chromium >/dev/null && command -v chromedriver >/dev/null
echo "installed: $(chromium --version 2>/dev/null | head -n1); $(chromedriver --version | head -n1)"
