#!/usr/bin/env bash
# Run before `npm test`: the browser test drives Debian's Chromium (never a downloaded browser).
# Installs it when missing and this user may; otherwise says what to do.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium for the browser test" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "ensure-chromium: the browser test needs Debian's Chromium: run 'sudo apt-get install chromium'" >&2
exit 1
