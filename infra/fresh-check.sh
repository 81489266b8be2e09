#!/usr/bin/env bash
# What CI sees on a machine that never built this project: a fresh clone of HEAD,
# run through .ci/run with an empty home (so an empty cargo registry, npm cache,
# pip cache and Chromium profile), an odd time zone and the C locale. Only rustup's
# toolchain is kept. Prints .ci/run's summary line and how long it took.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/clone"
mkdir "$work/home"
start=$(date +%s)
set +e
(
  cd "$work/clone"
  env HOME="$work/home" CARGO_HOME="$work/home/.cargo" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
    TZ=Pacific/Chatham LANG=C LC_ALL=C CI=true bash .ci/run
) 2>&1 | tee "$work/log" | tail -n 5
status=${PIPESTATUS[0]}
set -e
echo "fresh clone of $(git -C "$work/clone" rev-parse --short HEAD) through .ci/run: exit $status in $(( $(date +%s) - start )) s"
if [ "$status" -ne 0 ]; then
  # The whole log, for finding which test failed (the summary above is its last lines).
  mkdir -p "$root/target" && cp "$work/log" "$root/target/fresh-check.log"
  echo "whole log: target/fresh-check.log"
fi
exit "$status"
