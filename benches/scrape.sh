#!/usr/bin/env bash
# Measures the exporter against the targets of issue 6, side by side with nginx serving the same bytes:
#   1. /metrics throughput and p99 latency (wrk -t1 -c4), plain and gzip, exporter / nginx;
#   2. resident memory after 10 polls, idle CPU between polls;
#   3. Atlas economy, counted at the simulator: round trips per org and interval, token fetches, spread;
#      with PROJECTS, project calls per project and interval, slow calls, rate-limit bucket shares;
#   4. start-to-ready time in demo mode.
# The exporter runs without --demo against the simulator in a process of its own
# (the atlas-sim binary of crates/atlas-sim), so that its memory and CPU are its own; start-to-ready
# uses --demo.
# Usage: benches/scrape.sh [ORGS ...]      (default: 100 1000)
# Environment: DURATION (wrk duration, default 10s), REPEAT (wrk runs per cell, best kept, default 1),
# ECONOMY_SECS (length of each economy run, default 60), WORKERS (the exporter's
# --runtime.worker-threads, default 1 as it ships; WORKERS=2 repeats the runs that chose that default),
# PROJECTS (projects per organisation, each with one legacy invitation, default 0: the organisations
# of issue 6; the exporter then reads every project's invitations each poll, issue 13).
# Runs as root (it apt-get installs nginx-light and wrk when missing). Loopback only; every process it
# starts is killed on exit. docs/performance.md describes the method and holds the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then ORGS=("$@"); else ORGS=(100 1000); fi
DURATION=${DURATION:-10s}
REPEAT=${REPEAT:-1}
ECONOMY_SECS=${ECONOMY_SECS:-60}
WORKERS=${WORKERS:-1}
PROJECTS=${PROJECTS:-0}
CONTENT_TYPE='text/plain; version=0.0.4; charset=utf-8'

if ! command -v nginx >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
fi
cargo build --release --locked --quiet -p atlas-invites-exporter -p atlas-sim
bin="${CARGO_TARGET_DIR:-target}/release/atlas-invites-exporter"
simulator_bin="${CARGO_TARGET_DIR:-target}/release/atlas-sim"

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now_ns() { date +%s%N; }
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Starts the simulator (ORGS AUTH INTERVAL_SECS JITTER, $PROJECTS projects per org), then the
# exporter on its configuration; sets $simulator_pid, $exporter_pid, $port.
start_pair() {
  rm -f "$work/exporter.toml" "$work/economy.txt"
  "$simulator_bin" --serve "$1" "$2" "$3" "$4" "$work" "$PROJECTS" &
  simulator_pid=$!
  pids+=("$simulator_pid")
  for _ in $(seq 1 200); do [ -s "$work/exporter.toml" ] && break; sleep 0.05; done
  [ -s "$work/exporter.toml" ] || { echo "the simulator did not start" >&2; exit 1; }
  port=$(free_port)
  "$bin" --config.file "$work/exporter.toml" --web.listen-address "127.0.0.1:$port" --log.level warn \
    --runtime.worker-threads "$WORKERS" \
    2>>"$work/exporter.log" &
  exporter_pid=$!
  pids+=("$exporter_pid")
}

stop_pair() {
  stop_exporter
  kill "$simulator_pid" 2>/dev/null || true
  wait "$simulator_pid" 2>/dev/null || true
}

stop_exporter() {
  kill "$exporter_pid" 2>/dev/null || true
  wait "$exporter_pid" 2>/dev/null || true
}

# Successful polls summed over all organisations, from the exporter's own counters: org listing
# calls answered 200 (list_org_invites, list_org_users), less the active members' count (also a
# list_org_users call, read once per poll.slow_interval: one per organisation whose
# atlas_invites_org_users{status="active"} is published). Project, team and group calls do not count.
polls_done() {
  curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null |
    awk '/^atlas_invites_api_requests_total\{.*endpoint="list_org_(invites|users)".*code="200"/ {n += $NF}
         /^atlas_invites_org_users\{.*status="active"/ {n -= 1}
         END {print n + 0}'
}

wait_for_polls() {
  local wanted=$1 deadline=$(($(date +%s) + $2))
  while [ "$(polls_done)" -lt "$wanted" ]; do
    kill -0 "$exporter_pid" 2>/dev/null || { cat "$work/exporter.log"; echo "exporter exited" >&2; exit 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out waiting for $wanted polls" >&2; exit 1; }
    sleep 0.2
  done
}

# "req/s p99_ms" of the best of $REPEAT wrk runs against a URL.
run_wrk() {
  local url=$1 header=$2 best_rps=0 best_p99=0
  for _ in $(seq 1 "$REPEAT"); do
    local out rps p99
    if [ -n "$header" ]; then
      out=$(wrk -t1 -c4 -d"$DURATION" --latency -H "$header" "$url")
    else
      out=$(wrk -t1 -c4 -d"$DURATION" --latency "$url")
    fi
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "$out" >&2; echo "wrk saw errors" >&2; exit 1; fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}; print v}' <<<"$out")
    if awk -v a="$rps" -v b="$best_rps" 'BEGIN {exit !(a > b)}'; then best_rps=$rps; best_p99=$p99; fi
  done
  echo "$best_rps $best_p99"
}

