// Comparison grid front end: the tasks of a sweep side by side. State arrives in synced traits
// (see runway_nb/notebook/widgets/_grid.py): title, fixed, row_title/col_title, row_labels/
// col_labels, columns, wrap, max_height, cells (one dict per task, in submission order), summary,
// error, finished. The channel (createChannel in common.js) carries requests, view -> kernel:
//   notify "view", notify "media_status" {results}; invoke "cancel" {cell}, "cancel_all", "retry";
//   invoke "media" {cell, index} -> {mime} + the output's bytes.
// Saving keeps the final static grid (published beside this view once every task ended): no button.
// Each cell is a box of its output's true shape (aspect-ratio from the pixel size) holding a
// mini task view (status, progress, note, failure) that becomes the player. Videos and audio play
// in sync (SyncGroup): one transport plays, pauses, scrubs and loops them together. An audio cell
// shows its waveform (peaks decoded by the kernel: the cell's `waveforms`) and its duration.
// Everything is built with textContent/setAttribute (h() in common.js); URLs pass safeUrl().
import {
  Disposer, MediaItem, asList, asRecord, badgeClass, factsLine, h, mediaKind, mount, progressPercent, setUrl,
  formatDuration, show, waveformDuration, waveformSvg,
} from "./common.js";
import { SyncGroup } from "./sync_group.js";

/** @typedef {import("./common.js").Channel} Channel */
/** @typedef {(name: string, fallback?: any) => any} Read */
/** @typedef {Record<string, any>} Cell */
/** @typedef {ReturnType<typeof skeleton>} Parts */
/**
 * @typedef {object} CellView
 * @property {number} index
 * @property {HTMLDivElement} el
 * @property {HTMLDivElement} box  the frame and its cancel button, as wide as the frame
 * @property {HTMLDivElement} frame
 * @property {HTMLSpanElement} badge
 * @property {HTMLSpanElement} label
 * @property {HTMLDivElement} meta
 * @property {HTMLButtonElement} cancel
 * @property {HTMLDivElement} fill
 * @property {HTMLDivElement} bar
 * @property {HTMLDivElement} pstatus
 * @property {HTMLDivElement} note
 * @property {HTMLDivElement} failure
 * @property {HTMLDivElement} placeholder
 * @property {HTMLDivElement} media
 * @property {MediaItem[]} items
 * @property {string | null} outputsKey
 * @property {HTMLDivElement | null} wave  the audio output's waveform and duration
 * @property {string | null} waveKey
 * @property {number} row
 * @property {number} col
 * @property {Cell} cell
 * @property {string | null} announced  the status last announced (null: not yet seen)
 */
/**
 * @typedef {object} Ctx  what the parts of one grid view share
 * @property {Read} read
 * @property {Disposer} d
 * @property {Channel} channel
 * @property {Parts} ui
 * @property {SyncGroup} group
 * @property {Map<number, CellView>} views
 */

const STATUS_TEXT = /** @type {Record<string, string>} */ ({ THROTTLED: "QUEUED" });
/** How a status change is announced ("gen4.5, 720:1280 succeeded"); "" says nothing. */
const STATUS_WORDS = /** @type {Record<string, string>} */ ({
  PENDING: "", THROTTLED: "queued", RUNNING: "running", SUCCEEDED: "succeeded", FAILED: "failed",
  CANCELLED: "cancelled",
});

/**
 * What tells a cell from the others ("gen4_turbo, 1280:720"): its buttons' and announcements' name.
 * @param {Cell} c
 */
const cellName = (c) => String(c.name || c.label || `task ${Number(c.index) + 1}`);

/** @param {unknown} status */
const statusText = (status) => STATUS_TEXT[String(status)] || String(status || "");

/**
 * @param {unknown} n
 * @param {number} fallback
 */
function positive(n, fallback) {
  const v = Number(n);
  return isFinite(v) && v > 0 ? v : fallback;
}

/**
 * Size a box to the true shape `w:h`, at most `maxH` pixels tall and the column's width.
 * @param {HTMLElement} node
 * @param {unknown} w
 * @param {unknown} hgt
 * @param {number} maxH
 */
function shapeBox(node, w, hgt, maxH) {
  const width = positive(w, 16);
  const height = positive(hgt, 9);
  node.style.aspectRatio = `${width} / ${height}`;
  node.style.width = `min(100%, ${((maxH * width) / height).toFixed(1)}px)`;
  node.setAttribute("data-shape", `${width}x${height}`);
}

