// Comparison grid front end: the tasks of a sweep side by side. State arrives in synced traits
// (see runway_nb/widgets/_grid.py): title, fixed, row_title/col_title, row_labels/col_labels,
// columns, wrap, max_height, cells (one dict per task, in submission order), summary, error,
// finished. Custom messages are only for requests:
//   view -> kernel: {type:"view"}, {type:"cancel", cell}, {type:"cancel_all"}, {type:"retry"},
//                   {type:"freeze"}, {type:"bytes", req, cell, index}, {type:"media_status", results}
//   kernel -> view: {type:"bytes", req, cell, index, mime} + one buffer, {type:"bytes_error", req, ...}
// Each cell is a box of its output's true shape (aspect-ratio from the pixel size) holding a
// mini task view (status, progress, note, failure) that becomes the player. Videos play in sync
// (SyncGroup in common.js): one transport plays, pauses, scrubs and loops them together.
// Everything is built with textContent/setAttribute (h() in common.js); URLs pass safeUrl().
import { mediaKind, formatDuration, h, setUrl, Disposer, MediaItem, SyncGroup } from "./common.js";

const GRID_STATUS_CLASS = {
  PENDING: "pending", THROTTLED: "throttled", RUNNING: "running",
  SUCCEEDED: "succeeded", FAILED: "failed", CANCELLED: "cancelled",
};
const GRID_STATUS_TEXT = { THROTTLED: "QUEUED" };

function gridShow(node, visible) {
  node.hidden = !visible;
  if (visible) node.removeAttribute("hidden");
  else node.setAttribute("hidden", "");
}

function positive(n, fallback) {
  const v = Number(n);
  return isFinite(v) && v > 0 ? v : fallback;
}

/** Size a box to the true shape `w:h`, at most `maxH` pixels tall and the column's width. */
function shapeBox(node, w, hgt, maxH) {
  const width = positive(w, 16);
  const height = positive(hgt, 9);
  node.style.aspectRatio = `${width} / ${height}`;
  node.style.width = `min(100%, ${((maxH * width) / height).toFixed(1)}px)`;
  node.setAttribute("data-shape", `${width}x${height}`);
}

function factsLine(c) {
  const bits = [];
  if (c.model) bits.push(String(c.model));
  if (c.ratio) bits.push(String(c.ratio));
  if (c.seed !== undefined && c.seed !== null && c.seed !== "") bits.push(`seed ${c.seed}`);
  if (c.duration !== undefined && c.duration !== null && c.duration !== "") bits.push(`${c.duration} s`);
  if (c.credits !== undefined && c.credits !== null && c.credits !== "") bits.push(`${c.credits} credits`);
  return bits.join(" · ");
}

function summaryParts(s, finished) {
  const parts = [];
  const n = (k) => Number((s && s[k]) || 0);
  parts.push([`${n("total")} task${n("total") === 1 ? "" : "s"}`, "total"]);
  parts.push([`${n("done")} done`, "done"]);
  if (n("failed")) parts.push([`${n("failed")} failed`, "failed"]);
  if (!finished || n("running")) parts.push([`${n("running")} running`, "running"]);
  let queued = `${n("queued")} queued`;
  if (n("throttled")) queued += ` (${n("throttled")} waiting for a concurrency slot)`;
  if (!finished || n("queued")) parts.push([queued, "queued"]);
  if (n("cancelled")) parts.push([`${n("cancelled")} cancelled`, "cancelled"]);
  if (s && s.credits !== null && s.credits !== undefined) {
    parts.push([`${s.estimated ? "~" : ""}${s.credits} credits`, "credits"]);
  }
  return parts;
}

