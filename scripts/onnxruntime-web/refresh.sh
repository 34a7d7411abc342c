#!/usr/bin/env bash
# Re-vendor onnxruntime-web into the page's static files from this folder's package-lock.json (npm ci, no scripts).
# Only the two files the page loads are kept: the wasm-only ES module (its Emscripten glue inlined) and the one
# SIMD wasm binary it fetches (gzipped), and nothing else (the WebGPU/JSPI variants add 40+ MB). To move to a new
# release: edit the version in package.json, run `npm install --package-lock-only --ignore-scripts` here, then this script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../../src/facemotion/serving/static/vendor/onnxruntime-web"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --silent)
dist="$work/node_modules/onnxruntime-web/dist"
version="$(node -p "require('$work/node_modules/onnxruntime-web/package.json').version")"
rm -rf "$dest"
mkdir -p "$dest"
cp "$dist/ort.wasm.bundle.min.mjs" "$dest/"
# The binary is kept gzipped (3.7 of 14.2 MB): the server sends it as is, export-web unpacks it.
gzip -9n < "$dist/ort-wasm-simd-threaded.wasm" > "$dest/ort-wasm-simd-threaded.wasm.gz"
cp "$here/LICENSE" "$dest/LICENSE"
echo "onnxruntime-web $version (npm), from scripts/onnxruntime-web/refresh.sh" > "$dest/VERSION"
ls -l "$dest"
