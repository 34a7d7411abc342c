// faces/align.py in the browser: the square crop around each box, rotated so the eyes are level, cut from the
// grayscale photo and shrunk to 48x48 exactly as the server does (same matrix, same OpenCV rounding), so the
// classifier sees the same pixels on both sides. Detections are {box: {x, y, w, h}, landmarks: [[x, y] x 5]}.
import { region, resizeArea, roundHalfEven, warpAffine } from "./imaging.mjs";

const RAD_TO_DEG = 180 / Math.PI, DEG_TO_RAD = Math.PI / 180;  // CPython's math.degrees / math.radians factors

/** Degrees the eye line is tilted, clockwise on screen; landmarks[0] is the right eye, landmarks[1] the left. */
export function eyeAngle(landmarks) {
  const [[rx, ry], [lx, ly]] = landmarks;
  return Math.atan2(ly - ry, lx - rx) * RAD_TO_DEG;
}

/** The 2x3 matrix from crop pixels to image pixels (WARP_INVERSE_MAP convention), as face_matrix. */
export function faceMatrix([cx, cy], side, angle, size) {
  const k = side / size;
  const cos = Math.cos(angle * DEG_TO_RAD) * k, sin = Math.sin(angle * DEG_TO_RAD) * k;
  const offset = 0.5 - size / 2.0;
  return [[cos, -sin, cx - 0.5 + (cos - sin) * offset], [sin, cos, cy - 0.5 + (sin + cos) * offset]];
}

/** The crop's square: centre, side and rotation (crop_geometry). */
export function cropGeometry(detection, margin, align = true) {
  const { x, y, w, h } = detection.box;
  const angle = align && detection.landmarks ? eyeAngle(detection.landmarks) : 0.0;
  return { center: [x + w / 2.0, y + h / 2.0], side: Math.max(w, h) * (1.0 + 2.0 * margin), angle };
}

/** The affine from the crop's continuous coordinates (corners at 0 and size) to the photo's (crop_to_image). */
export function cropToImage(detection, margin, align = true, size = 48) {
  const { center, side, angle } = cropGeometry(detection, margin, align);
  const m = faceMatrix(center, side, angle, size);
  return m.map(([a, b, c]) => [a, b, c + 0.5 - (a + b) * 0.5]);
}

// A large face's neighbourhood, area-shrunk to about ``target`` pixels first (a 48x48 bilinear warp would alias).
function shrinkRegion(gray, [cx, cy], side, target) {
  const reach = 0.75 * side;
  const x0 = Math.floor(cx - reach), y0 = Math.floor(cy - reach), x1 = Math.ceil(cx + reach), y1 = Math.ceil(cy + reach);
  const patch = region(gray, x0, y0, x1, y1);
  const factor = target / side;
  const small = resizeArea(patch, Math.max(1, roundHalfEven(patch.width * factor)),
                           Math.max(1, roundHalfEven(patch.height * factor)));
  const fx = small.width / patch.width, fy = small.height / patch.height;
  return { source: small, center: [(cx - x0) * fx, (cy - y0) * fy], side: side * fx };
}

/** One size x size uint8 crop of a grayscale image (crop_face). */
export function cropFace(gray, detection, margin, align = true, size = 48) {
  let { center, side, angle } = cropGeometry(detection, margin, align);
  let source = gray;
  if (side > 2 * size) ({ source, center, side } = shrinkRegion(gray, center, side, 2.0 * size));
  const work = Math.trunc(Math.min(Math.max(roundHalfEven(side), size), 2 * size));
  const crop = warpAffine(source, faceMatrix(center, side, angle, work), work, work);
  return work === size ? crop : resizeArea(crop, size, size);
}

/** Every detection's crop, stacked as the classifier's N x 1 x size x size float input (raw 0-255). */
export function cropBatch(gray, detections, margin, align = true, size = 48) {
  const plane = size * size, data = new Float32Array(detections.length * plane);
  detections.forEach((d, i) => data.set(cropFace(gray, d, margin, align, size).data, i * plane));
  return { data, dims: [detections.length, 1, size, size] };
}
