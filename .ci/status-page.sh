#!/usr/bin/env bash
# The status page (/) in a real browser: starts the exporter with --demo on a free loopback port,
# waits until it is ready, then has Debian's headless Chromium take a screenshot and dump the DOM.
# Checks that the PNG exists and is not trivial, that Chromium reported no error about the page, and
# that the page tells what to do about the demo's failing organisation (Forbidden Org: 403).
# Leaves status-page.png, status-page.html and status-page.txt in $STATUS_PAGE_OUT
# (default: target/status-page) for a person to look at.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

cargo build --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/atlas-invites-exporter"
out="${STATUS_PAGE_OUT:-target/status-page}"
mkdir -p "$out"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work=$(mktemp -d)
"$bin" --demo --web.listen-address "127.0.0.1:$port" 2>"$work/exporter.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then break; fi
  kill -0 $pid 2>/dev/null || { cat "$work/exporter.log"; echo "exporter exited"; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null || { cat "$work/exporter.log"; echo "exporter never became ready"; exit 1; }

url="http://127.0.0.1:$port/"
# A profile of its own, so that a previous run or another user's Chromium cannot interfere.
browser() {
  chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" "$@"
}
browser --screenshot="$out/status-page.png" --window-size=1280,1600 "$url" 2>"$work/screenshot.err" >/dev/null
browser --dump-dom "$url" 2>"$work/dom.err" >"$out/status-page.html"

fail() { echo "status page: $*"; exit 1; }
[ -s "$out/status-page.png" ] || fail "no screenshot"
[ "$(head -c 8 "$out/status-page.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "the screenshot is not a PNG"
size=$(stat -c %s "$out/status-page.png")
# A blank 1280x1600 page compresses to a few kilobytes; text and tables make it far larger.
[ "$size" -gt 20000 ] || fail "the screenshot is only $size bytes: a blank page?"
# Chromium's stderr holds noise about the machine (D-Bus, GPU); only errors about the page count.
if grep -E "ERR_|Uncaught|CONSOLE|Failed to load|127\.0\.0\.1:$port" "$work/screenshot.err" "$work/dom.err"; then
  fail "Chromium reported an error about the page"
fi
python3 - "$out/status-page.html" >"$out/status-page.txt" <<'EOF'
import html.parser, sys
class Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.skip = 0; self.parts = []
    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"): self.skip += 1
        if tag in ("tr", "p", "h1", "h2", "br", "nav", "table"): self.parts.append("\n")
        if tag in ("td", "th"): self.parts.append(" | ")
    def handle_endtag(self, tag):
        if tag in ("style", "script"): self.skip -= 1
    def handle_data(self, data):
        if not self.skip: self.parts.append(data)
parser = Text(); parser.feed(open(sys.argv[1], encoding="utf-8").read())
print("\n".join(line.strip() for line in "".join(parser.parts).splitlines() if line.strip()))
EOF
text="$out/status-page.txt"
grep -q "Forbidden Org" "$text" || fail "Forbidden Org is not on the page"
grep -q "HTTP 403" "$text" || fail "the failing org's status is not on the page"
grep -q "Atlas refused access" "$text" || fail "the failing org's hint is not on the page"
grep -q "docs/runbook.md#atlasinvitescredentialsrejected" "$text" || fail "the hint's runbook section is not on the page"
grep -q "organisations OK" "$text" || fail "no summary line"
if grep -Eq '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}' "$out/status-page.html"; then
  fail "an e-mail address is on the page"
fi
echo "status page: ok (screenshot $out/status-page.png, $size bytes; text in $text)"