/**
 * The summary line's parts: [text, kind].
 * @param {unknown} summary
 * @param {boolean} finished
 * @returns {Array<[string, string]>}
 */
function summaryParts(summary, finished) {
  const s = asRecord(summary);
  /** @type {Array<[string, string]>} */
  const parts = [];
  /** @param {string} k */
  const n = (k) => Number(s[k] || 0);
  parts.push([`${n("total")} task${n("total") === 1 ? "" : "s"}`, "total"]);
  parts.push([`${n("done")} done`, "done"]);
  if (n("failed")) parts.push([`${n("failed")} failed`, "failed"]);
  if (!finished || n("running")) parts.push([`${n("running")} running`, "running"]);
  let queued = `${n("queued")} queued`;
  if (n("throttled")) queued += ` (${n("throttled")} waiting for a concurrency slot)`;
  if (!finished || n("queued")) parts.push([queued, "queued"]);
  if (n("cancelled")) parts.push([`${n("cancelled")} cancelled`, "cancelled"]);
  if (s.credits !== null && s.credits !== undefined) {
    parts.push([`${s.estimated ? "~" : ""}${s.credits} credits`, "credits"]);
  }
  return parts;
}

let dialogs = 0;

/** @param {HTMLElement} problem */
function skeleton(problem) {
  const title = h("span", { class: "rnb-g-title" });
  const fixed = h("span", { class: "rnb-g-fixed" });
  const summary = h("div", { class: "rnb-g-summary" });
  // Status changes are announced here once each ("gen4.5, 720:1280 succeeded"), not per progress tick.
  const announcer = h("div", { class: "rnb-sr-only rnb-g-announce", role: "status", "aria-live": "polite" });
  const cancelAll = h("button", { class: "rnb-btn rnb-g-cancel-all", type: "button",
                                  title: "Cancel every unfinished task of this sweep" }, "Cancel all");
  const playBtn = h("button", { class: "rnb-btn rnb-g-play", type: "button", "aria-pressed": "false" });
  showPlayState(playBtn, false);
  const scrub = h("input", { class: "rnb-g-scrub", type: "range", min: "0", max: "1000", step: "1", value: "0",
                             "aria-label": "Position of every player" });
  const clock = h("span", { class: "rnb-g-time" });
  const loopBox = h("input", { class: "rnb-g-loop", type: "checkbox", checked: true });
  loopBox.checked = true;
  const transport = h("div", { class: "rnb-g-transport" }, [
    playBtn, scrub, clock, h("label", { class: "rnb-g-looplabel" }, [loopBox, " Loop"]),
  ]);
  const errorText = h("span", { class: "rnb-g-error-text" });
  const retryBtn = h("button", { class: "rnb-btn rnb-retry", type: "button", title: "Resume watching" }, "Retry");
  const error = h("div", { class: "rnb-error rnb-g-error", role: "alert" }, [errorText, " ", retryBtn]);
  const focusTitle = `rnb-g-focus-title-${++dialogs}`;
  // A modal dialog over the grid (placed absolutely: opening it moves nothing on the page).
  const focus = h("div", { class: "rnb-g-focus", role: "dialog", "aria-modal": "true", "aria-labelledby": focusTitle,
                           tabindex: "-1" });
  const table = h("div", { class: "rnb-g-table" });
  const root = h("div", { class: "rnb-grid" }, [
    h("div", { class: "rnb-g-head" }, [title, fixed]),
    h("div", { class: "rnb-g-bar" }, [summary, cancelAll]),
    transport, error, problem, focus, table, announcer,
  ]);
  show(focus, false);
  return { root, title, fixed, summary, announcer, cancelAll, playBtn, scrub, clock, loopBox, transport, errorText,
           retryBtn, error, focus, focusTitle, table };
}

// ------------------------------------------------------------------ header, summary, errors
/**
 * @param {Parts} ui
 * @param {Read} read
 */
function renderHead(ui, read) {
  ui.title.textContent = String(read("title", ""));
  const bits = [];
  for (const pair of asList(read("fixed", []))) {
    if (!Array.isArray(pair) || pair.length < 2) continue;
    const [name, text] = [String(pair[0]), String(pair[1])];
    bits.push(name === "prompt" ? `“${text}”` : `${name} ${text}`);
  }
  ui.fixed.textContent = bits.join(" · ");
  show(ui.fixed, bits.length > 0);
}

/**
 * @param {Parts} ui
 * @param {Read} read
 */
