// Private mode on the page: the mode switch, the model choice with its download size, and the two entry points
// app.js calls instead of POST /v1/predict when private mode is on (analyzePhoto, analyzeFrame). site.json says what
// this copy of the page has: a server (facemotion serve) or only static files (facemotion export-web).
import { Engine, ModelLoadError, wasmSupported, withProbabilities } from "./engine.mjs";
import { EmaSmoother, IouTracker } from "./tracking.mjs";

const $ = (id) => document.getElementById(id);
const MB = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const state = { site: null, engine: null, loading: null, tracker: new IouTracker(), smoother: new EmaSmoother(),
                frame: null };

// Photos above this many pixels are shrunk before anything else: the pipeline holds ~10 bytes per pixel, and a
// phone's tab is killed long before a 50 MP photo's 500 MB. Devices that report little memory get less.
const api = {
  maxPixels: (navigator.deviceMemory || 8) <= 2 ? 8e6 : 16e6,
  active: () => document.body.dataset.mode === "private",
  analyzePhoto,
  analyzeFrame,
  ready: () => ensureEngine(),
  tracking: () => ({ iou_threshold: state.tracker.iouThreshold, timeout: state.tracker.timeout,
                     smooth_window: 2 * state.smoother.tau }),
};
window.facemotionPrivate = api;

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function payload(model) {
  const { runtime, detector } = state.site;
  return runtime.bytes + detector.bytes + model.bytes;
}

function describeMode() {
  const banner = $("mode-banner");
  if (api.active()) {
    const model = selectedModel();
    banner.textContent = `Private mode: the models run in this browser and no image leaves this device ` +
      `(${MB(payload(model))} downloaded once: runtime ${MB(state.site.runtime.bytes)}, face detector ` +
      `${MB(state.site.detector.bytes)}, ${model.name} model ${MB(model.bytes)}).`;
  } else {
    banner.textContent = "Server mode: photos and camera frames are sent to this server, analysed, and not kept.";
  }
}

function selectedModel() {
  return state.site.models.find((m) => m.name === $("private-model").value) || state.site.models[0];
}

function setMode(mode) {
  const local = mode === "private";
  document.body.dataset.mode = local ? "private" : "server";
  $("mode").value = document.body.dataset.mode;
  for (const id of ["detector", "model"]) $(id).closest("label").hidden = local;
  $("private-model").closest("label").hidden = !local;
  describeMode();
  if (local) ensureEngine().catch(() => {});
}

async function ensureEngine() {
  const wanted = selectedModel();
  if (state.engine && state.engine.model.name === wanted.name) return state.engine;
  if (!state.loading || state.loading.model !== wanted.name) {
    say(`Loading the ${wanted.name} model into this browser (${MB(payload(wanted))})…`);
    const promise = Engine.create(state.site, wanted.name).then((engine) => {
      if (state.loading === promise) {
        state.engine = engine;
        say(`Private mode ready: ${wanted.name} model, running in this browser.`);
      }
      return engine;
    }, (error) => {
      if (state.loading === promise) state.loading = null;
      const message = error instanceof ModelLoadError ? error.message : `could not start the models: ${error.message}`;
      document.body.dataset.state = "error";
      say(state.site.server ? `${message}. Server mode still works.` : message, true);
      throw new Error(message);
    });
    promise.model = wanted.name;
    state.loading = promise;
  }
  return state.loading;
}

