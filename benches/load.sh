#!/usr/bin/env bash
# Load test: N simulated organisations (default 1,000), C concurrent scrapers (default 200) hammering
# /metrics for D seconds (default 60) with wrk, while the exporter keeps polling every I seconds.
# Prints: wrk's totals (errors must be 0), polls done vs expected, RSS before/after.
# Loopback only; every process started here is killed on exit.
#   ORGS=1000 CONNECTIONS=200 DURATION=60 INTERVAL=10 benches/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ORGS=${ORGS:-1000} CONNECTIONS=${CONNECTIONS:-200} DURATION=${DURATION:-60} INTERVAL=${INTERVAL:-10}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked --quiet
bin=target/release/atlas-invites-exporter
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/atlas.toml" <<TOML
[poll]
interval = "${INTERVAL}s"
concurrency = 16
keep_stale_for = "$((INTERVAL * 4))s"
TOML
"$bin" --demo --demo.orgs "$ORGS" --config.file "$work/atlas.toml" --web.listen-address "127.0.0.1:$port" 2>"$work/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 600); do curl -fsS "$url/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$url/-/ready" >/dev/null
polls() { curl -fsS "$url/metrics" | awk '/^atlas_invites_api_requests_total\{.*endpoint="list_org_invites"/ {s+=$NF} END {printf "%d", s}'; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
rss_before=$(rss); polls_before=$(polls)
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url/metrics" | tee "$work/wrk"
polls_after=$(polls); rss_after=$(rss)
# Each org is polled every INTERVAL (± 10% jitter), so a run of DURATION holds at least
# DURATION / INTERVAL - 1 full rounds whatever the phase.
expected=$((ORGS * DURATION / INTERVAL))
minimum=$((ORGS * (DURATION / INTERVAL - 1)))
done_polls=$((polls_after - polls_before))
errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk")
echo
echo "orgs=$ORGS connections=$CONNECTIONS duration=${DURATION}s interval=${INTERVAL}s"
echo "polls during the load: $done_polls (schedule: about $expected)"
echo "RSS: ${rss_before} kB before, ${rss_after} kB after"
echo "errors: ${errors:-none}"
[ -z "$errors" ] || exit 1
[ "$done_polls" -ge "$minimum" ] || { echo "polls fell behind their schedule (fewer than $minimum)"; exit 1; }