function renderSummary(ui, read) {
  const s = asRecord(read("summary", {}));
  const finished = !!read("finished", false);
  ui.summary.textContent = "";
  summaryParts(s, finished).forEach(([text, kind], i) => {
    if (i > 0) ui.summary.appendChild(document.createTextNode(" · "));
    ui.summary.appendChild(h("span", { class: `rnb-g-n rnb-g-n-${kind}` }, text));
  });
  const open = Number(s.total || 0) - Number(s.done || 0) - Number(s.failed || 0) - Number(s.cancelled || 0);
  show(ui.cancelAll, !finished && open > 0);
  ui.root.setAttribute("data-finished", finished ? "true" : "false");
  const err = String(read("error", ""));
  ui.errorText.textContent = err;
  show(ui.error, err.length > 0);
  show(ui.retryBtn, err.length > 0 && !finished);
}

// ------------------------------------------------------------------ layout
/** The row headers' narrowest width (px): they shrink and wrap before the pictures do. */
const ROW_HEAD_MIN = 96;
/** The row headers' widest (px). */
const ROW_HEAD_MAX = 240;
const GAP = 10;

/**
 * One header: a line per option, its name then its value (the full text as the tooltip).
 * @param {string} cls
 * @param {unknown} label  the header's text (used when no lines came)
 * @param {unknown} lines  [[name, value], ...]
 */
function headerNode(cls, label, lines) {
  const pairs = asList(lines).filter((p) => Array.isArray(p) && p.length >= 2);
  if (pairs.length === 0) return h("div", { class: cls, title: String(label) }, String(label));
  const full = pairs.map(([name, value]) => `${name} ${value}`).join("\n");
  return h("div", { class: cls, title: full }, pairs.map(([name, value]) => h("div", { class: "rnb-g-hline" }, [
    h("span", { class: "rnb-g-axis" }, String(name)), " ", h("span", { class: "rnb-g-val" }, String(value)),
  ])));
}

/**
 * Each column as wide as its widest picture at the grid's height (a portrait column is narrow):
 * `[maxWidthPx, ...]`, one per column.
 * @param {unknown[]} cells
 * @param {number} columns
 * @param {number} maxH
 */
function columnWidths(cells, columns, maxH) {
  const widths = new Array(columns).fill(0);
  for (const raw of cells) {
    const c = asRecord(raw);
    const col = Number(c.col) || 0;
    if (col < 0 || col >= columns) continue;
    const natural = (maxH * positive(c.width, 16)) / positive(c.height, 9);
    widths[col] = Math.max(widths[col], natural);
  }
  return widths.map((w) => Math.round(w || (maxH * 16) / 9));
}

/**
 * Row/column headers and where each cell sits in the CSS grid.
 * @param {Ctx} ctx
 */
function createLayout(ctx) {
  const { read, ui } = ctx;
  /** @type {string | null} */
  let key = null;
  /** @type {HTMLElement[]} */
  const heads = [];

  /**
   * @param {HTMLElement} node
   * @param {number} row
   * @param {number} col
   */
  const place = (node, row, col) => {
    node.style.gridRow = String(row + (asList(read("col_labels", [])).length > 0 ? 1 : 0) + 1);
    node.style.gridColumn = String(col + (asList(read("row_labels", [])).length > 0 ? 1 : 0) + 1);
  };

  /**
   * @param {HTMLElement} node
   * @param {number} row
   * @param {number} col
   */
  const head = (node, row, col) => {
    node.style.gridRow = String(row);
    node.style.gridColumn = String(col);
    heads.push(node);
  };

  const update = () => {
    const rowLabels = asList(read("row_labels", []));
    const colLabels = asList(read("col_labels", []));
    const rowLines = asList(read("row_lines", []));
    const colLines = asList(read("col_lines", []));
    const columns = Math.max(1, Number(read("columns", 1)) || 1);
    const maxH = positive(read("max_height", 320), 320);
    const widths = columnWidths(asList(read("cells", [])), columns, maxH);
    const next = JSON.stringify([rowLabels, colLabels, rowLines, colLines, columns, widths,
      !!read("wrap", false)]);
    if (next === key) return;
    key = next;
    for (const node of heads) node.remove();
    heads.length = 0;
    // Columns take their pictures' widths and shrink together; the row headers get what is left
    // (1fr), down to ROW_HEAD_MIN, so at a narrow width the labels wrap before the pictures shrink.
    ui.table.style.gridTemplateColumns = `${rowLabels.length ? `minmax(${ROW_HEAD_MIN}px, 1fr) ` : ""}`
      + widths.map((w) => `minmax(0, ${w}px)`).join(" ");
    const total = widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1)
      + (rowLabels.length ? ROW_HEAD_MAX + GAP : 0);
    ui.table.style.maxWidth = `${total}px`;
    ui.root.setAttribute("data-wrap", read("wrap", false) ? "true" : "false");
    colLabels.forEach((label, c) => head(headerNode("rnb-g-colhead", label, colLines[c]), 1,
      c + (rowLabels.length ? 2 : 1)));
    rowLabels.forEach((label, r) => head(headerNode("rnb-g-rowhead", label, rowLines[r]),
      r + (colLabels.length ? 2 : 1), 1));
    for (const node of heads) ui.table.appendChild(node);
    for (const view of ctx.views.values()) place(view.el, view.row, view.col);
  };
  return { update, place };
}

