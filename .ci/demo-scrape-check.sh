#!/usr/bin/env bash
# Starts the exporter in --demo mode on a free loopback port, waits until it is ready, scrapes
# /metrics (plain and gzip) and runs `promtool check metrics` on the scrape.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --quiet
bin=target/debug/atlas-invites-exporter
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$bin" --demo --web.listen-address "127.0.0.1:$port" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then break; fi
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "exporter exited"; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null || { cat "$log"; echo "exporter never became ready"; exit 1; }
scrape=$(mktemp)
curl -fsS "http://127.0.0.1:$port/metrics" >"$scrape"
grep -q '^atlas_invites_pending{' "$scrape" || { echo "no invitation metrics in the scrape"; exit 1; }
promtool check metrics <"$scrape"
curl -fsS -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics" | gunzip | promtool check metrics
echo "promtool check metrics: ok ($(grep -vc '^#' "$scrape") samples)"
# The sizing figures of docs/operations.md: samples per organisation, and those of none.
grep -v '^#' "$scrape" | grep -o 'org_id="[0-9a-f]\{24\}"' | sort | uniq -c
echo "$(grep -v '^#' "$scrape" | grep -vc 'org_id="[0-9a-f]\{24\}"') samples of no organisation"
echo "exporter VmRSS: $(awk '/^VmRSS/ {print $2, $3}' /proc/$pid/status)"
rm -f "$scrape"
