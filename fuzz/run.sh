#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS each (default 180), starting from the seeds in corpus/<target>
# and writing what the fuzzer finds to a scratch corpus, so the committed corpus stays minimal.
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Crashes land in
# artifacts/<target>/; reproduce one with `cargo +nightly fuzz run -s none <target> <file>`.
# Usage: fuzz/run.sh [target...]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-180}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(invitations org_users digest_challenge config)
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  echo "==> $target for ${seconds}s"
  # -s none: the targets are safe Rust; overflow checks and debug assertions stay on (cargo-fuzz's default).
  cargo +nightly fuzz run -s none "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
done
