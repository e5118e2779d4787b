#!/usr/bin/env bash
# Builds both binaries fully static, puts them in a FROM-scratch image, and runs one
# training job in a locked-down container (no network, read-only root, no capabilities,
# no-new-privileges) on a generated dataset mounted read-only, then the sandbox probe.
# Needs docker; pulls nothing. Usage: trainers/reference/scripts/scratch-smoke.sh
set -euo pipefail

repo=$(cd "$(dirname "$0")/../../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
image=${IMAGE:-keynet-reference-trainer:smoke}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$repo"
# --target keeps RUSTFLAGS away from build scripts and proc macros, which run on the host.
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release -p keynet-reference-trainer --target x86_64-unknown-linux-gnu
bin="$target_dir/x86_64-unknown-linux-gnu/release"
for name in keynet-reference-trainer keynet-probe; do
  file "$bin/$name" | grep -q 'static' || { echo "$name is not static" >&2; exit 1; }
  cp "$bin/$name" "$work/"
done
cp trainers/reference/docker/Dockerfile "$work/"
docker build -q -t "$image" "$work"

cargo run -q -p keynet-reference-trainer --example make_dataset -- "$work/input/dataset" 8
mkdir -p "$work/output"
: > "$work/events.jsonl"

docker run --rm --network none --read-only --tmpfs /tmp --cap-drop ALL \
  --security-opt no-new-privileges \
  -e JOB_ID=smoke -e JOB_KIND=training -e TASK_TYPE=classification -e EPOCHS=3 \
  -e BATCH_SIZE=4 -e LEARNING_RATE=0.1 \
  -v "$work/input:/keynet/input:ro" -v "$work/output:/keynet/output" \
  -v "$work/events.jsonl:/keynet/events.jsonl" \
  "$image" --seed 7
echo "--- events"
cat "$work/events.jsonl"
echo "--- output"
ls -l "$work/output"
grep -q '"event":"completed"' "$work/events.jsonl"

: > "$work/events.jsonl"
docker run --rm --network none --read-only --tmpfs /tmp --cap-drop ALL \
  --security-opt no-new-privileges --entrypoint /keynet-probe \
  -v "$work/events.jsonl:/keynet/events.jsonl" "$image" sandbox
echo "--- sandbox probe"
cat "$work/events.jsonl"