/** A photo file -> [ImageBitmap, result]; photos too large for the device are shrunk first, and the result says so. */
async function analyzePhoto(file) {
  const engine = await ensureEngine();
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image", colorSpaceConversion: "none" });
  } catch (_) {
    throw new Error(`${file.name}: this browser cannot decode this image`);
  }
  let note = "";
  const pixels = bitmap.width * bitmap.height;
  if (pixels > api.maxPixels) {
    const k = Math.sqrt(api.maxPixels / pixels);
    const [w, h] = [Math.max(1, Math.floor(bitmap.width * k)), Math.max(1, Math.floor(bitmap.height * k))];
    note = `shrunk from ${bitmap.width}x${bitmap.height} to ${w}x${h} to fit this device's memory`;
    const big = bitmap;
    bitmap = await createImageBitmap(big, { resizeWidth: w, resizeHeight: h, resizeQuality: "high" });
    big.close();
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const result = await engine.predict(ctx.getImageData(0, 0, bitmap.width, bitmap.height).data, bitmap.width,
                                      bitmap.height, { explain: $("explain").checked });
  if (note) result.note = note;
  window.facemotionLastResult = result;
  return [bitmap, result];
}

/** One camera frame -> result, with track ids and probabilities smoothed over time (labels do not flicker). */
async function analyzeFrame(video) {
  const engine = await ensureEngine();
  const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
  const w = Math.round(video.videoWidth * scale), h = Math.round(video.videoHeight * scale);
  if (!state.frame || state.frame.width !== w || state.frame.height !== h) state.frame = new OffscreenCanvas(w, h);
  const ctx = state.frame.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, w, h);
  const result = await engine.predict(ctx.getImageData(0, 0, w, h).data, w, h, { explain: $("explain").checked });
  const time = performance.now() / 1000;
  const ids = state.tracker.update(result.faces.map((f) => f.box), time);
  result.faces = result.faces.map((face, i) => {
    const values = engine.labels.map((label) => face.probabilities[label]);
    return { ...withProbabilities(face, state.smoother.update(ids[i], values, time), engine.labels), track_id: ids[i] };
  });
  state.smoother.retain(state.tracker.activeIds);
  window.facemotionLastResult = result;
  return result;
}

function offerModels() {
  const select = $("private-model");
  select.replaceChildren(...state.site.models.map((m) => new Option(`${m.name} (${MB(m.bytes)})`, m.name)));
  select.value = state.site.models.some((m) => m.name === state.site.default_model) ? state.site.default_model
    : state.site.models[0].name;
  select.addEventListener("change", () => { describeMode(); ensureEngine().catch(() => {}); });
}

async function init() {
  try {
    const response = await fetch(new URL("site.json", document.baseURI));
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    state.site = await response.json();
    const tracking = state.site.tracking;  // the server's defaults; older servers' site.json has none
    if (tracking) {
      state.tracker = new IouTracker({ iouThreshold: tracking.iou_threshold, timeout: tracking.timeout });
      state.smoother = new EmaSmoother(tracking.smooth_window);
    }
  } catch (error) {  // a server older than private mode: it still has server mode
    $("mode").closest("label").hidden = true;
    return;
  }
  offerModels();
  const canRun = wasmSupported();
  const privateOption = $("mode").querySelector("option[value=private]");
  privateOption.disabled = !canRun;
  if (!state.site.server) {
    $("mode").querySelector("option[value=server]").remove();
    document.querySelector("footer").hidden = true;  // no API here
  }
  $("mode").addEventListener("change", () => setMode($("mode").value));
  const asked = new URLSearchParams(location.search).get("mode");
  if (!canRun) {
    if (state.site.server) setMode("server");
    else {  // nothing on this page can analyse a photo: say so rather than fail on each one
      document.body.dataset.mode = "unavailable";
      $("mode-banner").textContent = "Private mode needs WebAssembly, which this browser does not have.";
      for (const id of ["file", "cam-start"]) $(id).disabled = true;
    }
    say(state.site.server
      ? "This browser has no WebAssembly (with SIMD), so it cannot run the models itself: server mode is on; " +
        "photos are sent to this server."
      : "This browser has no WebAssembly (with SIMD), so it cannot run the models. Open this page in a current " +
        "browser, or use a facemotion server (facemotion serve).", true);
    document.body.dataset.state = "unsupported";
    return;
  }
  setMode(asked === "private" || !state.site.server ? "private" : "server");
}

init();