// ------------------------------------------------------------------ cells
/**
 * @param {Ctx} ctx
 * @param {Cell} c
 * @param {(index: number) => void} onOpen
 * @returns {CellView}
 */
function makeCell(ctx, c, onOpen) {
  const { d, channel } = ctx;
  const index = Number(c.index);
  const badge = h("span", { class: "rnb-badge" });
  const label = h("span", { class: "rnb-g-label" });
  const cancel = h("button", { class: "rnb-btn rnb-g-x", type: "button" }, "×");
  const fill = h("div", { class: "rnb-fill" });
  const bar = h("div", { class: "rnb-bar", role: "progressbar", "aria-label": "Progress", "aria-valuemin": "0", "aria-valuemax": "100" }, fill);
  const pstatus = h("div", { class: "rnb-g-pstatus" });
  const note = h("div", { class: "rnb-g-note" });
  const failure = h("div", { class: "rnb-g-failure" });
  const placeholder = h("div", { class: "rnb-g-placeholder" }, [pstatus, bar, note, failure]);
  const media = h("div", { class: "rnb-g-media" });
  const frame = h("div", { class: "rnb-g-frame", role: "button", tabindex: "0" }, [placeholder, media]);
  // The cancel × sits on the frame's top-right corner: a sibling of the frame (a button inside
  // a button is not allowed), in a box exactly as wide as the frame.
  const box = h("div", { class: "rnb-g-box" }, [frame, cancel]);
  const meta = h("div", { class: "rnb-g-meta" }, [badge, label]);
  const el = h("div", { class: "rnb-g-cell", "data-index": String(index) }, [box, meta]);
  d.listen(cancel, "click", (/** @type {Event | undefined} */ ev) => {
    if (ev && typeof ev.stopPropagation === "function") ev.stopPropagation();
    cancel.disabled = true;
    channel.act("cancel", { cell: index });
  });
  d.listen(frame, "click", () => onOpen(index));
  d.listen(frame, "keydown", (/** @type {KeyboardEvent | undefined} */ ev) => {
    if (ev && (ev.key === "Enter" || ev.key === " ")) {
      if (typeof ev.preventDefault === "function") ev.preventDefault();  // (Space would scroll the page)
      if (typeof ev.stopPropagation === "function") ev.stopPropagation();  // (nor is Enter JupyterLab's edit mode)
      onOpen(index);
    }
  });
  ctx.ui.table.appendChild(el);
  return { index, el, box, frame, badge, label, meta, cancel, fill, bar, pstatus, note, failure, placeholder, media,
           items: [], outputsKey: null, wave: null, waveKey: null, row: 0, col: 0, cell: c, announced: null };
}

/**
 * The cell's status, progress, note and failure (its placeholder until an output shows).
 * @param {CellView} view
 * @param {Cell} c
 * @param {string} status
 */
