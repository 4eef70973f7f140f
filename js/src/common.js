// Shared front-end pieces of runway-nb's widgets: safe URLs and elements, showing/hiding,
// status classes, formatting, cleanup (Disposer), one output that falls back to bytes fetched
// through the kernel (MediaItem), an audio output's waveform (waveformSvg) and the
// request/response channel to the kernel (createChannel).
// esbuild bundles this module into each widget's one ES module (anywidget loads `_esm` from a
// Blob URL, where relative imports cannot resolve). No side effects at module load.

/** @typedef {import("@anywidget/types").AnyModel} AnyModel */

const SAFE_DATA = new RegExp("^data:(image/(png|jpeg|jpg|gif|webp|avif|bmp)|video/(mp4|webm|ogg|quicktime)"
  + "|audio/(mpeg|mp3|wav|wave|x-wav|flac|x-flac|ogg|opus|webm|aac|mp4))[;,]", "i");
const SAFE_HTTP = /^https?:\/\/[^\s/?#@]+(@[^\s/?#]+)?([/?#]|$)/i;
const SAFE_BLOB = /^blob:(https?:\/\/[^\s/?#]+|null)\//i;
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;
// Control characters, whitespace and backslashes never appear in a URL we produce.
// eslint-disable-next-line no-control-regex
const BAD_CHARS = /[\u0000-\u0020\u007f-\u009f\u2028\u2029\\]/;

/**
 * The URL if it may be used as a `src` or `href`, otherwise null.
 * Allowed: http(s) URLs with a host; data: URLs of raster images, videos or audio (not SVG);
 * blob: URLs; relative paths (saved files) without a scheme, not starting with "/".
 * @param {unknown} url
 * @returns {string | null}
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
 * @param {unknown} url
 * @returns {string | null}
 */
export function absoluteUrl(url) {
  const safe = safeUrl(url);
  return safe !== null && HAS_SCHEME.test(safe) ? safe : null;
}

/** @typedef {"video" | "image" | "audio"} Kind */

/**
 * "video", "image" or "audio" for an output URL (the Python side also sends the kind).
 * @param {unknown} url
 * @param {unknown} [fallback]
 * @returns {Kind}
 */
export function mediaKind(url, fallback) {
  if (fallback === "video" || fallback === "image" || fallback === "audio") return fallback;
  const path = String(url || "").split(/[?#]/)[0].toLowerCase();
  if (/^data:video\//.test(path) || /\.(mp4|webm|mov|m4v|ogv)$/.test(path)) return "video";
  if (/^data:audio\//.test(path) || /\.(mp3|wav|flac|ogg|oga|opus|m4a|aac)$/.test(path)) return "audio";
  return "image";
}

/**
 * A length in seconds with a tenth: "4.2 s", "2 min 03.5 s" (as the kernel's waveform labels).
 * @param {unknown} seconds
 * @returns {string}
 */
export function formatSeconds(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds) || seconds < 0) return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${(seconds - minutes * 60).toFixed(1).padStart(4, "0")} s`;
}

/**
 * "42 s", "3 min 05 s", "1 h 02 min".
 * @param {unknown} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds) || seconds < 0) return "";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** @param {unknown} v */
const present = (v) => v !== undefined && v !== null && v !== "";

/**
 * The caption's facts on one line: "gen4_turbo · 1280:720 · seed 42 · 5 s · 25 credits".
 * @param {unknown} caption
 * @returns {string}
 */
export function factsLine(caption) {
  const c = asRecord(caption);
  const bits = [];
  if (c.model) bits.push(String(c.model));
  if (c.ratio) bits.push(String(c.ratio));
  if (present(c.seed)) bits.push(`seed ${c.seed}`);
  if (present(c.duration)) bits.push(`${c.duration} s`);
  if (present(c.credits)) bits.push(`${c.credits} credits`);
  return bits.join(" · ");
}

/**
 * `value` if it is a plain object, else an empty one (traits from the kernel are untrusted shapes).
 * @param {unknown} value
 * @returns {Record<string, any>}
 */
export function asRecord(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? /** @type {Record<string, any>} */ (value) : {};
}

/**
 * `value` if it is an array, else an empty one.
 * @param {unknown} value
 * @returns {any[]}
 */
export function asList(value) {
  return Array.isArray(value) ? value : [];
}

/**
 * Reads a trait, with a fallback for undefined/null.
 * @param {AnyModel} model
 * @returns {(name: string, fallback?: any) => any}
 */
export function traitReader(model) {
  return (name, fallback) => {
    const v = model.get(name);
    return v === undefined || v === null ? fallback : v;
  };
}

/** The CSS class suffix of each task status (`rnb-s-<suffix>`); anything else is "unknown". */
export const STATUS_CLASS = Object.freeze({
  PENDING: "pending", THROTTLED: "throttled", RUNNING: "running",
  SUCCEEDED: "succeeded", FAILED: "failed", CANCELLED: "cancelled",
});

/**
 * The badge classes of a status: "rnb-badge rnb-s-running".
 * @param {unknown} status
 * @returns {string}
 */
export function badgeClass(status) {
  const key = String(status);
  const cls = Object.prototype.hasOwnProperty.call(STATUS_CLASS, key)
    ? STATUS_CLASS[/** @type {keyof typeof STATUS_CLASS} */ (key)] : "unknown";
  return `rnb-badge rnb-s-${cls}`;
}

/**
 * Progress in percent for the bar: 100 once SUCCEEDED, else the task's progress (0..1) scaled.
 * @param {string} status
 * @param {unknown} progress
 * @returns {number}
 */
export function progressPercent(status, progress) {
  if (status === "SUCCEEDED") return 100;
  if (typeof progress === "number" && isFinite(progress)) return Math.max(0, Math.min(100, progress * 100));
  return 0;
}

/**
 * Show or hide an element (the `hidden` property and attribute, so CSS and tests agree).
 * @param {HTMLElement} node
 * @param {boolean} visible
 */
export function show(node, visible) {
  node.hidden = !visible;
  if (visible) node.removeAttribute("hidden");
  else node.setAttribute("hidden", "");
}

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * Create an element. Text goes through textContent and attributes through setAttribute,
 * so data is never parsed as HTML. Event handler attributes ("on...") are refused.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {Child | Child[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (/^on/i.test(name)) throw new Error(`refusing event-handler attribute ${name}`);
    if ((name === "src" || name === "href") && safeUrl(String(value)) === null) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  /** @type {Child[]} */
  const list = Array.isArray(children) ? children : [children];
  for (const child of list) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * Set a URL attribute only if safeUrl accepts it; returns whether it was set.
 * @param {Element} node
 * @param {string} name
 * @param {unknown} url
 * @returns {boolean}
 */
export function setUrl(node, name, url) {
  const safe = safeUrl(url);
  if (safe === null) {
    node.removeAttribute(name);
    return false;
  }
  node.setAttribute(name, safe);
  return true;
}

/**
 * Mime types accepted for bytes fetched through the kernel.
 * @param {unknown} mime
 * @param {string} kind
 * @returns {string}
 */
export function safeMime(mime, kind) {
  const m = String(mime || "").toLowerCase().split(";")[0].trim();
  if (/^(image\/(png|jpeg|gif|webp|avif|bmp)|video\/(mp4|webm|ogg|quicktime))$/.test(m)) return m;
  if (/^audio\/(mpeg|mp3|wav|wave|x-wav|flac|x-flac|ogg|opus|webm|aac|mp4)$/.test(m)) return m;
  if (kind === "audio") return "audio/mpeg";
  return kind === "video" ? "video/mp4" : "image/png";
}

// ---------------------------------------------------------------------------------------------
// Waveforms: the kernel decodes an audio output and sends its peaks (the `waveforms` trait of a
// task view, a grid cell's `waveforms`); the bars are drawn here with the geometry of
// runway_nb/notebook/waveform.py, from numbers only (no markup from the kernel is parsed).

const SVG_NS = "http://www.w3.org/2000/svg";
const WAVE_WIDTH = 240;
const WAVE_HEIGHT = 48;

/**
 * The waveform of one audio output, or null when the kernel has not sent it (yet).
 * @param {unknown} waveform  {duration, peaks: number[] (0..1), label}
 * @returns {SVGSVGElement | null}
 */
export function waveformSvg(waveform) {
  const w = asRecord(waveform);
  const peaks = asList(w.peaks).slice(0, 2000).map((p) => {
    const v = Number(p);
    return isFinite(v) ? Math.max(0, Math.min(1, v)) : 0;
  });
  if (peaks.length === 0) return null;
  const label = typeof w.label === "string" && w.label ? w.label : `Waveform, ${formatSeconds(w.duration)}`;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "rnb-waveform");
  svg.setAttribute("viewBox", `0 0 ${WAVE_WIDTH} ${WAVE_HEIGHT}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const title = document.createElementNS(SVG_NS, "title");
  title.textContent = label;
  svg.appendChild(title);
  const step = WAVE_WIDTH / peaks.length;
  const middle = WAVE_HEIGHT / 2;
  const d = peaks.map((p, i) => {
    const height = Math.max(1, p * (WAVE_HEIGHT - 2));
    return `M${(step * i + step / 2).toFixed(1)} ${(middle - height / 2).toFixed(1)}v${height.toFixed(1)}`;
  }).join("");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", d);
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", (1.4 * peaks.length / 120).toFixed(2));
  path.setAttribute("fill", "none");
  svg.appendChild(path);
  return svg;
}

/**
 * The duration line under an audio player: "4.2 s" ("" until the kernel sent the waveform).
 * @param {unknown} waveform
 * @returns {string}
 */
export function waveformDuration(waveform) {
  return formatSeconds(asRecord(waveform).duration);
}

/** @typedef {(...args: any[]) => void} Listener */

/**
 * Tracks what a view must undo when it is removed: timers, blob URLs, listeners.
 * (Iterate the collections themselves: Object.entries on a Map yields nothing.)
 */
export class Disposer {
  constructor() {
    /** @type {Set<ReturnType<typeof setInterval>>} */
    this.intervals = new Set();
    /** @type {Set<ReturnType<typeof setTimeout>>} */
    this.timeouts = new Set();
    /** @type {Set<string>} */
    this.blobUrls = new Set();
    /** @type {Array<() => void>} */
    this.undo = [];
    this.disposed = false;
  }

  /**
   * @param {() => void} fn
   * @param {number} ms
   */
  interval(fn, ms) {
    const id = setInterval(fn, ms);
    this.intervals.add(id);
    return id;
  }

  /**
   * @param {() => void} fn
   * @param {number} ms
   */
  timeout(fn, ms) {
    const id = setTimeout(() => {
      this.timeouts.delete(id);
      fn();
    }, ms);
    this.timeouts.add(id);
    return id;
  }

  /** @param {ReturnType<typeof setTimeout>} id */
  clearTimeout(id) {
    clearTimeout(id);
    this.timeouts.delete(id);
  }

  /** @param {ReturnType<typeof setInterval>} id */
  clearInterval(id) {
    clearInterval(id);
    this.intervals.delete(id);
  }

  /** @param {Blob} blob */
  blobUrl(blob) {
    const url = URL.createObjectURL(blob);
    this.blobUrls.add(url);
    return url;
  }

  /**
   * @param {EventTarget} target
   * @param {string} event
   * @param {Listener} fn
   */
  listen(target, event, fn) {
    target.addEventListener(event, fn);
    this.undo.push(() => target.removeEventListener(event, fn));
  }

  /**
   * @param {AnyModel} model
   * @param {string} event
   * @param {Listener} fn
   */
  modelOn(model, event, fn) {
    model.on(event, fn);
    this.undo.push(() => model.off(event, fn));
  }

  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    for (const id of this.intervals) clearInterval(id);
    for (const id of this.timeouts) clearTimeout(id);
    for (const url of this.blobUrls) URL.revokeObjectURL(url);
    for (const fn of this.undo) fn();
    this.intervals.clear();
    this.timeouts.clear();
    this.blobUrls.clear();
    this.undo.length = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// The channel: requests {kind: "rnb:call", id, method, args} (+ buffers) answered by the kernel
// with {kind: "rnb:reply", id, ok, result | error} (+ buffers). A notification has id null and
// gets no answer. Status never travels here: it lives in synced traits.

export const CALL = "rnb:call";
export const REPLY = "rnb:reply";
/** Milliseconds the kernel has to answer a request. */
export const CALL_TIMEOUT_MS = 30_000;

/** @typedef {{ result: Record<string, any>, buffers: DataView<ArrayBuffer>[] }} Answer */

/** A request the kernel did not answer in time, or answered with an error. */
export class CallError extends Error {
  /**
   * @param {string} message
   * @param {boolean} timedOut
   */
  constructor(message, timedOut) {
    super(message);
    this.name = "CallError";
    this.timedOut = timedOut;
  }
}

/**
 * @typedef {object} Channel
 * @property {(method: string, args?: Record<string, unknown>, buffers?: ArrayBuffer[]) => Promise<Answer>} invoke
 *   Send a request; resolves with the kernel's answer, rejects with a CallError.
 * @property {(method: string, args?: Record<string, unknown>, buffers?: ArrayBuffer[]) => Promise<boolean>} act
 *   invoke() for a button: never rejects; an error answer is shown like a timeout. Resolves to
 *   whether the kernel did it.
 * @property {(method: string, args?: Record<string, unknown>) => void} notify
 *   Send a notification (no answer).
 */

/**
 * The request/response channel of one view. `onProblem(text)` shows a problem of the channel:
 * the kernel did not answer within `timeoutMs` (the pending request then rejects), or an
 * action failed; `onProblem("")` clears it once the kernel answers again. Answers arriving
 * after the view was removed are ignored.
 * @param {AnyModel} model
 * @param {Disposer} disposer
 * @param {{ timeoutMs?: number, onProblem?: (text: string) => void }} [options]
 * @returns {Channel}
 */
export function createChannel(model, disposer, options) {
  const timeoutMs = options?.timeoutMs ?? CALL_TIMEOUT_MS;
  const onProblem = options?.onProblem ?? (() => {});
  /** @type {Map<number, { resolve: (a: Answer) => void, reject: (e: CallError) => void, timer: ReturnType<typeof setTimeout> }>} */
  const pending = new Map();
  let next = 1;
  let troubled = false;

  /** @param {string} text */
  const problem = (text) => {
    troubled = text.length > 0;
    onProblem(text);
  };

  disposer.modelOn(model, "msg:custom", (/** @type {unknown} */ msg, /** @type {DataView<ArrayBuffer>[] | undefined} */ buffers) => {
    const reply = asRecord(msg);
    if (reply.kind !== REPLY || typeof reply.id !== "number") return;
    const call = pending.get(reply.id);
    if (call === undefined) return;
    pending.delete(reply.id);
    disposer.clearTimeout(call.timer);
    if (troubled) problem("");
    if (reply.ok === true) call.resolve({ result: asRecord(reply.result), buffers: buffers ?? [] });
    else call.reject(new CallError(String(reply.error || "the kernel could not do this"), false));
  });
  disposer.undo.push(() => pending.clear());

  /** @type {Channel["invoke"]} */
  const invoke = (method, args, buffers) => {
    const id = next++;
    return new Promise((resolve, reject) => {
      const timer = disposer.timeout(() => {
        if (!pending.delete(id)) return;
        const text = `The kernel did not answer (${method}) within ${Math.round(timeoutMs / 1000)} s: `
          + "it may be busy running a cell, or stopped.";
        problem(text);
        reject(new CallError(text, true));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
      model.send({ kind: CALL, id, method, args: args ?? {} }, undefined, buffers);
    });
  };

  return {
    invoke,
    act(method, args, buffers) {
      return invoke(method, args, buffers).then(() => true, (/** @type {unknown} */ err) => {
        if (err instanceof CallError && !err.timedOut && !disposer.disposed) problem(err.message);
        return false;
      });
    },
    notify(method, args) {
      model.send({ kind: CALL, id: null, method, args: args ?? {} });
    },
  };
}

/**
 * A box for problems of the channel itself (the kernel did not answer): hidden until set.
 * @returns {{ el: HTMLDivElement, set: (text: string) => void }}
 */
export function problemBox() {
  const el = h("div", { class: "rnb-error rnb-problem", role: "alert" });
  show(el, false);
  return {
    el,
    set(text) {
      el.textContent = text;
      show(el, text.length > 0);
    },
  };
}

/**
 * How every widget's render starts: a disposer, a trait reader, the channel to the kernel with
 * its problem box, and the widget's skeleton (built around that box) placed in `el`.
 * @template {{ root: HTMLElement }} U
 * @param {AnyModel} model
 * @param {HTMLElement} el
 * @param {(problem: HTMLElement) => U} build
 * @returns {{ d: Disposer, read: (name: string, fallback?: any) => any, channel: Channel, ui: U }}
 */
export function mount(model, el, build) {
  const d = new Disposer();
  const read = traitReader(model);
  const problem = problemBox();
  const channel = createChannel(model, d, { onProblem: problem.set });
  const ui = build(problem.el);
  el.appendChild(ui.root);
  return { d, read, channel, ui };
}

// ---------------------------------------------------------------------------------------------

/** @typedef {"loaded" | "relayed" | "failed"} Settled */

/**
 * One output (video, image or audio) that falls back to bytes fetched through the kernel when the URL
 * cannot be loaded from this browser (e.g. the kernel runs elsewhere, as on Binder).
 *
 * `fetchBytes(index)` asks the kernel (through the channel) for the output's bytes.
 * `onSettled(result)` is called once with "loaded", "relayed" or "failed".
 */
export class MediaItem {
  /**
   * @param {{ url: unknown, kind: unknown, index: number, disposer: Disposer,
   *           fetchBytes: (index: number) => Promise<Answer>, onSettled?: (how: Settled) => void,
   *           fileName?: string }} options
   */
  constructor({ url, kind, index, disposer, fetchBytes, onSettled, fileName }) {
    this.index = index;
    this.kind = mediaKind(url, kind);
    this.disposer = disposer;
    this.fetchBytes = fetchBytes;
    this.onSettled = onSettled || (() => {});
    /** @type {Settled | null} */
    this.settled = null;
    this.relaying = false;
    /** @type {string | null} */
    this.blobUrl = null;
    this.url = absoluteUrl(url);
    this.fileName = fileName || `output_${index}`;
    /** @type {HTMLVideoElement | HTMLAudioElement | HTMLImageElement} */
    this.element = this.kind === "video" ? this.makeVideo() : this.kind === "audio" ? this.makeAudio()
      : this.makeImage();
    disposer.listen(this.element, "error", () => this.onError());
    if (this.url !== null) setUrl(this.element, "src", this.url);
    else this.onError();
  }

  makeVideo() {
    // controls loop muted playsinline; muted is also set as a property (the attribute only
    // sets defaultMuted) so a browser never plays sound unasked.
    const video = h("video", { class: "rnb-media", controls: true, loop: true, muted: true,
                               playsinline: true, preload: "auto" });
    video.muted = true;
    this.disposer.listen(video, "loadeddata", () => this.settle("loaded"));
    return video;
  }

  makeAudio() {
    // never muted; "loadedmetadata" is enough to know this browser can play it (a player with
    // preload may stop there until the user presses play)
    const audio = h("audio", { class: "rnb-media rnb-audio", controls: true, preload: "auto",
                               "aria-label": `output ${this.index + 1} (audio)` });
    this.disposer.listen(audio, "loadedmetadata", () => this.settle("loaded"));
    return audio;
  }

  makeImage() {
    const img = h("img", { class: "rnb-media", alt: `output ${this.index + 1}`, loading: "lazy" });
    this.disposer.listen(img, "load", () => this.settle("loaded"));
    return img;
  }

  /** @param {Settled} how */
  settle(how) {
    if (this.settled !== null) return;
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
    this.fetchBytes(this.index).then(
      ({ result, buffers }) => {
        if (this.disposer.disposed) return;
        if (buffers.length > 0) this.receiveBytes(buffers[0], result.mime);
        else this.fail("the kernel sent no bytes");
      },
      (/** @type {unknown} */ err) => {
        if (!this.disposer.disposed) this.fail(err instanceof Error ? err.message : String(err));
      },
    );
  }

  /**
   * @param {DataView<ArrayBuffer> | ArrayBuffer} buffer
   * @param {unknown} mime
   */
  receiveBytes(buffer, mime) {
    const blob = new Blob([buffer], { type: safeMime(mime, this.kind) });
    this.blobUrl = this.disposer.blobUrl(blob);
    this.element.setAttribute("data-rnb-relay", "done");
    setUrl(this.element, "src", this.blobUrl);
  }

  /** @param {unknown} text */
  fail(text) {
    this.element.setAttribute("data-rnb-relay", "failed");
    this.element.setAttribute("title", String(text || "could not load this output"));
    this.settle("failed");
  }
}
