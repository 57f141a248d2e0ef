#!/usr/bin/env bash
# Screenshot the pages of a built docs site with headless Chromium, to check it by eye.
#
#   tools/screenshot_docs.sh [SITE_DIR] [OUT_DIR] [PAGE.html ...]
#
# SITE_DIR defaults to _site (build it with `python tools/build_docs.py`), OUT_DIR to /tmp/molap-screens.
# With no PAGE given, every top-level *.html page of the site is shot. Each page becomes OUT_DIR/<page>.png, its top
# 1280x2400 pixels (override with WINDOW=1280,4000). With FULL=1, each whole page is shot instead, in tiles
# OUT_DIR/<page>-01.png, -02.png, ... (WIDTH=1280, TILE=2400 pixels high), through the DevTools driver of
# tests/test_site_browser.py (run from the repository's Python environment).
# Needs chromium: `apt-get update && apt-get install -y chromium`.
set -euo pipefail

site=${1:-_site}
outdir=${2:-/tmp/molap-screens}
shift $(( $# > 2 ? 2 : $# )) || true
window=${WINDOW:-1280,2400}

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "screenshot_docs: no chromium found; install it with: apt-get update && apt-get install -y chromium" >&2
  exit 2
fi
if [ ! -d "$site/site_libs" ]; then
  echo "screenshot_docs: $site is not a built site; build it first: python tools/build_docs.py --out $site" >&2
  exit 2
fi

site=$(cd "$site" && pwd)
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

if [ "${FULL:-0}" = 1 ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  py=python
  command -v "$py" >/dev/null 2>&1 || py=python3
  exec "$py" "$here/tests/test_site_browser.py" --screenshots "$outdir" "$site" "$@"
fi

if [ $# -gt 0 ]; then
  pages=("$@")
else
  pages=()
  while IFS= read -r f; do pages+=("$(basename "$f")"); done < <(find "$site" -maxdepth 1 -name '*.html' | sort)
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
status=0
for page in "${pages[@]}"; do
  png="$outdir/${page%.html}.png"
  rm -f "$png"
  # --virtual-time-budget lets the page's scripts (maths, sidebar, code copy, search) run before the shot; scrollbars are
  # left visible, so that a box that scrolls sideways shows it (and is not mistaken for cut-off content)
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --virtual-time-budget=5000 \
    --user-data-dir="$profile" --screenshot="$png" --window-size="$window" \
    "file://$site/$page" >/dev/null 2>&1 || true
  if [ -s "$png" ]; then
    echo "$png"
  else
    echo "screenshot_docs: no screenshot for $page" >&2
    status=1
  fi
done
exit $status