function renderCellStatus(view, c, status) {
  view.el.setAttribute("data-status", status);
  view.badge.className = badgeClass(status);
  view.badge.textContent = statusText(status);
  const finished = !!c.finished;
  // The status shows once: in the placeholder while there is no picture, else as a badge unless it succeeded.
  show(view.badge, asList(c.outputs).length > 0 && status !== "SUCCEEDED");
  show(view.cancel, !finished);
  view.cancel.disabled = !!c.cancelling;
  const pct = progressPercent(status, c.progress);
  view.fill.style.width = `${pct.toFixed(1)}%`;
  view.bar.setAttribute("aria-valuenow", pct.toFixed(0));
  view.bar.setAttribute("data-indeterminate", status === "PENDING" || status === "THROTTLED" ? "true" : "false");
  show(view.bar, !finished);
  const left = typeof c.eta === "number" && isFinite(c.eta) ? ` · ≈ ${formatDuration(c.eta)} left` : "";
  view.pstatus.textContent = status === "RUNNING" && pct > 0 ? `${status} ${pct.toFixed(0)}%${left}` : statusText(status);
  view.note.textContent = String(c.note || "");
  show(view.note, !!c.note);
  view.failure.textContent = "";
  if (status === "FAILED") {
    if (c.failure_code) view.failure.appendChild(h("code", { class: "rnb-code" }, String(c.failure_code)));
    view.failure.appendChild(document.createTextNode(String(c.failure || "The task failed.")));
    if (c.hint) view.failure.appendChild(h("div", { class: "rnb-hint" }, String(c.hint)));
  }
  show(view.failure, status === "FAILED");
}

/**
 * The cell's player: its first output fills the cell (the focus view shows all); videos and
 * audio join the group (the transport plays them; an audio cell shows its waveform).
 * @param {Ctx} ctx
 * @param {CellView} view
 * @param {Cell} c
 * @param {() => void} onSettled
 */
function renderCellMedia(ctx, view, c, onSettled) {
  const urls = asList(c.outputs);
  const kinds = asList(c.kinds);
  const key = JSON.stringify([urls, kinds]);
  if (key !== view.outputsKey) {
    view.outputsKey = key;
    for (let i = 0; i < view.items.length; i++) ctx.group.remove(`${view.index}:${i}`);
    view.media.textContent = "";
    view.items = [];
    view.wave = null;
    view.waveKey = null;
    urls.slice(0, 1).forEach((url, i) => {
      const kind = mediaKind(url, kinds[i]);
      const item = new MediaItem({
        url, kind, index: i, disposer: ctx.d, onSettled,
        fetchBytes: (k) => ctx.channel.invoke("media", { cell: view.index, index: k }),
      });
      if (kind === "video" || kind === "audio") {
        const media = /** @type {HTMLMediaElement} */ (item.element);
        media.controls = false;
        media.removeAttribute("controls");
        ctx.group.add(`${view.index}:${i}`, media);
      }
      view.items.push(item);
      view.media.appendChild(item.element);
      if (kind === "audio") {
        view.wave = h("div", { class: "rnb-g-wave" });
        view.media.appendChild(view.wave);
      }
    });
    view.el.setAttribute("data-outputs", String(urls.length));
    show(view.placeholder, urls.length === 0);
  }
  renderCellWave(view, c);
}

/**
 * An audio cell's waveform and duration, once the kernel sent them.
 * @param {CellView} view
 * @param {Cell} c
 */
function renderCellWave(view, c) {
  if (view.wave === null) return;
  const waveform = asList(c.waveforms)[0];
  const key = JSON.stringify(waveform ?? null);
  if (key === view.waveKey) return;
  view.waveKey = key;
  view.wave.textContent = "";
  const svg = waveformSvg(waveform);
  if (svg !== null) view.wave.appendChild(svg);
  const length = waveformDuration(waveform);
  view.wave.appendChild(h("span", { class: "rnb-g-duration" }, length || "audio"));
}

// ------------------------------------------------------------------ enlarge
/**
 * One output (or the cell's state) enlarged, with its caption; one at a time.
 * @param {Ctx} ctx
 */
