// YuNet in the browser, as the server runs it (faces/detect.py over OpenCV's FaceDetectorYN): the image shrunk to the
// scan scale, padded to a multiple of 32, decoded from the 12 output maps, non-maximum suppressed, then mapped back
// to the photo's pixels with the server's rounding and filters. The network itself runs in onnxruntime-web; this
// module only prepares its input and reads its outputs, so it runs in node for the tests too.
import { resizeArea, roundHalfEven } from "./imaging.mjs";

const STRIDES = [8, 16, 32];
const f32 = Math.fround;

/** faces/detect.py scan_scale: the factor (<= 1) an image is scanned at; 0 when no face of the size fits. */
export function scanScale(height, width, { minFaceSize, smallestFace, maxSide }) {
  let scale = Math.min(1.0, smallestFace / minFaceSize);
  if (maxSide > 0) scale = Math.min(scale, maxSide / Math.sqrt(height * width));
  return Math.min(height, width) * scale >= smallestFace ? scale : 0.0;
}

/** The network's input for a BGR image at ``scale``: planar BGR floats 0-255, zero-padded to multiples of 32. */
export function networkInput(bgr, scale) {
  const small = scale >= 1 ? bgr : resizeArea(bgr, Math.max(1, roundHalfEven(bgr.width * scale)),
                                               Math.max(1, roundHalfEven(bgr.height * scale)));
  const padW = Math.ceil(small.width / 32) * 32, padH = Math.ceil(small.height / 32) * 32;
  const plane = padW * padH, data = new Float32Array(3 * plane), src = small.data;
  for (let y = 0; y < small.height; y++) {
    for (let x = 0; x < small.width; x++) {
      const s = 3 * (y * small.width + x), d = y * padW + x;
      data[d] = src[s]; data[plane + d] = src[s + 1]; data[2 * plane + d] = src[s + 2];
    }
  }
  return { data, dims: [1, 3, padH, padW], padW, padH };
}

/** OpenCV's FaceDetectorYN::postProcess: rows of 15 floats (x, y, w, h, 5 landmarks, score) above the threshold. */
export function decode(outputs, padW, padH, scoreThreshold) {
  const rows = [];
  for (const stride of STRIDES) {
    const cols = Math.floor(padW / stride), nrows = Math.floor(padH / stride);
    const cls = outputs[`cls_${stride}`], obj = outputs[`obj_${stride}`];
    const bbox = outputs[`bbox_${stride}`], kps = outputs[`kps_${stride}`];
    for (let r = 0; r < nrows; r++) {
      for (let c = 0; c < cols; c++) {
        const idx = r * cols + c;
        const clsScore = Math.min(Math.max(cls[idx], 0), 1), objScore = Math.min(Math.max(obj[idx], 0), 1);
        const score = f32(Math.sqrt(f32(clsScore * objScore)));
        if (score < scoreThreshold) continue;
        const cx = f32(f32(c + bbox[idx * 4]) * stride), cy = f32(f32(r + bbox[idx * 4 + 1]) * stride);
        const w = f32(f32(Math.exp(bbox[idx * 4 + 2])) * stride), h = f32(f32(Math.exp(bbox[idx * 4 + 3])) * stride);
        const row = [f32(cx - f32(w / 2)), f32(cy - f32(h / 2)), w, h];
        for (let n = 0; n < 5; n++) {
          row.push(f32(f32(kps[idx * 10 + 2 * n] + c) * stride), f32(f32(kps[idx * 10 + 2 * n + 1] + r) * stride));
        }
        row.push(score);
        rows.push(row);
      }
    }
  }
  return rows;
}

// cv::Rect2i intersection over union, on the boxes truncated to integers as OpenCV does before NMSBoxes.
function overlap(a, b) {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  const inter = w > 0 && h > 0 ? w * h : 0, areas = a[2] * a[3] + b[2] * b[3];
  return areas <= 0 ? 1 : f32(inter / (areas - inter));
}