function render({ model, el }) {
  const d = new Disposer();
  const get = (name, fallback) => {
    const v = model.get(name);
    return v === undefined || v === null ? fallback : v;
  };

  // ---------------------------------------------------------------- skeleton
  const title = h("span", { class: "rnb-g-title" });
  const fixed = h("span", { class: "rnb-g-fixed" });
  const summary = h("div", { class: "rnb-g-summary", "aria-live": "polite" });
  const cancelAll = h("button", { class: "rnb-btn rnb-g-cancel-all", type: "button",
                                  title: "Cancel every unfinished task of this sweep" }, "Cancel all");
  const freezeBtn = h("button", { class: "rnb-btn rnb-g-freeze", type: "button",
    title: "Replace this widget with a static grid that survives reopening the notebook without a kernel" },
  "Keep as static output");
  const playBtn = h("button", { class: "rnb-btn rnb-g-play", type: "button", "aria-pressed": "false" }, "▶ Play all");
  const scrub = h("input", { class: "rnb-g-scrub", type: "range", min: "0", max: "1000", step: "1", value: "0",
                             "aria-label": "Position of every video" });
  const clock = h("span", { class: "rnb-g-time" });
  const loopBox = h("input", { class: "rnb-g-loop", type: "checkbox", checked: true });
  loopBox.checked = true;
  const transport = h("div", { class: "rnb-g-transport" }, [
    playBtn, scrub, clock, h("label", { class: "rnb-g-looplabel" }, [loopBox, " Loop"]),
  ]);
  const errorText = h("span", { class: "rnb-g-error-text" });
  const retryBtn = h("button", { class: "rnb-btn rnb-retry", type: "button", title: "Resume watching" }, "Retry");
  const error = h("div", { class: "rnb-error rnb-g-error", role: "alert" }, [errorText, " ", retryBtn]);
  const focus = h("div", { class: "rnb-g-focus", role: "dialog", "aria-label": "Enlarged cell" });
  const table = h("div", { class: "rnb-g-table" });
  const root = h("div", { class: "rnb-grid" }, [
    h("div", { class: "rnb-g-head" }, [title, fixed]),
    h("div", { class: "rnb-g-bar" }, [summary, cancelAll, freezeBtn]),
    transport, error, focus, table,
  ]);
  gridShow(focus, false);
  el.appendChild(root);

  let scrubbing = false;
  const group = new SyncGroup({
    disposer: d,
    onTick: (t, total, playing) => {
      clock.textContent = `${t.toFixed(1)} / ${total.toFixed(1)} s`;
      if (!scrubbing) scrub.value = String(total > 0 ? Math.round((t / total) * 1000) : 0);
      playBtn.textContent = playing ? "⏸ Pause all" : "▶ Play all";
      playBtn.setAttribute("aria-pressed", playing ? "true" : "false");
      root.setAttribute("data-playing", playing ? "true" : "false");
    },
  });

  // ---------------------------------------------------------------- header, summary, errors
  function updateHead() {
    title.textContent = String(get("title", ""));
    const bits = [];
    for (const pair of get("fixed", [])) {
      if (!Array.isArray(pair) || pair.length < 2) continue;
      const [name, text] = [String(pair[0]), String(pair[1])];
      bits.push(name === "prompt" ? `“${text}”` : `${name} ${text}`);
    }
    fixed.textContent = bits.join(" · ");
    gridShow(fixed, bits.length > 0);
  }

  function updateSummary() {
    const s = get("summary", {});
    summary.textContent = "";
    summaryParts(s, !!get("finished", false)).forEach(([text, kind], i) => {
      if (i > 0) summary.appendChild(document.createTextNode(" · "));
      summary.appendChild(h("span", { class: `rnb-g-n rnb-g-n-${kind}` }, text));
    });
    const finished = !!get("finished", false);
    const open = Number((s && s.total) || 0) - Number((s && s.done) || 0) - Number((s && s.failed) || 0)
      - Number((s && s.cancelled) || 0);
    gridShow(cancelAll, !finished && open > 0);
    gridShow(freezeBtn, finished);
    root.setAttribute("data-finished", finished ? "true" : "false");
    const err = String(get("error", ""));
    errorText.textContent = err;
    gridShow(error, err.length > 0);
    gridShow(retryBtn, err.length > 0 && !finished);
  }

  // ---------------------------------------------------------------- layout
  let layoutKey = null;
  const heads = [];

  function offsets() {
    return {
      r: get("col_labels", []).length > 0 ? 1 : 0,
      c: get("row_labels", []).length > 0 ? 1 : 0,
    };
  }

  function place(node, row, col) {
    const off = offsets();
    node.style.gridRow = String(row + off.r + 1);
    node.style.gridColumn = String(col + off.c + 1);
  }

  function updateLayout() {
    const rowLabels = get("row_labels", []);
    const colLabels = get("col_labels", []);
    const columns = Math.max(1, Number(get("columns", 1)) || 1);
    const key = JSON.stringify([rowLabels, colLabels, columns, get("row_title", ""), get("col_title", ""),
      !!get("wrap", false)]);
    if (key === layoutKey) return;
    layoutKey = key;
    for (const node of heads) node.remove();
    heads.length = 0;
    table.style.gridTemplateColumns = `${rowLabels.length ? "minmax(60px, max-content) " : ""}`
      + `repeat(${columns}, minmax(0, 1fr))`;
    root.setAttribute("data-wrap", get("wrap", false) ? "true" : "false");
    if (rowLabels.length && colLabels.length) {
      const corner = h("div", { class: "rnb-g-corner" },
        `${String(get("row_title", ""))} \u2193  ${String(get("col_title", ""))} \u2192`);
      corner.style.gridRow = "1";
      corner.style.gridColumn = "1";
      heads.push(corner);
    }
    colLabels.forEach((label, c) => {
      const node = h("div", { class: "rnb-g-colhead", title: String(label) }, String(label));
      node.style.gridRow = "1";
      node.style.gridColumn = String(c + (rowLabels.length ? 2 : 1));
      heads.push(node);
    });
    rowLabels.forEach((label, r) => {
      const node = h("div", { class: "rnb-g-rowhead", title: String(label) }, String(label));
      node.style.gridRow = String(r + (colLabels.length ? 2 : 1));
      node.style.gridColumn = "1";
      heads.push(node);
    });
    for (const node of heads) table.appendChild(node);
    for (const view of views.values()) place(view.el, view.row, view.col);
  }

  // ---------------------------------------------------------------- cells
  const views = new Map(); // index -> cell view
  let nextReq = 1;
  const pending = new Map(); // req -> {cell, index}

  function requestBytes(cell, index) {
    const req = nextReq++;
    pending.set(req, { cell, index });
    model.send({ type: "bytes", req, cell, index });
  }

  let lastVerdicts = null;
  function reportIfSettled() {
    const items = [];
    for (const view of views.values()) items.push(...view.items);
    if (items.length === 0 || items.some((it) => it.settled === null)) return;
    const results = items.map((it) => it.settled);
    const key = JSON.stringify(results);
    if (key === lastVerdicts) return;
    lastVerdicts = key;
    model.send({ type: "media_status", results });
  }

  function makeCell(c) {
    const index = Number(c.index);
    const badge = h("span", { class: "rnb-badge" });
    const label = h("span", { class: "rnb-g-label" });
    const cancel = h("button", { class: "rnb-btn rnb-g-x", type: "button", title: "Cancel this task",
                                 "aria-label": "Cancel this task" }, "×");
    const fill = h("div", { class: "rnb-fill" });
    const bar = h("div", { class: "rnb-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, fill);
    const pstatus = h("div", { class: "rnb-g-pstatus" });
    const note = h("div", { class: "rnb-g-note" });
    const failure = h("div", { class: "rnb-g-failure" });
    const placeholder = h("div", { class: "rnb-g-placeholder" }, [pstatus, bar, note, failure]);
    const media = h("div", { class: "rnb-g-media" });
    const frame = h("div", { class: "rnb-g-frame", role: "button", tabindex: "0", title: "Click to enlarge" },
      [placeholder, media]);
    const cellEl = h("div", { class: "rnb-g-cell", "data-index": String(index) }, [
      frame, h("div", { class: "rnb-g-meta" }, [badge, label, cancel]),
    ]);
    const view = { index, el: cellEl, frame, badge, label, cancel, fill, bar, pstatus, note, failure,
                   placeholder, media, items: [], outputsKey: null, row: 0, col: 0, cell: c };
    d.listen(cancel, "click", (ev) => {
      if (ev && typeof ev.stopPropagation === "function") ev.stopPropagation();
      cancel.disabled = true;
      model.send({ type: "cancel", cell: index });
    });
    d.listen(frame, "click", () => openFocus(index));
    d.listen(frame, "keydown", (ev) => {
      if (ev && (ev.key === "Enter" || ev.key === " ")) openFocus(index);
    });
    table.appendChild(cellEl);
    return view;
  }

  function updateCell(view, c) {
    view.cell = c;
    const status = String(c.status || "PENDING");
    const cls = GRID_STATUS_CLASS[status] || "unknown";
    view.el.setAttribute("data-status", status);
    view.badge.className = `rnb-badge rnb-s-${cls}`;
    view.badge.textContent = GRID_STATUS_TEXT[status] || status;
    const wrap = !!get("wrap", false);
    const labelText = String(c.label || "");
    view.label.textContent = wrap || (!get("row_labels", []).length && !get("col_labels", []).length)
      ? labelText : factsLine({ seed: (c.caption || {}).seed });
    view.label.setAttribute("title", labelText);
    view.row = Number(c.row) || 0;
    view.col = Number(c.col) || 0;
    place(view.el, view.row, view.col);
    shapeBox(view.frame, c.width, c.height, positive(get("max_height", 320), 320));
    view.frame.setAttribute("data-ratio", String(c.ratio || ""));

    const finished = !!c.finished;
    gridShow(view.cancel, !finished);
    view.cancel.disabled = !!c.cancelling;
    const progress = c.progress;
    let pct = 0;
    if (status === "SUCCEEDED") pct = 100;
    else if (typeof progress === "number" && isFinite(progress)) pct = Math.max(0, Math.min(100, progress * 100));
    view.fill.style.width = `${pct.toFixed(1)}%`;
    view.bar.setAttribute("aria-valuenow", pct.toFixed(0));
    view.bar.setAttribute("data-indeterminate", status === "PENDING" || status === "THROTTLED" ? "true" : "false");
    gridShow(view.bar, !finished);
    view.pstatus.textContent = status === "RUNNING" && pct > 0 ? `${status} ${pct.toFixed(0)}%`
      : (GRID_STATUS_TEXT[status] || status);
    view.note.textContent = String(c.note || "");
    gridShow(view.note, !!c.note);
    view.failure.textContent = "";
    if (status === "FAILED") {
      if (c.failure_code) view.failure.appendChild(h("code", { class: "rnb-code" }, String(c.failure_code)));
      view.failure.appendChild(document.createTextNode(String(c.failure || "The task failed.")));
      if (c.hint) view.failure.appendChild(h("div", { class: "rnb-hint" }, String(c.hint)));
    }
    gridShow(view.failure, status === "FAILED");
    updateMedia(view, c);
  }

  function updateMedia(view, c) {
    const urls = Array.isArray(c.outputs) ? c.outputs : [];
    const kinds = Array.isArray(c.kinds) ? c.kinds : [];
    const key = JSON.stringify([urls, kinds]);
    if (key === view.outputsKey) return;
    view.outputsKey = key;
    for (let i = 0; i < view.items.length; i++) group.remove(`${view.index}:${i}`);
    view.media.textContent = "";
    view.items = [];
    urls.slice(0, 1).forEach((url, i) => { // the first output fills the cell; the focus view shows all
      const kind = mediaKind(url, kinds[i]);
      const item = new MediaItem({
        url, kind, index: i, disposer: d,
        requestBytes: (k) => requestBytes(view.index, k),
        onSettled: reportIfSettled,
      });
      if (kind === "video") {
        item.element.controls = false;
        item.element.removeAttribute("controls");
        group.add(`${view.index}:${i}`, item.element);
      }
      view.items.push(item);
      view.media.appendChild(item.element);
    });
    view.el.setAttribute("data-outputs", String(urls.length));
    gridShow(view.placeholder, urls.length === 0);
    updateTransport();
  }

  function updateCells() {
    const cells = get("cells", []);
    const seen = new Set();
    for (const c of cells) {
      if (!c || typeof c !== "object") continue;
      const index = Number(c.index);
      seen.add(index);
      let view = views.get(index);
      if (view === undefined) {
        view = makeCell(c);
        views.set(index, view);
      }
      updateCell(view, c);
    }
    for (const [index, view] of views) {
      if (!seen.has(index)) {
        for (let i = 0; i < view.items.length; i++) group.remove(`${index}:${i}`);
        view.el.remove();
        views.delete(index);
      }
    }
    if (focused !== null && views.has(focused)) renderFocus();
  }

  function updateTransport() {
    gridShow(transport, group.size > 0);
    if (group.size > 0) group.onTick(group.currentTime(), group.total(), group.playing);
  }

  // ---------------------------------------------------------------- enlarge
  let focused = null;
  let focusKey = null;

  function closeFocus() {
    focused = null;
    focusKey = null;
    focus.textContent = "";
    gridShow(focus, false);
  }

  function openFocus(index) {
    if (focused === index) {
      closeFocus();
      return;
    }
    focused = index;
    focusKey = null;
    if (group.playing) group.pause();
    renderFocus();
  }

  function renderFocus() {
    const view = views.get(focused);
    if (!view) return closeFocus();
    const c = view.cell;
    const key = JSON.stringify([c.status, c.outputs, c.failure, c.note, c.progress]);
    if (key === focusKey) return;
    focusKey = key;
    focus.textContent = "";
    const close = h("button", { class: "rnb-btn rnb-g-close", type: "button", title: "Close (Esc)" }, "Close");
    d.listen(close, "click", closeFocus);
    const cap = c.caption && typeof c.caption === "object" ? c.caption : {};
    const head = h("div", { class: "rnb-g-focus-head" }, [
      h("span", { class: `rnb-badge rnb-s-${GRID_STATUS_CLASS[c.status] || "unknown"}` },
        GRID_STATUS_TEXT[c.status] || String(c.status || "")),
      h("span", { class: "rnb-g-focus-label" }, String(c.label || "")),
      close,
    ]);
    const body = h("div", { class: "rnb-g-focus-media" });
    const urls = Array.isArray(c.outputs) ? c.outputs : [];
    const kinds = Array.isArray(c.kinds) ? c.kinds : [];
    urls.forEach((url, i) => {
      const kind = mediaKind(url, kinds[i]);
      const own = view.items[i];
      const src = own && own.blobUrl ? own.blobUrl : url;
      const frame = h("div", { class: "rnb-g-focus-frame" });
      shapeBox(frame, c.width, c.height, 560);
      let player;
      if (kind === "video") {
        player = h("video", { class: "rnb-media", controls: true, loop: true, muted: true, playsinline: true,
                              preload: "auto" });
        player.muted = true;
        const start = group.currentTime();
        d.listen(player, "loadedmetadata", () => {
          try {
            player.currentTime = Math.min(start, Math.max(0, (Number(player.duration) || 0) - 0.05));
          } catch (err) {
            // not seekable: it starts at 0
          }
        });
      } else {
        player = h("img", { class: "rnb-media", alt: `output ${i + 1}` });
      }
      setUrl(player, "src", src);
      frame.appendChild(player);
      body.appendChild(frame);
    });
    if (urls.length === 0) {
      const box = h("div", { class: "rnb-g-focus-frame rnb-g-focus-empty" }, [
        h("div", {}, String(c.status || "")),
        h("div", {}, String(c.note || "")),
        h("div", { class: "rnb-g-failure" }, [c.failure_code ? `${c.failure_code}: ` : "", String(c.failure || "")]),
        h("div", { class: "rnb-hint" }, String(c.hint || "")),
      ]);
      shapeBox(box, c.width, c.height, 360);
      body.appendChild(box);
    }
    const caption = h("div", { class: "rnb-caption" }, [
      cap.prompt ? h("div", { class: "rnb-prompt" }, `“${String(cap.prompt)}”`) : null,
      h("div", { class: "rnb-facts" }, factsLine(cap)),
      h("div", { class: "rnb-id" }, `task ${String(c.id || "")}`),
    ]);
    focus.appendChild(head);
    focus.appendChild(body);
    focus.appendChild(caption);
    gridShow(focus, true);
  }

  // ---------------------------------------------------------------- messages
  function onMessage(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    const req = pending.get(msg.req);
    if (req === undefined) return;
    pending.delete(msg.req);
    const view = views.get(req.cell);
    const item = view ? view.items[req.index] : undefined;
    if (!item) return;
    if (msg.type === "bytes" && buffers && buffers.length > 0) item.receiveBytes(buffers[0], msg.mime);
    else item.fail(msg.error);
  }

  // ---------------------------------------------------------------- wiring
  d.listen(playBtn, "click", () => group.toggle());
  d.listen(scrub, "input", () => {
    scrubbing = true;
    group.seek((Number(scrub.value) / 1000) * group.total());
  });
  d.listen(scrub, "change", () => {
    scrubbing = false;
    group.seek((Number(scrub.value) / 1000) * group.total());
  });
  d.listen(loopBox, "change", () => group.setLoop(!!loopBox.checked));
  d.listen(cancelAll, "click", () => {
    cancelAll.disabled = true;
    model.send({ type: "cancel_all" });
  });
  d.listen(freezeBtn, "click", () => {
    freezeBtn.disabled = true;
    model.send({ type: "freeze" });
  });
  d.listen(retryBtn, "click", () => model.send({ type: "retry" }));
  d.listen(root, "keydown", (ev) => {
    if (ev && ev.key === "Escape" && focused !== null) closeFocus();
  });
  for (const name of ["title", "fixed"]) d.modelOn(model, `change:${name}`, updateHead);
  for (const name of ["summary", "error", "finished"]) d.modelOn(model, `change:${name}`, updateSummary);
  for (const name of ["row_labels", "col_labels", "columns", "row_title", "col_title", "wrap"]) {
    d.modelOn(model, `change:${name}`, () => {
      updateLayout();
      updateCells();
    });
  }
  d.modelOn(model, "change:max_height", updateCells);
  d.modelOn(model, "change:cells", updateCells);
  d.modelOn(model, "msg:custom", onMessage);

  updateHead();
  updateLayout();
  updateCells();
  updateSummary();
  updateTransport();
  model.send({ type: "view" });

  return () => {
    group.pause();
    d.dispose();
    pending.clear();
    root.remove();
  };
}

export default { render };
