// The page's JavaScript ports against the Python answers: run by tests/serving/test_private_js.py, which writes
// the cases (inputs and what OpenCV / facemotion computed) to the JSON file named by $FACEMOTION_JS_CASES.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";

import { cropFace, cropToImage } from "../../../src/facemotion/serving/static/private/align.mjs";
import { image, resizeArea, toGray, warpAffine } from "../../../src/facemotion/serving/static/private/imaging.mjs";
import { EmaSmoother, IouTracker } from "../../../src/facemotion/serving/static/private/tracking.mjs";
import { decode, networkInput, nms, scanScale, toDetections } from "../../../src/facemotion/serving/static/private/yunet.mjs";

const cases = JSON.parse(fs.readFileSync(process.env.FACEMOTION_JS_CASES, "utf8"));
const pixels = (rows, channels = 1) => image(rows[0].length / channels, rows.length, channels,
                                             Uint8Array.from(rows.flat()));

function assertSamePixels(got, want, what) {
  const flat = want.flat();
  const differ = flat.filter((v, i) => v !== got.data[i]).length;
  assert.equal(got.data.length, flat.length, `${what}: size`);
  assert.equal(differ, 0, `${what}: ${differ} of ${flat.length} pixels differ from OpenCV's`);
}

test("gray conversion, area shrinking and the affine warp are OpenCV's, pixel for pixel", () => {
  const { bgr, gray, shrunk, shrunk_bgr, even, halved, matrix, warped } = cases.imaging;
  const colour = pixels(bgr, 3);
  assertSamePixels(toGray(colour), gray, "BGR2GRAY");
  const g = pixels(gray);
  assertSamePixels(resizeArea(g, shrunk[0].length, shrunk.length), shrunk, "INTER_AREA gray");
  assertSamePixels(resizeArea(colour, shrunk_bgr[0].length / 3, shrunk_bgr.length), shrunk_bgr, "INTER_AREA BGR");
  assertSamePixels(resizeArea(pixels(even), 75, 60), halved, "INTER_AREA 2x2");
  assertSamePixels(warpAffine(g, matrix, warped[0].length, warped.length), warped, "warpAffine");
});

test("face crops and their matrices are faces/align.py's", () => {
  const { bgr, margin, faces } = cases.align;
  const gray = toGray(pixels(bgr, 3));
  faces.forEach(({ detection, crop, matrix }, i) => {
    assertSamePixels(cropFace(gray, detection, margin), crop, `face ${i}`);
    cropToImage(detection, margin).flat().forEach((v, j) => assert.ok(Math.abs(v - matrix.flat()[j]) < 1e-9));
  });
});

test("the scan scale and YuNet's input are the server's", () => {
  for (const { shape, settings, scale } of cases.scan.scales) {
    assert.equal(scanScale(shape[0], shape[1], settings), scale, `scan scale of ${shape}`);
  }
  const { bgr, scale, dims, sum } = cases.scan.input;
  const input = networkInput(pixels(bgr, 3), scale);
  assert.deepEqual(input.dims, dims);
  assert.equal(input.data.reduce((a, b) => a + b, 0), sum);
});

test("YuNet's decoding, NMS and box rounding give OpenCV FaceDetectorYN's faces", { skip: !cases.yunet }, () => {
  for (const [name, c] of Object.entries(cases.yunet || {})) {
    const outputs = Object.fromEntries(Object.entries(c.outputs).map(([k, v]) => [k, Float32Array.from(v)]));
    const rows = nms(decode(outputs, c.pad[0], c.pad[1], c.settings.scoreThreshold), c.settings.scoreThreshold,
                     c.settings.nmsThreshold);
    const got = toDetections(rows, c.scale, c.width, c.height, c.settings);
    assert.equal(got.length, c.faces.length, `${name}: faces`);
    got.forEach((d, i) => {
      assert.deepEqual(d.box, c.faces[i].box, `${name} face ${i}`);
      assert.ok(Math.abs(d.score - c.faces[i].score) < 1e-4);
      d.landmarks.flat().forEach((v, j) => assert.ok(Math.abs(v - c.faces[i].landmarks.flat()[j]) < 0.01));
    });
  }
});

test("tracking and smoothing follow video/tracking.py and video/smoothing.py", () => {
  const tracker = new IouTracker(), smoother = new EmaSmoother(0.5);
  for (const { boxes, time, ids, values, smoothed } of cases.tracking) {
    assert.deepEqual(tracker.update(boxes, time), ids, `ids at ${time} s`);
    ids.forEach((id, i) => smoother.update(id, values[i], time).forEach((v, j) => {
      assert.ok(Math.abs(v - smoothed[i][j]) < 1e-9, `track ${id} at ${time} s`);
    }));
  }
});