/** cv::dnn::NMSBoxes(eta = 1): best score first (ties in input order), drop boxes overlapping a kept one. */
export function nms(rows, scoreThreshold, nmsThreshold, topK = 5000) {
  if (rows.length <= 1) return rows;  // OpenCV skips NMS for a single row
  const boxes = rows.map((row) => row.slice(0, 4).map(Math.trunc));
  const order = rows.map((row, i) => [row[14], i]).filter(([s]) => s > scoreThreshold)
    .sort((p, q) => q[0] - p[0]).slice(0, topK).map(([, i]) => i);
  const kept = [];
  for (const i of order) {
    if (kept.every((j) => overlap(boxes[i], boxes[j]) <= nmsThreshold)) kept.push(i);
  }
  return kept.map((i) => rows[i]);
}

/** faces/detect.py YuNetDetector.detect after the network: rows at ``scale`` -> detections in photo pixels. */
export function toDetections(rows, scale, width, height, { minFaceSize, maxFaces = null }) {
  const detections = [];
  for (const raw of rows) {
    const row = raw.map((v, i) => (i < 14 ? v / scale : v));
    const limit = 10 * Math.max(width, height);
    if (!row.every(Number.isFinite) || Math.max(...row.slice(0, 14).map(Math.abs)) >= limit) continue;
    const box = boxFromFloats(row[0], row[1], row[2], row[3]);
    const points = [0, 1, 2, 3, 4].map((n) => [row[4 + 2 * n], row[5 + 2 * n]]);
    if (!landmarksFit(box, points)) continue;
    detections.push({ box, score: row[14], landmarks: points });
  }
  const kept = detections.filter((d) => Math.min(d.box.w, d.box.h) >= minFaceSize && clipArea(d.box, width, height) > 0);
  kept.sort((a, b) => b.score - a.score || b.box.w * b.box.h - a.box.w * a.box.h);
  return maxFaces ? kept.slice(0, maxFaces) : kept;
}

function boxFromFloats(x, y, w, h) {
  const x0 = roundHalfEven(x), y0 = roundHalfEven(y), x1 = roundHalfEven(x + w), y1 = roundHalfEven(y + h);
  return { x: x0, y: y0, w: Math.max(x1 - x0, 0), h: Math.max(y1 - y0, 0) };
}

// A row whose landmarks stray far outside its box is not a face (faces/detect.py _landmarks_fit).
function landmarksFit(box, points, slack = 0.5) {
  if (box.w <= 0 || box.h <= 0) return false;
  return points.every(([x, y]) => {
    const nx = (x - box.x) / box.w, ny = (y - box.y) / box.h;
    return nx >= -slack && nx <= 1 + slack && ny >= -slack && ny <= 1 + slack;
  });
}

/** types.py Box.clip: the box cut to the image. */
export function clipBox(box, width, height) {
  const x0 = Math.min(Math.max(box.x, 0), width), y0 = Math.min(Math.max(box.y, 0), height);
  const x1 = Math.min(Math.max(box.x + box.w, 0), width), y1 = Math.min(Math.max(box.y + box.h, 0), height);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

function clipArea(box, width, height) {
  const c = clipBox(box, width, height);
  return c.w * c.h;
}

/** Faces in a BGR image, given ``run(input) -> Promise<outputs by name>`` (the onnxruntime-web session). */
export async function detectFaces(bgr, run, settings) {
  if (Math.min(bgr.width, bgr.height) < settings.minFaceSize) return [];
  const scale = scanScale(bgr.height, bgr.width, settings);
  if (scale === 0) return [];
  const input = networkInput(bgr, scale);
  const outputs = await run(input);
  const rows = nms(decode(outputs, input.padW, input.padH, settings.scoreThreshold), settings.scoreThreshold,
                   settings.nmsThreshold);
  return toDetections(rows, scale, bgr.width, bgr.height, settings);
}
