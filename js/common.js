// Shared front-end helpers for runway-nb widgets (TaskView now, the comparison grid later).
//
// Shipping rule: anywidget loads a widget's `_esm` from a Blob URL, where relative imports
// cannot resolve. `runway_nb/widgets/_assets.py` therefore builds ONE module per widget by
// concatenating this file (with the `export` keywords removed) and the widget's file (with its
// `import ... from "./common.js"` statement removed). Consequences for code written here:
//   - only plain `export function` / `export const` / `export class` declarations (no
//     `export default`, no `export { a as b }`); widget files import them by their own names
//     (no `as` renames) and must not declare the same top-level names;
//   - no side effects at module load (the module is evaluated once per page).
// Node's test runner imports these files directly, as real ES modules.

const SAFE_DATA = /^data:(image\/(png|jpeg|jpg|gif|webp|avif|bmp)|video\/(mp4|webm|ogg|quicktime))[;,]/i;
const SAFE_HTTP = /^https?:\/\/[^\s\/?#@]+(@[^\s\/?#]+)?([\/?#]|$)/i;
const SAFE_BLOB = /^blob:(https?:\/\/[^\s\/?#]+|null)\//i;
const HAS_SCHEME = /^[a-z][a-z0-9+.\-]*:/i;
// Control characters, whitespace and backslashes never appear in a URL we produce.
const BAD_CHARS = /[\u0000-\u0020\u007f-\u009f\u2028\u2029\\]/;

/**
 * The URL if it may be used as a `src` or `href`, otherwise null.
 * Allowed: http(s) URLs with a host; data: URLs of raster images or videos (not SVG);
 * blob: URLs; relative paths (saved files) without a scheme, not starting with "/".
 */
export function safeUrl(url) {
  if (typeof url !== "string" || url.length === 0 || url.length > 8_000_000) return null;
  if (BAD_CHARS.test(url)) return null;
  if (SAFE_HTTP.test(url)) return url;
  if (SAFE_DATA.test(url)) return url;
  if (SAFE_BLOB.test(url)) return url;
  if (HAS_SCHEME.test(url)) return null;
  if (url.startsWith("/") || url.includes(":")) return null;
  return url;
}

/**
 * safeUrl() restricted to absolute URLs (http(s), data:, blob:). Outputs shown by a live view
 * use this: in a widget a relative path would resolve against the notebook server's page
 * (e.g. "../../logout"), not against the notebook's folder.
 */
export function absoluteUrl(url) {
  const safe = safeUrl(url);
  return safe !== null && HAS_SCHEME.test(safe) ? safe : null;
}

/** "video" or "image" for an output URL (the Python side also sends the kind). */
export function mediaKind(url, fallback) {
  if (fallback === "video" || fallback === "image") return fallback;
  const path = String(url || "").split(/[?#]/)[0].toLowerCase();
  if (/^data:video\//.test(path) || /\.(mp4|webm|mov|m4v|ogv)$/.test(path)) return "video";
  return "image";
}

/** "42 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds) || seconds < 0) return "";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/**
 * Create an element. Text goes through textContent and attributes through setAttribute,
 * so data is never parsed as HTML. Event handler attributes ("on...") are refused.
 */
export function h(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (/^on/i.test(name)) throw new Error(`refusing event-handler attribute ${name}`);
    if ((name === "src" || name === "href") && safeUrl(String(value)) === null) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of [].concat(children ?? [])) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Set a URL attribute only if safeUrl accepts it; returns whether it was set. */
export function setUrl(node, name, url) {
  const safe = safeUrl(url);
  if (safe === null) {
    node.removeAttribute(name);
    return false;
  }
  node.setAttribute(name, safe);
  return true;
}

/** Mime types accepted for bytes relayed by the kernel. */
export function safeMime(mime, kind) {
  const m = String(mime || "").toLowerCase().split(";")[0].trim();
  if (/^(image\/(png|jpeg|gif|webp|avif|bmp)|video\/(mp4|webm|ogg|quicktime))$/.test(m)) return m;
  return kind === "video" ? "video/mp4" : "image/png";
}

/**
 * Tracks what a view must undo when it is removed: timers, blob URLs, listeners.
 * (Iterate the collections themselves: Object.entries on a Map yields nothing.)
 */
export class Disposer {
  constructor() {
    this.intervals = new Set();
    this.timeouts = new Set();
    this.blobUrls = new Set();
    this.listeners = [];
    this.disposed = false;
  }
  interval(fn, ms) {
    const id = setInterval(fn, ms);
    this.intervals.add(id);
    return id;
  }
  timeout(fn, ms) {
    const id = setTimeout(() => {
      this.timeouts.delete(id);
      fn();
    }, ms);
    this.timeouts.add(id);
    return id;
  }
  clearInterval(id) {
    clearInterval(id);
    this.intervals.delete(id);
  }
  blobUrl(blob) {
    const url = URL.createObjectURL(blob);
    this.blobUrls.add(url);
    return url;
  }
  listen(target, event, fn) {
    target.addEventListener(event, fn);
    this.listeners.push([target, event, fn]);
  }
  modelOn(model, event, fn) {
    model.on(event, fn);
    this.listeners.push([model, event, fn, true]);
  }
  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    for (const id of this.intervals) clearInterval(id);
    for (const id of this.timeouts) clearTimeout(id);
    for (const url of this.blobUrls) URL.revokeObjectURL(url);
    for (const [target, event, fn, isModel] of this.listeners) {
      if (isModel) target.off(event, fn);
      else target.removeEventListener(event, fn);
    }
    this.intervals.clear();
    this.timeouts.clear();
    this.blobUrls.clear();
    this.listeners.length = 0;
  }
}

/**
 * One output (video or image) that falls back to bytes relayed by the kernel when the URL
 * cannot be loaded from this browser (e.g. the kernel runs elsewhere, as on Binder).
 *
 * `requestBytes(index)` must send the request; call `receiveBytes(buffer, mime)` with the
 * answer, or `fail(text)`. `onSettled(result)` is called once with "loaded", "relayed" or
 * "failed".
 */
export class MediaItem {
  constructor({ url, kind, index, disposer, requestBytes, onSettled, fileName }) {
    this.index = index;
    this.kind = mediaKind(url, kind);
    this.disposer = disposer;
    this.requestBytes = requestBytes;
    this.onSettled = onSettled || (() => {});
    this.settled = null;
    this.relaying = false;
    this.blobUrl = null;
    this.url = absoluteUrl(url);
    this.fileName = fileName || `output_${index}`;
    if (this.kind === "video") {
      // controls loop muted playsinline; muted is also set as a property (the attribute
      // only sets defaultMuted) so a browser never plays sound unasked.
      this.element = h("video", { class: "rnb-media", controls: true, loop: true, muted: true,
                                  playsinline: true, preload: "auto" });
      this.element.muted = true;
      disposer.listen(this.element, "loadeddata", () => this.settle("loaded"));
    } else {
      this.element = h("img", { class: "rnb-media", alt: `output ${index + 1}`, loading: "lazy" });
      disposer.listen(this.element, "load", () => this.settle("loaded"));
    }
    disposer.listen(this.element, "error", () => this.onError());
    if (this.url !== null) setUrl(this.element, "src", this.url);
    else this.onError();
  }

  settle(how) {
    if (this.settled !== null) {
      return;
    }
    this.settled = how === "loaded" && this.blobUrl !== null ? "relayed" : how;
    this.onSettled(this.settled);
  }

  onError() {
    if (this.blobUrl !== null) {
      this.settle("failed");
      return;
    }
    if (this.relaying) return;
    this.relaying = true;
    this.element.setAttribute("data-rnb-relay", "pending");
    this.requestBytes(this.index);
  }

  receiveBytes(buffer, mime) {
    const blob = new Blob([buffer], { type: safeMime(mime, this.kind) });
    this.blobUrl = this.disposer.blobUrl(blob);
    this.element.setAttribute("data-rnb-relay", "done");
    setUrl(this.element, "src", this.blobUrl);
  }

  fail(text) {
    this.element.setAttribute("data-rnb-relay", "failed");
    this.element.setAttribute("title", String(text || "could not load this output"));
    this.settle("failed");
  }
}

// ---------------------------------------------------------------------------------------------
// Synced playback (the comparison grid). Added for runway_nb/widgets/_grid.py.

/** Seconds from a video's end where a shorter video holds its last frame. */
const SYNC_END = 0.05;
/** Largest drift (s) tolerated between a video and the group's time before it is corrected. */
const SYNC_DRIFT = 0.2;

function knownDuration(video) {
  const d = video ? video.duration : NaN;
  return typeof d === "number" && isFinite(d) && d > 0 ? d : null;
}

function playQuietly(video) {
  try {
    const p = video.play();
    if (p && typeof p.catch === "function") p.catch(() => {});
  } catch (err) {
    // a browser refusing to play (autoplay policy) is not an error of ours
  }
}

/**
 * Plays several videos as one: play, pause, seek and loop together.
 *
 * The group's time is in seconds and its length is the longest video's. The longest video
 * leads (its currentTime is the group's time); the others follow, corrected when they drift
 * more than SYNC_DRIFT. A shorter video holds its last frame once the group's time passes its
 * end, until the group loops, when all restart together. Members get `loop = false` (the group
 * loops them). `onTick(time, total, playing)` is called on every change and while playing.
 */
export class SyncGroup {
  constructor({ disposer, onTick, tickMs }) {
    this.disposer = disposer;
    this.onTick = onTick || (() => {});
    this.tickMs = tickMs || 100;
    this.members = new Map();
    this.playing = false;
    this.loop = true;
    this.time = 0;
    this.timer = null;
  }

  add(key, video) {
    video.loop = false;
    video.removeAttribute("loop");
    this.members.set(key, video);
    this.disposer.listen(video, "loadedmetadata", () => this.align());
    this.disposer.listen(video, "ended", () => this.tick());
    this.align();
  }

  remove(key) {
    this.members.delete(key);
  }

  get size() {
    return this.members.size;
  }

  total() {
    let total = 0;
    for (const v of this.members.values()) total = Math.max(total, knownDuration(v) || 0);
    return total;
  }

  leader() {
    let best = null;
    let bestDuration = 0;
    for (const v of this.members.values()) {
      const d = knownDuration(v) || 0;
      if (best === null || d > bestDuration) {
        best = v;
        bestDuration = d;
      }
    }
    return best;
  }

  currentTime() {
    const lead = this.leader();
    if (lead !== null && knownDuration(lead) !== null) return Number(lead.currentTime) || 0;
    return this.time;
  }

  target(video, t) {
    const d = knownDuration(video);
    if (d === null) return t;
    return Math.max(0, Math.min(t, d - SYNC_END));
  }

  /** Put every member where the group's time says (after a member loaded, or a seek). */
  align() {
    const t = this.playing ? this.currentTime() : this.time;
    for (const v of this.members.values()) this.follow(v, t, true);
    this.onTick(t, this.total(), this.playing);
  }

  follow(video, t, exact) {
    const d = knownDuration(video);
    if (d === null) return;
    const target = this.target(video, t);
    const past = t >= d - SYNC_END;
    if (exact || Math.abs((Number(video.currentTime) || 0) - target) > SYNC_DRIFT) {
      try {
        video.currentTime = target;
      } catch (err) {
        // not seekable yet: corrected on a later tick
      }
    }
    if (this.playing && !past) {
      if (video.paused) playQuietly(video);
    } else if (!video.paused && typeof video.pause === "function") {
      video.pause();
    }
  }

  play() {
    const total = this.total();
    if (total > 0 && this.currentTime() >= total - SYNC_END) this.time = 0;
    else this.time = this.currentTime();
    this.playing = true;
    for (const v of this.members.values()) this.follow(v, this.time, true);
    if (this.timer === null) this.timer = this.disposer.interval(() => this.tick(), this.tickMs);
    this.onTick(this.time, total, true);
  }

  pause() {
    this.time = this.currentTime();
    this.playing = false;
    if (this.timer !== null) {
      this.disposer.clearInterval(this.timer);
      this.timer = null;
    }
    for (const v of this.members.values()) {
      if (!v.paused && typeof v.pause === "function") v.pause();
    }
    this.onTick(this.time, this.total(), false);
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  seek(t) {
    const total = this.total();
    this.time = Math.max(0, Math.min(Number(t) || 0, total));
    for (const v of this.members.values()) this.follow(v, this.time, true);
    this.onTick(this.time, total, this.playing);
  }

  setLoop(on) {
    this.loop = !!on;
  }

  tick() {
    if (!this.playing) return;
    const lead = this.leader();
    const total = this.total();
    if (lead === null || total <= 0) return;
    const t = Number(lead.currentTime) || 0;
    if (lead.ended || t >= total - SYNC_END / 2) {
      if (this.loop) {
        this.time = 0;
        for (const v of this.members.values()) this.follow(v, 0, true);
        this.onTick(0, total, true);
      } else {
        this.time = total;
        this.pause();
      }
      return;
    }
    for (const v of this.members.values()) {
      if (v !== lead) this.follow(v, t, false);
    }
    if (lead.paused) playQuietly(lead);
    this.onTick(t, total, true);
  }
}
