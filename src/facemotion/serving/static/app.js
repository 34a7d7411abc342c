// facemotion's page: send a photo or webcam frames to POST /v1/predict, draw a labelled box on every face and a bar
// chart of the seven probabilities. Plain browser JavaScript, no build step. The boxes come back in the pixels of the
// upright image (EXIF applied), so they are scaled by canvas width / result width.
"use strict";

const $ = (id) => document.getElementById(id);
const COLORS = { angry: "#dc2626", disgust: "#65a30d", fear: "#7c3aed", happy: "#f59e0b", sad: "#2563eb",
                 surprise: "#db2777", neutral: "#6b7280" };
// Labels of a model trained on other data get a colour picked by their name: stable across reloads, no table.
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

function labelColor(name) {
  if (COLORS[name]) return COLORS[name];
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}
const KEY_STORE = "facemotion-api-key";
const camera = { stream: null, timer: null, busy: false, frames: 0, running: false };

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function apiKey() {
  return $("api-key").value.trim() || sessionStorage.getItem(KEY_STORE) || "";
}

// POST the image; resolves to the JSON result, rejects with an Error whose .status is the HTTP status.
async function predict(body, contentType) {
  const params = new URLSearchParams();
  for (const id of ["detector", "model"]) if ($(id).value) params.set(id, $(id).value);
  params.set("top_k", "3");
  if ($("explain").checked) params.set("explain", "true");
  const headers = {};
  if (contentType) headers["Content-Type"] = contentType;
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  const response = await fetch(`/v1/predict?${params}`, { method: "POST", body, headers });
  let data = null;
  try { data = await response.json(); } catch (_) { /* a proxy's HTML error page */ }
  if (!response.ok) {
    const error = new Error((data && data.error) || `HTTP ${response.status}`);
    error.status = response.status;
    error.retryAfter = Number(response.headers.get("Retry-After") || 1);
    if (response.status === 401) $("key-row").hidden = false;
    throw error;
  }
  if (key) sessionStorage.setItem(KEY_STORE, key);
  return data;
}

