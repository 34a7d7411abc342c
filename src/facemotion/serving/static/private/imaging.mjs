// The few OpenCV image operations the server's pipeline uses, reproduced to the rounding so the browser's crops are
// the server's: BGR2GRAY's 15-bit fixed-point weights, INTER_AREA shrinking (OpenCV's coverage tables, and its exact 2x2
// path), and warpAffine's bilinear interpolation with 1/32-pixel coordinates and 15-bit weights, edges repeated.
// Images are {data, width, height, channels} with interleaved uint8 pixels; colour images are BGR, as OpenCV's.

/** Python's round(): halves go to the even neighbour (OpenCV's cvRound does the same). */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function image(width, height, channels, data = new Uint8Array(width * height * channels)) {
  return { data, width, height, channels };
}

/** RGBA canvas pixels (ImageData) -> a BGR image. */
export function bgrFromRgba(rgba, width, height) {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    out[j] = rgba[i + 2]; out[j + 1] = rgba[i + 1]; out[j + 2] = rgba[i];
  }
  return image(width, height, 3, out);
}

/** cv2.cvtColor(BGR2GRAY) on uint8: OpenCV 4.x's 15-bit fixed-point luma weights (0.299, 0.587, 0.114), rounded. */
export function toGray(bgr) {
  const n = bgr.width * bgr.height, src = bgr.data, out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = (src[j] * 3735 + src[j + 1] * 19235 + src[j + 2] * 9798 + 16384) >> 15;
  return image(bgr.width, bgr.height, 1, out);
}

// OpenCV's computeResizeAreaTab: which source pixels (and how much of each) make every destination pixel.
function areaTable(ssize, dsize, scale) {
  const tab = [];
  for (let d = 0; d < dsize; d++) {
    const f1 = d * scale, f2 = f1 + scale, cell = Math.min(scale, ssize - f1);
    let s2 = Math.min(Math.floor(f2), ssize - 1);
    const s1 = Math.min(Math.ceil(f1), s2);
    if (s1 - f1 > 1e-3) tab.push([d, s1 - 1, Math.fround((s1 - f1) / cell)]);
    for (let s = s1; s < s2; s++) tab.push([d, s, Math.fround(1 / cell)]);
    if (f2 - s2 > 1e-3) tab.push([d, s2, Math.fround(Math.min(Math.min(f2 - s2, 1), cell) / cell)]);
  }
  return tab;
}

/** cv2.resize(..., INTER_AREA) to a smaller (or equal) size, any channel count. */
export function resizeArea(src, width, height) {
  const { width: sw, height: sh, channels: cn, data } = src;
  if (width === sw && height === sh) return src;
  const sx = sw / width, sy = sh / height;
  if (sx === 2 && sy === 2 && cn === 1) return halve(src);
  const xtab = areaTable(sw, width, 1 / (width / sw)), ytab = areaTable(sh, height, 1 / (height / sh));
  const rowLen = width * cn, out = new Uint8Array(height * rowLen);
  const buf = new Float32Array(rowLen), sum = new Float32Array(rowLen);
  let prev = ytab.length ? ytab[0][0] : 0;
  const flush = (dy) => { for (let i = 0; i < rowLen; i++) out[dy * rowLen + i] = clampByte(roundHalfEven(sum[i])); };
  for (const [dy, sRow, beta] of ytab) {
    buf.fill(0);
    const base = sRow * sw * cn;
    for (const [dx, sCol, alpha] of xtab) {
      for (let c = 0; c < cn; c++) buf[dx * cn + c] += Math.fround(data[base + sCol * cn + c] * alpha);
    }
    if (dy !== prev) {
      flush(prev);
      for (let i = 0; i < rowLen; i++) sum[i] = Math.fround(beta * buf[i]);
      prev = dy;
    } else {
      for (let i = 0; i < rowLen; i++) sum[i] += Math.fround(beta * buf[i]);
    }
  }
  flush(prev);
  return image(width, height, cn, out);
}

// OpenCV's exact 2x2 path for one channel: (a + b + c + d + 2) >> 2.
function halve(src) {
  const w = src.width / 2, h = src.height / 2, s = src.data, sw = src.width, out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const r0 = 2 * y * sw, r1 = r0 + sw;
    for (let x = 0; x < w; x++) out[y * w + x] = (s[r0 + 2 * x] + s[r0 + 2 * x + 1] + s[r1 + 2 * x] + s[r1 + 2 * x + 1] + 2) >> 2;
  }
  return image(w, h, 1, out);
}

function clampByte(v) {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** The rectangle [x0, x1) x [y0, y1) of a grayscale image; outside pixels repeat the edge (BORDER_REPLICATE). */
export function region(gray, x0, y0, x1, y1) {
  const w = x1 - x0, h = y1 - y0, out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(Math.max(y0 + y, 0), gray.height - 1) * gray.width;
    for (let x = 0; x < w; x++) out[y * w + x] = gray.data[sy + Math.min(Math.max(x0 + x, 0), gray.width - 1)];
  }
  return image(w, h, 1, out);
}

/** cv2.warpAffine(gray, m, (size, size), INTER_LINEAR | WARP_INVERSE_MAP, BORDER_REPLICATE): m maps out -> in. */
export function warpAffine(gray, m, width, height) {
  const AB = 1024, ROUND = 16;  // AB_BITS = 10; coordinates kept to 1/32 pixel (INTER_BITS = 5)
  const { width: sw, height: sh, data } = gray, out = new Uint8Array(width * height);
  const adelta = new Int32Array(width), bdelta = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    adelta[x] = roundHalfEven(m[0][0] * x * AB);
    bdelta[x] = roundHalfEven(m[1][0] * x * AB);
  }
  const at = (x, y) => data[Math.min(Math.max(y, 0), sh - 1) * sw + Math.min(Math.max(x, 0), sw - 1)];
  for (let y = 0; y < height; y++) {
    const x0 = roundHalfEven((m[0][1] * y + m[0][2]) * AB) + ROUND;
    const y0 = roundHalfEven((m[1][1] * y + m[1][2]) * AB) + ROUND;
    for (let x = 0; x < width; x++) {
      const X = (x0 + adelta[x]) >> 5, Y = (y0 + bdelta[x]) >> 5;
      const ix = X >> 5, iy = Y >> 5, fx = X & 31, fy = Y & 31;
      // Each weight is (32 - f) or f over 32 on both axes: exact in OpenCV's 15-bit table, so no sum fix-up.
      const w00 = (32 - fx) * (32 - fy) * 32, w01 = fx * (32 - fy) * 32, w10 = (32 - fx) * fy * 32, w11 = fx * fy * 32;
      const v = at(ix, iy) * w00 + at(ix + 1, iy) * w01 + at(ix, iy + 1) * w10 + at(ix + 1, iy + 1) * w11;
      out[y * width + x] = clampByte((v + (1 << 14)) >> 15);
    }
  }
  return image(width, height, 1, out);
}