function createFocus(ctx) {
  const { ui, d, group } = ctx;
  /** @type {number | null} */
  let focused = null;
  /** @type {string | null} */
  let key = null;

  /** @type {HTMLElement | null} */
  let closeBtn = null;

  /** @param {HTMLElement | null | undefined} node */
  const focusOn = (node) => {
    if (node && typeof node.focus === "function") node.focus();
  };

  const close = () => {
    const opener = focused === null ? undefined : ctx.views.get(focused);
    focused = null;
    key = null;
    closeBtn = null;
    ui.focus.textContent = "";
    show(ui.focus, false);
    focusOn(opener ? opener.frame : null);  // back to the cell that opened it
  };

  // Tab stays in the dialog while it is open (it is modal).
  d.listen(ui.focus, "keydown", (/** @type {KeyboardEvent | undefined} */ ev) => {
    if (!ev || ev.key !== "Tab" || typeof ui.focus.querySelectorAll !== "function") return;
    const stops = [...ui.focus.querySelectorAll("button, video[controls], audio[controls], a[href], input")]
      .filter((n) => !(/** @type {HTMLElement} */ (n).hidden));
    if (stops.length === 0) return;
    const first = /** @type {HTMLElement} */ (stops[0]);
    const last = /** @type {HTMLElement} */ (stops[stops.length - 1]);
    const active = document.activeElement;
    if (ev.shiftKey && (active === first || active === ui.focus)) {
      ev.preventDefault();
      focusOn(last);
    } else if (!ev.shiftKey && active === last) {
      ev.preventDefault();
      focusOn(first);
    }
  });

  /**
   * @param {Cell} c
   * @param {unknown} url
   * @param {number} i
   * @param {MediaItem | undefined} own
   */
  const player = (c, url, i, own) => {
    const frame = h("div", { class: "rnb-g-focus-frame" });
    shapeBox(frame, c.width, c.height, 560);
    const src = own && own.blobUrl ? own.blobUrl : url;
    const kind = mediaKind(url, asList(c.kinds)[i]);
    if (kind === "audio") {
      const box = h("div", { class: "rnb-g-focus-audio" });
      const svg = waveformSvg(asList(c.waveforms)[i]);
      const audio = h("audio", { class: "rnb-media rnb-audio", controls: true, preload: "auto",
                                 "aria-label": `output ${i + 1} (audio)` });
      setUrl(audio, "src", src);
      const length = waveformDuration(asList(c.waveforms)[i]);
      box.appendChild(h("div", { class: "rnb-g-focus-wave" }, [svg, length ? h("span", {}, length) : null]));
      box.appendChild(audio);
      return box;
    }
    /** @type {HTMLVideoElement | HTMLImageElement} */
    let node;
    if (kind === "video") {
      const video = h("video", { class: "rnb-media", controls: true, loop: true, muted: true, playsinline: true,
                                 preload: "auto" });
      video.muted = true;
      const start = group.currentTime();
      d.listen(video, "loadedmetadata", () => {
        try {
          video.currentTime = Math.min(start, Math.max(0, (Number(video.duration) || 0) - 0.05));
        } catch (err) {
          // not seekable: it starts at 0
        }
      });
      node = video;
    } else {
      node = h("img", { class: "rnb-media", alt: `output ${i + 1}` });
    }
    setUrl(node, "src", src);
    frame.appendChild(node);
    return frame;
  };

  /** @param {Cell} c */
  const stateBox = (c) => {
    const box = h("div", { class: "rnb-g-focus-frame rnb-g-focus-empty" }, [
      h("div", {}, String(c.status || "")),
      h("div", {}, String(c.note || "")),
      h("div", { class: "rnb-g-failure" }, [c.failure_code ? `${c.failure_code}: ` : "", String(c.failure || "")]),
      h("div", { class: "rnb-hint" }, String(c.hint || "")),
    ]);
    shapeBox(box, c.width, c.height, 360);
    return box;
  };

  const render = () => {
    const view = focused === null ? undefined : ctx.views.get(focused);
    if (!view) return close();
    const c = view.cell;
    const next = JSON.stringify([c.status, c.outputs, c.failure, c.note, c.progress, c.waveforms]);
    if (next === key) return;
    const hadFocus = key === null || (typeof ui.focus.contains === "function" && ui.focus.contains(document.activeElement));
    key = next;
    ui.focus.textContent = "";
    closeBtn = h("button", { class: "rnb-btn rnb-g-close", type: "button", title: "Close (Esc)" }, "Close");
    d.listen(closeBtn, "click", close);
    const cap = asRecord(c.caption);
    const urls = asList(c.outputs);
    const body = h("div", { class: "rnb-g-focus-media" },
      urls.length ? urls.map((url, i) => player(c, url, i, view.items[i])) : [stateBox(c)]);
    ui.focus.appendChild(h("div", { class: "rnb-g-focus-head" }, [
      h("span", { class: badgeClass(c.status) }, statusText(c.status)),
      h("span", { class: "rnb-g-focus-label", id: ui.focusTitle }, cellName(c)),
      closeBtn,
    ]));
    ui.focus.appendChild(body);
    ui.focus.appendChild(h("div", { class: "rnb-caption" }, [
      cap.prompt ? h("div", { class: "rnb-prompt" }, `“${String(cap.prompt)}”`) : null,
      h("div", { class: "rnb-facts" }, factsLine(cap)),
      h("div", { class: "rnb-id" }, `task ${String(c.id || "")}`),
    ]));
    show(ui.focus, true);
    if (hadFocus) focusOn(closeBtn);  // on opening, and when new content replaced what had focus
  };

  return {
    render,
    close,
    /** @param {number} index */
    toggle(index) {
      if (focused === index) return close();
      focused = index;
      key = null;
      if (group.playing) group.pause();
      render();
    },
    /** @param {number} index */
    shows: (index) => focused === index,
    isOpen: () => focused !== null,
  };
}

