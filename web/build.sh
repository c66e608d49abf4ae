#!/usr/bin/env bash
# Builds the browser site into a folder (default web/dist): the dashboard
# compiled to wasm32, wasm-bindgen's JS glue, and index.html. Static files
# only; serve them with `node web/serve.mjs` (127.0.0.1:8080).
#
# Needs the wasm32 target and the wasm-bindgen CLI of the version in
# Cargo.lock; it installs both when missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/web/dist}"
cd "$root"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "== rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
    echo "== cargo install wasm-bindgen-cli --version $want (found: ${have:-none})"
    # Not --locked: its lock file pins a yanked crate.
    cargo install --force wasm-bindgen-cli --version "$want"
fi

target_dir="${CARGO_TARGET_DIR:-$root/target}"
echo "== cargo build -p numasim-web --target wasm32-unknown-unknown --profile web"
cargo build -p numasim-web --target wasm32-unknown-unknown --profile web
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --remove-name-section \
    --remove-producers-section --out-dir "$out" \
    "$target_dir/wasm32-unknown-unknown/web/numasim_web.wasm"
cp web/index.html "$out/"
raw=$(stat -c %s "$out/numasim_web_bg.wasm")
gz=$(gzip -9 -c "$out/numasim_web_bg.wasm" | wc -c)
echo "built $out: numasim_web_bg.wasm $((raw / 1024)) KiB ($((gz / 1024)) KiB gzipped)"
