#!/bin/sh
# `steward scan` against `cargo deny check licenses` on the same real Rust
# workspace (this repository at a commit, whose crates are in the local
# cargo cache), side by side in one hyperfine run. Needs cargo-deny
# (`cargo install cargo-deny --locked`) and hyperfine.
#
#   scanner/benches/cargo_deny/compare.sh [REV]      (default: HEAD)
#
# The workspace is a `git archive` snapshot, so work in progress in the
# checkout does not change what is measured. Both tools run offline.
set -eu
rev=${1:-HEAD}
repo=$(git rev-parse --show-toplevel)
target=${CARGO_TARGET_DIR:-$repo/target}
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
git -C "$repo" archive "$rev" | tar -x -C "$ws"
cargo build --release --manifest-path "$repo/Cargo.toml" -p steward-server --bin steward
steward=$target/release/steward
# Both must succeed before anything is timed.
"$steward" scan "$ws" --format json --output /dev/null
cargo deny --offline --manifest-path "$ws/Cargo.toml" --config "$repo/scanner/benches/cargo_deny/deny.toml" check licenses
cd "$ws"
hyperfine -N --warmup 3 --runs 20 \
  -n "steward scan" "$steward scan $ws --format json --output /dev/null" \
  -n "cargo deny check licenses" \
  "cargo deny --offline --manifest-path $ws/Cargo.toml --config $repo/scanner/benches/cargo_deny/deny.toml check licenses"