// ------------------------------------------------------------------ transport
const SVG_NS = "http://www.w3.org/2000/svg";
// Icons drawn as SVG, not the play/pause characters: fonts without them draw an empty box, and screen
// readers read the characters' names ("black right-pointing triangle") before the label.
/** @type {Array<[string, Record<string, string>]>} */
const PLAY_SHAPES = [["path", { d: "M3 1.5v11l9-5.5z" }]];
/** @type {Array<[string, Record<string, string>]>} */
const PAUSE_SHAPES = [["rect", { x: "2.5", y: "1.5", width: "3.2", height: "11" }],
                      ["rect", { x: "8.3", y: "1.5", width: "3.2", height: "11" }]];

/**
 * Show "Play all" or "Pause all" on the transport button: an icon hidden from screen readers
 * and the words, which are the button's accessible name.
 * @param {HTMLElement} button
 * @param {boolean} playing
 */
function showPlayState(button, playing) {
  const icon = document.createElementNS(SVG_NS, "svg");
  icon.setAttribute("viewBox", "0 0 14 14");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  icon.setAttribute("class", "rnb-g-icon");
  for (const [tag, attrs] of playing ? PAUSE_SHAPES : PLAY_SHAPES) {
    const shape = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) shape.setAttribute(name, value);
    icon.appendChild(shape);
  }
  button.textContent = "";
  button.appendChild(icon);
  button.appendChild(document.createTextNode(playing ? "Pause all" : "Play all"));
}

/**
 * Play/pause, scrub and loop every video and audio output together.
 * @param {Parts} ui
 * @param {Disposer} d
 */
function createTransport(ui, d) {
  let scrubbing = false;
  const group = new SyncGroup({
    disposer: d,
    onTick: (t, total, playing) => {
      ui.clock.textContent = `${t.toFixed(1)} / ${total.toFixed(1)} s`;
      if (!scrubbing) ui.scrub.value = String(total > 0 ? Math.round((t / total) * 1000) : 0);
      if (ui.playBtn.getAttribute("aria-pressed") !== String(playing)) showPlayState(ui.playBtn, playing);
      ui.playBtn.setAttribute("aria-pressed", playing ? "true" : "false");
      ui.root.setAttribute("data-playing", playing ? "true" : "false");
    },
  });
  d.listen(ui.playBtn, "click", () => group.toggle());
  d.listen(ui.scrub, "input", () => {
    scrubbing = true;
    group.seek((Number(ui.scrub.value) / 1000) * group.total());
  });
  d.listen(ui.scrub, "change", () => {
    scrubbing = false;
    group.seek((Number(ui.scrub.value) / 1000) * group.total());
  });
  d.listen(ui.loopBox, "change", () => group.setLoop(!!ui.loopBox.checked));
  return group;
}

/** @param {Ctx} ctx */
function updateTransport(ctx) {
  show(ctx.ui.transport, ctx.group.size > 0);
  if (ctx.group.size > 0) ctx.group.onTick(ctx.group.currentTime(), ctx.group.total(), ctx.group.playing);
}

/**
 * Every cell's media settled: report it (once per distinct result).
 * @param {Ctx} ctx
 */
function createVerdicts(ctx) {
  /** @type {string | null} */
  let last = null;
  return () => {
    const items = [];
    for (const view of ctx.views.values()) items.push(...view.items);
    if (items.length === 0 || items.some((it) => it.settled === null)) return;
    const results = items.map((it) => it.settled);
    const key = JSON.stringify(results);
    if (key === last) return;
    last = key;
    ctx.channel.notify("media_status", { results });
  };
}

/**
 * Keeps one cell view per cell of the `cells` trait.
 * @param {Ctx} ctx
 * @param {ReturnType<typeof createLayout>} layout
 * @param {ReturnType<typeof createFocus>} focus
 */
