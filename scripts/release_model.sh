#!/usr/bin/env bash
# Turn finished training runs into a shipped model: calibrate on PublicTest, export ONNX into the package,
# score PublicTest and (once) PrivateTest, and record everything in the model card beside the file.
#   scripts/release_model.sh NAME [--no-flip-tta] [--tta-zoom S ...] [--int8] RUN_DIR|MODEL.onnx[K,...] [...]
# One run ships its best.pt; several ship the ensemble that averages their logits. An exported .onnx (with its card
# beside it) joins as its members (MODEL.onnx[K] or [K,L]: those members only), so a shipped model whose checkpoints
# are gone can be part of another ensemble.
# e.g. scripts/release_model.sh default --no-flip-tta runs/vgg_m_e60_s1 runs/vgg_m_e60_s2 (the shipped default)
#      scripts/release_model.sh accurate src/facemotion/weights/default.onnx campaign/vgg_m_e60_s3
#      scripts/release_model.sh accurate --tta-zoom 1.08 ... (mirror and a 1.08 zoom of both: four views)
#      scripts/release_model.sh fast --int8 ... (an int8 graph, its activation ranges from Training faces)
set -euo pipefail
usage="usage: $0 NAME [--no-flip-tta] [--tta-zoom S ...] [--int8] RUN_DIR|MODEL.onnx [...]"
[ $# -ge 1 ] && [[ $1 != -* ]] || { echo "$usage" >&2; exit 2; }
name=$1; shift
tta=(--flip-tta)  # the test-time views, the same for the calibrated graph and the uncalibrated one
int8=false
while [ $# -ge 1 ]; do
    case $1 in
        --no-flip-tta) tta[0]=--no-flip-tta; shift ;;
        --tta-zoom) [ $# -ge 2 ] || { echo "--tta-zoom needs a scale, e.g. 1.08" >&2; exit 2; }
                    tta+=(--tta-zoom "$2"); shift 2 ;;
        --int8) int8=true; shift ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
data=${FACEMOTION_DATA:-../shared/data/fer2013/fer2013.csv.gz}
weights=src/facemotion/weights
reports=artifacts/release/$name
checkpoints=()
for run in "$@"; do
    case $run in
        -*) echo "$run: options go before the runs" >&2; exit 2 ;;
        *.onnx|*.onnx\[*\])
            [ "${run%%\[*}" != "$weights/$name.onnx" ] || { echo "$run: a release cannot overwrite a member" >&2; exit 2; }
            checkpoints+=(--model "$run") ;;
        *) checkpoints+=(--model "$run/best.pt") ;;
    esac
done
mkdir -p "$reports"

quantize=(); $int8 && quantize=(--int8)
facemotion export "${checkpoints[@]}" --out "$weights/$name.onnx" --calibrate "$data" "${tta[@]}" \
    ${quantize[@]+"${quantize[@]}"}  # (an empty array is an unbound variable to bash < 4.4 under set -u)
facemotion evaluate --model "$weights/$name.onnx" --data "$data" --split val --card "$weights/$name.json"
facemotion evaluate --model "$weights/$name.onnx" --data "$data" --split test --card "$weights/$name.json" \
    --out "$reports/test"
# The same network(s) at temperature 1 (same test-time augmentation): the ECE before calibration.
# (An int8 release measures it on an int8 graph: exported at temperature 1, then quantised with activation ranges
# from the same number of Training faces, the split read with default settings, as a graph keeps no run config.)
if $int8; then
    facemotion export "${checkpoints[@]}" --out "$reports/uncalibrated-float.onnx" "${tta[@]}"
    facemotion export --model "$reports/uncalibrated-float.onnx" --out "$reports/uncalibrated.onnx" --int8 \
        --calibrate "$data"
else
    facemotion export "${checkpoints[@]}" --out "$reports/uncalibrated.onnx" "${tta[@]}"
fi
facemotion evaluate --model "$reports/uncalibrated.onnx" --data "$data" --split test \
    --card "$weights/$name.json" --card-key test_uncalibrated
cp "$reports/test/confusion.png" "$weights/$name-confusion.png"
rm -f "$weights/$name"-curves*.png
i=1
for run in "$@"; do
    case $run in *.onnx|*.onnx\[*\]) continue ;; esac  # a graph's curves stay with the model it was shipped as
    suffix=$([ $i -eq 1 ] && echo "" || echo "-$i")
    cp "$run/curves.png" "$weights/$name-curves$suffix.png"
    i=$((i + 1))
done
# A fixed sample the test suite re-scores to check the shipped file still does what its card says.
facemotion evaluate --model "$weights/$name.onnx" --data "$data" --split test --limit 500 \
    --card "$weights/$name.json" --card-key test_first500