function drawFaces(ctx, result, scale) {
  document.body.dataset.heatmaps = String(drawHeatmaps(ctx, result, scale));  // heatmap.js; under the boxes
  const width = Math.max(2, Math.round(3 * Math.max(ctx.canvas.width, ctx.canvas.height) / 640));
  const fontSize = Math.max(12, Math.round(16 * Math.max(ctx.canvas.width, ctx.canvas.height) / 640));
  ctx.lineWidth = width;
  ctx.font = `600 ${fontSize}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  result.faces.forEach((face, i) => {
    const { x, y, w, h } = face.box;
    const color = labelColor(face.emotion);
    ctx.strokeStyle = color;
    ctx.strokeRect(x * scale, y * scale, w * scale, h * scale);
    const label = `${i + 1} ${face.emotion} ${Math.round(face.confidence * 100)}%`;
    const pad = 4, textWidth = ctx.measureText(label).width;
    const top = y * scale - fontSize - 2 * pad >= 0 ? y * scale - fontSize - 2 * pad : y * scale;
    ctx.fillStyle = color;
    ctx.fillRect(x * scale - width / 2, top, textWidth + 2 * pad, fontSize + 2 * pad);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, x * scale + pad - width / 2, top + pad);
  });
}

function renderCards(result) {
  const container = $("faces");
  container.replaceChildren();
  result.faces.forEach((face, i) => {
    const card = document.createElement("article");
    card.className = "face";
    const title = document.createElement("h2");
    const emotion = document.createElement("span");
    emotion.className = "emotion";
    emotion.textContent = face.emotion;
    title.append(`Face ${i + 1}: `, emotion, ` ${Math.round(face.confidence * 100)}%`);
    const bars = document.createElement("div");
    bars.className = "bars";
    bars.setAttribute("role", "list");
    for (const [name, p] of Object.entries(face.probabilities)) {
      const label = document.createElement("span");
      label.textContent = name;
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.dataset.emotion = name;
      bar.setAttribute("role", "listitem");
      bar.setAttribute("aria-label", `${name} ${(p * 100).toFixed(1)} percent`);
      const fill = document.createElement("span");
      fill.style.width = `${(p * 100).toFixed(1)}%`;
      fill.style.background = labelColor(name);
      bar.append(fill);
      const pct = document.createElement("span");
      pct.className = "pct";
      pct.textContent = `${(p * 100).toFixed(1)}%`;
      bars.append(label, bar, pct);
    }
    card.append(title, bars);
    container.append(card);
  });
}

function summary(result) {
  const n = result.faces.length;
  const faces = n === 0 ? "no face found" : `${n} face${n > 1 ? "s" : ""}`;
  const where = result.private ? "in this browser" : result.detector;
  const note = result.note ? `; ${result.note}` : "";
  return `${faces} in ${result.width}x${result.height} (${where}, ${result.timing_ms.total} ms${note})`;
}

// Private mode (private/page.mjs) runs the models in the page; then no image is sent anywhere.
function privateMode() {
  return Boolean(window.facemotionPrivate && window.facemotionPrivate.active());
}

async function loadBitmap(file) {
  try {
    return await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (_) {  // browsers that cannot decode the format still let the server try
    return null;
  }
}

async function showPhoto(file) {
  if (!file) return;
  stopCamera();
  document.body.dataset.state = "busy";
  setStatus(`Looking at ${file.name}…`);
  $("faces").replaceChildren();
  const form = new FormData();
  form.append("image", file, file.name);
  const [bitmap, result] = privateMode()
    ? await window.facemotionPrivate.analyzePhoto(file).catch((e) => [null, e])
    : await Promise.all([loadBitmap(file), predict(form).catch((e) => e)]);
  if (result instanceof Error) {
    document.body.dataset.state = "error";
    setStatus(result.message, true);
    return;
  }
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d");
  canvas.width = bitmap ? bitmap.width : result.width;
  canvas.height = bitmap ? bitmap.height : result.height;
  if (bitmap) ctx.drawImage(bitmap, 0, 0);
  else { ctx.fillStyle = "#ddd"; ctx.fillRect(0, 0, canvas.width, canvas.height); }
  drawFaces(ctx, result, canvas.width / result.width);
  $("photo-stage").hidden = false;
  renderCards(result);
  setStatus(summary(result));
  document.body.dataset.faces = String(result.faces.length);
  document.body.dataset.state = "done";
}

// ---- webcam ----

async function startCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setStatus("This browser gives no camera here (it needs https or localhost); a photo still works.", true);
    return;
  }
  try {
    camera.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 640 } },
                                                                audio: false });
  } catch (error) {
    setStatus(`Camera refused or missing: ${error.message}; a photo still works.`, true);
    return;
  }
  const video = $("video");
  video.srcObject = camera.stream;
  await video.play();
  camera.running = true;
  camera.frames = 0;
  $("cam-start").disabled = true;
  $("cam-stop").disabled = false;
  $("photo-stage").hidden = true;
  setStatus("Camera on");
  scheduleFrame(0);
}

function stopCamera() {
  camera.running = false;
  clearTimeout(camera.timer);
  if (camera.stream) camera.stream.getTracks().forEach((t) => t.stop());
  camera.stream = null;
  $("cam-start").disabled = false;
  $("cam-stop").disabled = true;
  const overlay = $("overlay");
  overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
}

function scheduleFrame(delayMs) {
  clearTimeout(camera.timer);
  if (camera.running) camera.timer = setTimeout(sendFrame, delayMs);
}

// Send one camera frame, shrunk to at most 640 pixels a side, as a JPEG.
async function predictFrame(video) {
  const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
  const grab = document.createElement("canvas");
  grab.width = Math.round(video.videoWidth * scale);
  grab.height = Math.round(video.videoHeight * scale);
  grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
  const blob = await new Promise((resolve) => grab.toBlob(resolve, "image/jpeg", 0.8));
  return predict(blob, "image/jpeg");
}

async function sendFrame() {
  const video = $("video");
  const fps = privateMode() ? 30 : Math.min(10, Math.max(1, Number($("cam-fps").value) || 4));
  const started = performance.now();
  if (!camera.running || camera.busy || !video.videoWidth) return scheduleFrame(1000 / fps);
  camera.busy = true;
  let delay = 1000 / fps;
  try {
    const result = privateMode() ? await window.facemotionPrivate.analyzeFrame(video) : await predictFrame(video);
    if (!camera.running) return;
    const overlay = $("overlay");
    overlay.width = video.videoWidth;
    overlay.height = video.videoHeight;
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    drawFaces(ctx, result, overlay.width / result.width);
    renderCards(result);
    camera.frames += 1;
    document.body.dataset.frames = String(camera.frames);
    document.body.dataset.faces = String(result.faces.length);
    setStatus(`Live: ${summary(result)}`);
  } catch (error) {
    setStatus(error.message, true);
    if (error.status === 503) delay = 1000 * error.retryAfter;  // the server is busy: back off as it asks
    if (error.status === 401) stopCamera();
  } finally {
    camera.busy = false;
    scheduleFrame(Math.max(0, delay - (performance.now() - started)));
  }
}

// ---- wiring ----

function selectTab(name) {
  const photo = name === "photo";
  $("tab-photo").setAttribute("aria-selected", String(photo));
  $("tab-webcam").setAttribute("aria-selected", String(!photo));
  $("photo-panel").hidden = !photo;
  $("webcam-panel").hidden = photo;
  if (photo) stopCamera();
  else $("photo-stage").hidden = true;
  $("faces").replaceChildren();
  setStatus("");
}

$("tab-photo").addEventListener("click", () => selectTab("photo"));
$("tab-webcam").addEventListener("click", () => selectTab("webcam"));
$("cam-start").addEventListener("click", startCamera);
$("cam-stop").addEventListener("click", () => { stopCamera(); setStatus("Camera off"); });
$("file").addEventListener("change", (event) => {
  showPhoto(event.target.files[0]);
  event.target.value = "";  // choosing the same file again fires "change" again
});
const drop = $("drop");
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add("over"); });
}
for (const type of ["dragleave", "drop"]) {
  drop.addEventListener(type, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (event) => { event.preventDefault(); showPhoto(event.dataTransfer.files[0]); });
$("api-key").addEventListener("change", () => sessionStorage.setItem(KEY_STORE, $("api-key").value.trim()));
if (sessionStorage.getItem(KEY_STORE)) $("key-row").hidden = false;
document.body.dataset.state = "idle";
