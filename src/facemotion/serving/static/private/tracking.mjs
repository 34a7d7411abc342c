// The server's webcam behaviour (video/tracking.py, video/smoothing.py) for the browser's live mode: each face keeps
// a track id from frame to frame (greedy IoU matching, a track ends after ``timeout`` seconds unseen), and its
// probabilities are an exponential moving average in time, so labels follow the expression instead of flickering.

export function iou(a, b) {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.w * a.h + b.w * b.h - inter);
}

function median(values) {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b), mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export class IouTracker {
  constructor({ iouThreshold = 0.3, timeout = 1.0 } = {}) {
    this.iouThreshold = iouThreshold;
    this.timeout = timeout;
    this.tracks = new Map();  // id -> {box, lastSeen}
    this.nextId = 1;
    this.lastTime = null;
    this.steps = [];  // the last 15 spacings of processed frames
  }

  /** The track id of each box, in order; ``time`` in seconds. */
  update(boxes, time) {
    if (this.lastTime !== null) this.steps = [...this.steps, time - this.lastTime].slice(-15);
    this.lastTime = time;
    const timeout = Math.max(this.timeout, 2.5 * median(this.steps));  // sparse frames: survive one miss
    for (const [id, t] of this.tracks) if (time - t.lastSeen > timeout) this.tracks.delete(id);
    const pairs = [];
    boxes.forEach((box, i) => { for (const [id, t] of this.tracks) pairs.push([iou(box, t.box), i, id]); });
    pairs.sort((p, q) => q[0] - p[0] || p[1] - q[1] || p[2] - q[2]);
    const ids = new Array(boxes.length).fill(null), taken = new Set();
    for (const [overlap, i, id] of pairs) {
      if (overlap < this.iouThreshold) break;
      if (ids[i] === null && !taken.has(id)) { ids[i] = id; taken.add(id); }
    }
    return boxes.map((box, i) => {
      const id = ids[i] ?? this.nextId++;
      this.tracks.set(id, { box, lastSeen: time });
      return id;
    });
  }

  get activeIds() {
    return [...this.tracks.keys()];
  }
}

export class EmaSmoother {
  constructor(window = 0.5) {
    this.tau = window / 2;
    this.state = new Map();  // id -> {time, values}
  }

  /** The smoothed probabilities of track ``id`` after this frame's ``values`` at ``time`` seconds. */
  update(id, values, time) {
    const previous = this.state.get(id);
    let smoothed = Array.from(values);
    if (previous) {
      const dt = time - previous.time, a = dt <= 0 ? 1 : 1 - Math.exp(-dt / this.tau);
      smoothed = smoothed.map((v, i) => a * v + (1 - a) * previous.values[i]);
    }
    this.state.set(id, { time, values: smoothed });
    return smoothed;
  }

  /** Forget the tracks that have ended. */
  retain(ids) {
    const keep = new Set(ids);
    for (const id of this.state.keys()) if (!keep.has(id)) this.state.delete(id);
  }
}
