#!/usr/bin/env bash
# Resident memory of the exporter alone after N polls, as benches/scrape.sh's memory step, without
# the scrapes: for a quick comparison of sizes, projects or environment (issue 13's investigation).
# Usage: benches/memprobe.sh ORGS PROJECTS INTERVAL_SECS POLLS [VAR=value ...]
#   (the VAR=value pairs are set in the exporter's environment, e.g. MALLOC_ARENA_MAX=1)
# Needs the release binaries (cargo build --release -p atlas-invites-exporter -p atlas-sim); prints
# VmHWM, VmRSS, RssAnon and RssFile from /proc/PID/status. Loopback only; kills what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="${CARGO_TARGET_DIR:-target}/release"
orgs=$1 projects=$2 interval=$3 polls=$4
shift 4
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
"$bin_dir/atlas-sim" --serve "$orgs" service-account "$interval" 0.0 "$work" "$projects" &
pids+=($!)
for _ in $(seq 1 200); do [ -s "$work/exporter.toml" ] && break; sleep 0.05; done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env "$@" "$bin_dir/atlas-invites-exporter" --config.file "$work/exporter.toml" \
  --web.listen-address "127.0.0.1:$port" --log.level warn --runtime.worker-threads 1 2>>"$work/exporter.log" &
exporter_pid=$!
pids+=("$exporter_pid")
# Polls as benches/scrape.sh counts them: org listing calls answered 200, less the active count.
polls_done() {
  curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null |
    awk '/^atlas_invites_api_requests_total\{.*endpoint="list_org_(invites|users)".*code="200"/ {n += $NF}
         /^atlas_invites_org_users\{.*status="active"/ {n -= 1}
         END {print n + 0}'
}
start=$(date +%s)
while [ "$(polls_done)" -lt $((orgs * polls)) ]; do
  kill -0 "$exporter_pid" 2>/dev/null || { cat "$work/exporter.log"; exit 1; }
  [ $(($(date +%s) - start)) -lt 600 ] || { echo "timed out" >&2; exit 1; }
  sleep 0.2
done
status=$(grep -E '^(VmHWM|VmRSS|RssAnon|RssFile)' "/proc/$exporter_pid/status" | tr -s ' \t' ' ' | tr '\n' ' ')
series=$(curl -fsS "http://127.0.0.1:$port/metrics" | grep -vc '^#')
echo "orgs=$orgs projects=$projects interval=${interval}s polls=$polls env=[$*] $(($(date +%s) - start))s: series $series $status"