start_nginx() {
  local root=$1
  nginx_port=$(free_port)
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  types { }
  default_type "$CONTENT_TYPE";
  gzip_static on;
  gzip_vary on;
  server {
    listen 127.0.0.1:$nginx_port;
    root $root;
  }
}
EOF
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  nginx_pid=$!
  pids+=("$nginx_pid")
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port/metrics" 2>/dev/null && return
    sleep 0.05
  done
  cat "$work/nginx/error.log" >&2
  echo "nginx did not start" >&2
  exit 1
}

stop_nginx() {
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
}

echo "== $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- start to ready, demo mode (5 organisations) ---------------------------------------------------
ready_ms=()
for _ in 1 2 3 4 5; do
  port=$(free_port)
  start=$(now_ns)
  "$bin" --demo --web.listen-address "127.0.0.1:$port" --log.level warn 2>>"$work/exporter.log" &
  exporter_pid=$!
  pids+=("$exporter_pid")
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/-/ready" 2>/dev/null; do
    kill -0 "$exporter_pid" 2>/dev/null || { cat "$work/exporter.log"; exit 1; }
    sleep 0.005
  done
  ready_ms+=($((($(now_ns) - start) / 1000000)))
  stop_exporter
done
echo "start to ready (ms, 5 runs): ${ready_ms[*]}"

rows=()
memory_rows=()
for orgs in "${ORGS[@]}"; do
  # --- memory after 10 polls: 2 s interval, no jitter ---------------------------------------------
  start_pair "$orgs" service-account 2 0.0
  wait_for_polls $((orgs * 10)) 600
  rss_10=$(rss_kib "$exporter_pid")
  stop_pair

  # --- throughput: one poll of every org, then quiet for the whole measurement --------------------
  start_pair "$orgs" service-account 3600 0.0
  wait_for_polls "$orgs" 300
  sleep 2 # the last publication
  ticks_before=$(cpu_ticks "$exporter_pid")
  sleep 10
  ticks_after=$(cpu_ticks "$exporter_pid")
  idle_cpu=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", 100 * t / hz / 10}')

  www="$work/www-$orgs"
  mkdir -p "$www"
  curl -fsS "http://127.0.0.1:$port/metrics" -o "$www/metrics"
  curl -fsS -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics" -o "$www/metrics.gz"
  chmod -R a+rX "$www"
  series=$(grep -vc '^#' "$www/metrics")
  start_nginx "$www"
  for encoding in plain gzip; do
    header=""
    [ "$encoding" = gzip ] && header='Accept-Encoding: gzip'
    read -r n_rps n_p99 < <(run_wrk "http://127.0.0.1:$nginx_port/metrics" "$header")
    read -r e_rps e_p99 < <(run_wrk "http://127.0.0.1:$port/metrics" "$header")
    bytes=$(stat -c %s "$www/metrics")
    [ "$encoding" = gzip ] && bytes=$(stat -c %s "$www/metrics.gz")
    rows+=("$(awk -v o="$orgs" -v enc="$encoding" -v b="$bytes" -v er="$e_rps" -v nr="$n_rps" -v ep="$e_p99" -v np="$n_p99" \
      'BEGIN {printf "| %5d | %-5s | %9d | %9.0f | %9.0f | %5.2f | %8.2f | %8.2f | %5.2f |", o, enc, b, er, nr, er / nr, ep, np, ep / np}')")
  done
  stop_nginx
  rss_after=$(rss_kib "$exporter_pid")
  stop_pair
  memory_rows+=("$(printf '| %5d | %7d | %8.1f | %8.1f | %6s |' "$orgs" "$series" "$(awk -v k="$rss_10" 'BEGIN {print k / 1024}')" "$(awk -v k="$rss_after" 'BEGIN {print k / 1024}')" "$idle_cpu")")
done

# --- Atlas economy at the largest size, both auth schemes, the default jitter ---------------------
largest=${ORGS[-1]}
economy=()
for auth in service-account api-key; do
  start_pair "$largest" "$auth" 10 0.1
  sleep "$ECONOMY_SECS"
  stop_pair
  economy+=("[$auth, $largest orgs, $PROJECTS projects per org, interval 10s, jitter 0.1, ${ECONOMY_SECS}s]" "$(cat "$work/economy.txt")")
done

echo
echo "| orgs  | enc   |     bytes | exp req/s | ngx req/s | ratio | exp p99ms | ngx p99ms | ratio |"
echo "|------:|-------|----------:|----------:|----------:|------:|----------:|----------:|------:|"
printf '%s\n' "${rows[@]}"
echo "(targets: req/s ratio >= 0.50, p99 ratio <= 2.00)"
echo
echo "| orgs  | series  | RSS MiB after 10 polls | RSS MiB after the wrk runs | idle CPU % |"
echo "|------:|--------:|---------:|---------:|-------:|"
printf '%s\n' "${memory_rows[@]}"
echo "(targets: 16 MiB at 100 orgs, 64 MiB at 1,000; idle CPU < 0.1 %)"
echo
printf '%s\n' "${economy[@]}"
echo "(target: exactly 1 round trip per org per interval, at most 1 token fetch per token lifetime;"
echo " with projects: 1 call per project per interval, spread over the interval, no slow call in steady state,"
echo " under 10 % of every Atlas rate-limit bucket)"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