function createCells(ctx, layout, focus) {
  const { read, views } = ctx;
  const reportIfSettled = createVerdicts(ctx);

  /**
   * @param {CellView} view
   * @param {Cell} c
   */
  const updateCell = (view, c) => {
    view.cell = c;
    const status = String(c.status || "PENDING");
    renderCellStatus(view, c, status);
    const labelText = String(c.label || "");
    const headed = asList(read("row_labels", [])).length || asList(read("col_labels", [])).length;
    // With headers the cell says nothing they say (what every cell shares is in the grid's header).
    view.label.textContent = read("wrap", false) || !headed ? labelText : "";
    view.label.setAttribute("title", labelText);
    show(view.meta, view.label.textContent !== "" || !view.badge.hidden);
    const name = cellName(c);
    view.frame.setAttribute("aria-label", `Enlarge ${name}`);
    view.cancel.setAttribute("aria-label", `Cancel ${name}`);
    view.cancel.setAttribute("title", `Cancel ${name}`);
    view.row = Number(c.row) || 0;
    view.col = Number(c.col) || 0;
    layout.place(view.el, view.row, view.col);
    shapeBox(view.frame, c.width, c.height, positive(read("max_height", 320), 320));
    view.box.style.width = view.frame.style.width;
    view.frame.setAttribute("data-ratio", String(c.ratio || ""));
    renderCellMedia(ctx, view, c, reportIfSettled);
  };

  /** @param {CellView} view */
  const drop = (view) => {
    for (let i = 0; i < view.items.length; i++) ctx.group.remove(`${view.index}:${i}`);
    view.el.remove();
    views.delete(view.index);
  };

  /** @type {string[]} */
  const news = [];
  /**
   * Say a cell's new status once (not its first, not its progress).
   * @param {CellView} view
   */
  const noteChange = (view) => {
    const status = String(view.cell.status || "PENDING");
    const word = view.cell.cancelling && !view.cell.finished ? "cancelling" : (STATUS_WORDS[status] ?? status.toLowerCase());
    if (view.announced !== null && view.announced !== word && word !== "") news.push(`${cellName(view.cell)} ${word}`);
    view.announced = word;
  };

  return function update() {
    const seen = new Set();
    news.length = 0;
    for (const raw of asList(read("cells", []))) {
      if (!raw || typeof raw !== "object") continue;
      const c = asRecord(raw);
      const index = Number(c.index);
      seen.add(index);
      let view = views.get(index);
      if (view === undefined) {
        view = makeCell(ctx, c, focus.toggle);
        views.set(index, view);
      }
      updateCell(view, c);
      noteChange(view);
    }
    if (news.length) ctx.ui.announcer.textContent = news.join(". ");
    for (const [index, view] of views) if (!seen.has(index)) drop(view);
    updateTransport(ctx);
    if (focus.isOpen()) focus.render();
  };
}

const LAYOUT_TRAITS = ["row_labels", "col_labels", "row_lines", "col_lines", "columns", "row_title", "col_title",
  "wrap"];

/** @type {import("@anywidget/types").Render} */
function render({ model, el }) {
  const { d, read, channel, ui } = mount(model, el, skeleton);
  const group = createTransport(ui, d);
  /** @type {Ctx} */
  const ctx = { read, d, channel, ui, group, views: new Map() };
  const layout = createLayout(ctx);
  const focus = createFocus(ctx);
  const updateCells = createCells(ctx, layout, focus);

  d.listen(ui.cancelAll, "click", () => {
    ui.cancelAll.disabled = true;
    channel.act("cancel_all");
  });
  d.listen(ui.retryBtn, "click", () => channel.act("retry"));
  d.listen(ui.root, "keydown", (/** @type {KeyboardEvent | undefined} */ ev) => {
    if (ev && ev.key === "Escape" && focus.isOpen()) {
      if (typeof ev.stopPropagation === "function") ev.stopPropagation();  // (JupyterLab's Escape is not for this)
      focus.close();
    }
  });
  for (const name of ["title", "fixed"]) d.modelOn(model, `change:${name}`, () => renderHead(ui, read));
  for (const name of ["summary", "error", "finished"]) d.modelOn(model, `change:${name}`, () => renderSummary(ui, read));
  for (const name of LAYOUT_TRAITS) {
    d.modelOn(model, `change:${name}`, () => {
      layout.update();
      updateCells();
    });
  }
  const relayout = () => {
    layout.update();
    updateCells();
  };
  d.modelOn(model, "change:max_height", relayout);
  d.modelOn(model, "change:cells", relayout);

  renderHead(ui, read);
  layout.update();
  updateCells();
  renderSummary(ui, read);
  channel.notify("view");

  return () => {
    group.pause();
    d.dispose();
    ui.root.remove();
  };
}

export default { render };
