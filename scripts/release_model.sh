#!/usr/bin/env bash
# Turn a finished training run into a shipped model: calibrate on PublicTest, export ONNX into the package,
# score PublicTest and (once) PrivateTest, and record everything in the model card beside the file.
#   scripts/release_model.sh RUN_DIR NAME [--no-flip-tta]
# e.g. scripts/release_model.sh runs/vgg_m_e45 default
set -euo pipefail
run=$1; name=$2; shift 2
flip=${1:---flip-tta}
data=${FACEMOTION_DATA:-../shared/data/fer2013/fer2013.csv.gz}
weights=src/facemotion/weights
tta=$([ "$flip" = "--flip-tta" ] && echo flip || echo none)

facemotion export --weights "$run/best.pt" --out "$weights/$name.onnx" --calibrate "$data" "$flip"
facemotion evaluate --weights "$weights/$name.onnx" --data "$data" --split val --card "$weights/$name.json"
facemotion evaluate --weights "$weights/$name.onnx" --data "$data" --split test --card "$weights/$name.json" \
    --out "$run/eval-test"
# The same network at temperature 1 (same test-time augmentation): the ECE before calibration.
facemotion evaluate --weights "$run/best.pt" --data "$data" --split test --tta "$tta" \
    --card "$weights/$name.json" --card-key test_uncalibrated
cp "$run/eval-test/confusion.png" "$weights/$name-confusion.png"
cp "$run/curves.png" "$weights/$name-curves.png"
# A fixed sample the test suite re-scores to check the shipped file still does what its card says.
facemotion evaluate --weights "$weights/$name.onnx" --data "$data" --split test --limit 500 \
    --card "$weights/$name.json" --card-key test_first500
