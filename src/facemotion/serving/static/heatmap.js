// Heatmaps on the page: each explained face's grid (GET /docs, FaceModel.heatmap) painted through its own affine,
// so it lands on the face in the photo, rotation included; the browser's smoothing does the bilinear upsampling.
// Positive evidence only, over its maximum: hot cells opaque, cold ones transparent (as inference/annotate.py).
"use strict";

// A jet-like ramp: blue (0) -> cyan -> yellow -> red (1).
function heatColor(v) {
  const clamp = (x) => Math.max(0, Math.min(1, x));
  return [clamp(1.5 - Math.abs(4 * v - 3)), clamp(1.5 - Math.abs(4 * v - 2)), clamp(1.5 - Math.abs(4 * v - 1))]
    .map((c) => Math.round(255 * c));
}

// The RGBA canvas of one label's grid, or null when the label was not mapped.
function heatmapCanvas(heatmap, label, opacity = 0.6) {
  const grid = heatmap.maps[label] || Object.values(heatmap.maps)[0];
  if (!grid) return null;
  const [h, w] = heatmap.size;
  const peak = Math.max(0, ...grid.flat());
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const pixels = ctx.createImageData(w, h);
  grid.forEach((row, y) => row.forEach((value, x) => {
    const v = peak > 0 ? Math.max(0, value) / peak : 0;
    const [r, g, b] = heatColor(v);
    pixels.data.set([r, g, b, Math.round(255 * opacity * v)], 4 * (y * w + x));
  }));
  ctx.putImageData(pixels, 0, 0);
  return canvas;
}

// Paint every explained face of ``result`` on ``ctx``; ``scale`` is canvas pixels per result pixel. Returns the count.
function drawHeatmaps(ctx, result, scale) {
  let drawn = 0;
  for (const face of result.faces) {
    if (!face.heatmap) continue;
    const small = heatmapCanvas(face.heatmap, face.emotion);
    if (!small) continue;
    const [[a, c, e], [b, d, f]] = face.heatmap.matrix;
    ctx.save();
    ctx.setTransform(a * scale, b * scale, c * scale, d * scale, e * scale, f * scale);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, 0, 0);
    ctx.restore();
    drawn += 1;
  }
  return drawn;
}
