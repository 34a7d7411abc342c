// The whole recogniser in the browser: YuNet and the classifier in onnxruntime-web (vendored, wasm, one thread
// unless the page is cross-origin isolated), the ports of decoding and alignment around them. Results have the
// server's JSON shape, so the page draws them with the same code. Nothing here sends a pixel anywhere.
import * as ort from "../vendor/onnxruntime-web/ort.wasm.bundle.min.mjs";
import { cropBatch, cropToImage } from "./align.mjs";
import { bgrFromRgba, toGray } from "./imaging.mjs";
import { clipBox, detectFaces } from "./yunet.mjs";

/** A model or runtime file that could not be fetched or opened; ``message`` names the file. */
export class ModelLoadError extends Error {}

/** Whether this browser can run the engine at all (WebAssembly with SIMD, which the vendored binary needs). */
export function wasmSupported() {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.validate !== "function") return false;
  const simd = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65,
                               0, 253, 15, 253, 98, 11]);
  return WebAssembly.validate(simd);
}

function configureRuntime(base) {
  // The bundle holds its Emscripten glue; only the binary is fetched, from beside it.
  ort.env.wasm.wasmPaths = { wasm: new URL("static/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm", base).href };
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.logLevel = "error";
}

async function openSession(base, path) {
  const url = new URL(path, base).href;
  let bytes;
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new ModelLoadError(`could not download ${path}: ${error.message}`);
  }
  try {
    return await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  } catch (error) {
    throw new ModelLoadError(`${path} is not a model this browser's ONNX Runtime can open: ${error.message || error}`);
  }
}

export class Engine {
  /** Load YuNet and the classifier ``modelName`` of ``site`` (site.json, resolved against ``base``). */
  static async create(site, modelName, base = document.baseURI) {
    configureRuntime(base);
    const model = site.models.find((m) => m.name === modelName) || site.models[0];
    const [detector, classifier] = await Promise.all([openSession(base, site.detector.path),
                                                      openSession(base, model.path)]);
    return new Engine(site, model, detector, classifier);
  }

  constructor(site, model, detector, classifier) {
    const d = site.detector;
    this.model = model;
    this.labels = model.labels;
    this.margin = d.margin;
    this.settings = { minFaceSize: d.min_face_size, smallestFace: d.smallest_face, maxSide: d.max_side,
                      scoreThreshold: d.score_threshold, nmsThreshold: d.nms_threshold, maxFaces: null };
    this.detector = detector;
    this.classifier = classifier;
  }

  async runDetector(input) {
    const feeds = { [this.detector.inputNames[0]]: new ort.Tensor("float32", input.data, input.dims) };
    const results = await this.detector.run(feeds);
    return Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, tensor.data]));
  }

  /** ``(N, labels)`` probabilities of the crops (raw 0-255 floats, N x 1 x 48 x 48), and with ``explain`` each
   * crop's class activation maps from the same run (the graph's ``heatmaps`` output, N x labels x h x w). */
  async classify(batch, explain = false) {
    if (batch.dims[0] === 0) return { probabilities: [], maps: [] };
    const feeds = { [this.classifier.inputNames[0]]: new ort.Tensor("float32", batch.data, batch.dims) };
    const explained = explain && this.classifier.outputNames.includes("heatmaps");
    const out = await this.classifier.run(feeds, explained ? ["probabilities", "heatmaps"] : ["probabilities"]);
    const probs = out.probabilities.data, k = this.labels.length, n = batch.dims[0];
    const probabilities = Array.from({ length: n }, (_, i) => Array.from(probs.subarray(i * k, (i + 1) * k)));
    if (!explained) return { probabilities, maps: [] };
    const [, , h, w] = out.heatmaps.dims, cells = out.heatmaps.data;
    const maps = probabilities.map((_, i) => Object.fromEntries(this.labels.map((label, j) => {
      const start = ((i * k) + j) * h * w;
      return [label, Array.from({ length: h }, (_, y) => Array.from(cells.subarray(start + y * w, start + (y + 1) * w)))];
    })));
    return { probabilities, maps, size: [h, w] };
  }

  /** Every face in RGBA pixels (a canvas's ImageData), as the server's JSON: boxes, labels, probabilities. */
  async predict(rgba, width, height, { explain = false } = {}) {
    const started = performance.now();
    const bgr = bgrFromRgba(rgba, width, height);
    const detections = await detectFaces(bgr, (input) => this.runDetector(input), this.settings);
    const detected = performance.now();
    const { probabilities, maps, size } = await this.classify(cropBatch(toGray(bgr), detections, this.margin),
                                                               explain);
    const faces = detections.map((d, i) => {
      const face = this.face(d, probabilities[i], width, height);
      return maps.length ? { ...face, heatmap: this.heatmap(d, maps[i], size) } : face;
    });
    const done = performance.now();
    return { faces, width, height, detector: "yunet", model: this.model.name, labels: this.labels, private: true,
             timing_ms: { detect: round2(detected - started), classify: round2(done - detected),
                          total: round2(done - started) } };
  }

  /** One face of the result; ``probabilities`` may be replaced later by smoothed ones (see withProbabilities). */
  face(detection, probabilities, width, height) {
    return withProbabilities({ box: clipBox(detection.box, width, height), detection_score: detection.score,
                               landmarks: detection.landmarks }, probabilities, this.labels);
  }

  /** The face's maps placed on the photo as inference/explain.py face_heatmap does: the crop's affine, scaled from
   * grid cells to crop pixels. All labels are kept, so a smoothed top label still finds its map. */
  heatmap(detection, maps, [h, w]) {
    const matrix = cropToImage(detection, this.margin).map(([a, b, c]) => [a * 48 / w, b * 48 / h, c]);
    return { size: [h, w], matrix, maps };
  }
}

/** The face with ``values`` as its probabilities, and its emotion and confidence taken from them. */
export function withProbabilities(face, values, labels) {
  let best = 0;
  values.forEach((v, i) => { if (v > values[best]) best = i; });
  const probabilities = Object.fromEntries(labels.map((label, i) => [label, values[i]]));
  return { ...face, emotion: labels[best], confidence: values[best], probabilities };
}

function round2(ms) {
  return Math.round(ms * 100) / 100;
}
