#!/usr/bin/env bash
# Connection flood: one client opens N stalled connections to the demo exporter (half a request
# header each on the plain listener; a ClientHello and nothing more on a TLS listener with basic
# auth), scraping /metrics and /-/healthy on fresh connections every 1,000, then closes them all.
# Prints resident memory before, at the peak, 1 s and 30 s after the close, the slowest scrape and
# health check during the flood, and the exporter's connection series. docs/reliability.md has the
# figures and the targets (back within 8 MiB of "before" 30 s after; scrapes answered in < 1 s).
#   benches/flood.sh                 # 12,000 plain, then 6,000 TLS
#   PLAIN=12000 TLS=0 benches/flood.sh
#   EXTRA_FLAGS="--web.max-connections 100000" benches/flood.sh   # no effective bound, to compare
set -euo pipefail
cd "$(dirname "$0")/.."
PLAIN=${PLAIN:-12000} TLS=${TLS:-6000} EXTRA_FLAGS=${EXTRA_FLAGS:-}
cargo build --release --locked --quiet
bin=target/release/atlas-invites-exporter
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
# The client holds every connection: it needs a descriptor for each.
ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts the demo with the given extra flags; sets $pid and $port.
start() {
  port=$(free_port)
  # shellcheck disable=SC2086
  "$bin" --demo --web.listen-address "127.0.0.1:$port" --log.level error $EXTRA_FLAGS "$@" 2>>"$work/log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do
    curl -fsSk -u "flood:flood-password" "$scheme://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "the exporter did not become ready"; cat "$work/log"; exit 1
}

connection_series() {
  curl -fsSk -u "flood:flood-password" "$scheme://127.0.0.1:$port/metrics" |
    grep -E '^atlas_invites_http_connections(_rejected_total)?[{ ]' | sed 's/^/  /'
}

if [ "$PLAIN" -gt 0 ]; then
  scheme=http
  start
  echo "== plain listener, $PLAIN stalled connections (half a header each)"
  python3 benches/flood.py "$pid" 127.0.0.1 "$port" "$PLAIN" plain
  connection_series
  kill "$pid"
fi

if [ "$TLS" -gt 0 ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  # bcrypt of "flood-password", cost 10 (a common cost; the exporter caches verified passwords).
  cat >"$work/web.yml" <<YAML
tls_server_config:
  cert_file: $work/cert.pem
  key_file: $work/key.pem
basic_auth_users:
  flood: \$2b\$10\$jFq8PTNDfP0aPAJ/LPZc5O6vRjtHcItOgJSzSfg.dXIeH2vReBt4e
YAML
  scheme=https
  start --web.config.file "$work/web.yml"
  echo "== TLS listener with basic auth, $TLS stalled ClientHellos"
  python3 benches/flood.py "$pid" 127.0.0.1 "$port" "$TLS" tls flood:flood-password
  connection_series
  kill "$pid"
fi
