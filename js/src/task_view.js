// TaskView front end: one Runway task, live. State arrives in synced traits (see
// runway_nb/notebook/widgets/_task_view.py); the channel (createChannel in common.js) carries
// requests: view -> kernel
//   notify "view" on render; notify "media_status" {results} once every output loaded or failed;
//   invoke "cancel", "retry", "again" (Generate again: the kernel sends the request once more and
//   shows the new task under this one); invoke "media" {index, purpose} -> {mime} + the output's bytes
//   (purpose "show" when the URL does not load here, "download" when fetch() cannot read it).
// Audio outputs play in an <audio controls> player under their waveform, drawn from the peaks the
// kernel decoded (the `waveforms` trait, one entry per output, {} until known), with the duration.
// A finished video plays at once, muted and looped (like mediapy's). While the task runs, a
// placeholder in the output's shape (from the requested ratio) holds the place the player will
// take, so the view does not jump when the media arrives. Status changes are announced once each
// in a polite live region (never per progress tick).
// Everything is built with textContent/setAttribute (h() in common.js); URLs pass safeUrl().
import {
  Disposer, MediaItem, asList, asRecord, badgeClass, factsLine, formatDuration, h, mediaKind, mount,
  progressPercent, safeMime, show, waveformDuration, waveformSvg,
} from "./common.js";

/** @typedef {import("@anywidget/types").AnyModel} AnyModel */
/** @typedef {import("./common.js").Channel} Channel */
/** @typedef {(name: string, fallback?: any) => any} Read */
/** @typedef {ReturnType<typeof skeleton>} Parts */

/**
 * A download name that cannot escape the folder: "<task id>_<index>.<ext>".
 * @param {unknown} taskId
 * @param {number} index
 * @param {unknown} url
 * @param {string} kind
 */
function fileName(taskId, index, url, kind) {
  const safeId = String(taskId || "task").replace(/[^A-Za-z0-9_-]/g, "").slice(0, 80) || "task";
  const path = String(url || "").split(/[?#]/)[0];
  const m = /\.([A-Za-z0-9]{1,5})$/.exec(path);
  const ext = m ? m[1].toLowerCase() : ({ video: "mp4", audio: "mp3" }[kind] || "png");
  return `${safeId}_${index}.${ext}`;
}

/** The widest and tallest a player is drawn (px): .rnb-output's max-width, .rnb-media's max-height. */
const PLAYER_WIDTH = 640;
const PLAYER_HEIGHT = 480;

/**
 * The output's size in px as the kernel computed it from the request (the catalog's rule, which
 * the grid uses too), or null when it has none (audio, an unknown model). A ratio such as "16:9"
 * is not a size, so the front end never guesses one from the ratio.
 * @param {Read} read
 * @returns {{ w: number, h: number } | null}
 */
function outputShape(read) {
  const shape = asRecord(read("shape", {}));
  const w = Number(shape.width);
  const hgt = Number(shape.height);
  return w > 0 && hgt > 0 && Number.isFinite(w) && Number.isFinite(hgt) ? { w, h: hgt } : null;
}

/**
 * Size `el` as a player of this shape is drawn: its own width within 640 x 480 px (as the static
 * card does), never wider than the view; the shape's aspect ratio until the media tells its own.
 * @param {HTMLElement} el
 * @param {{ w: number, h: number }} shape
 */
function sizeLike(el, shape) {
  const width = Math.max(1, Math.round(Math.min(PLAYER_WIDTH, shape.w, PLAYER_HEIGHT * shape.w / shape.h)));
  el.style.width = `${width}px`;
  el.style.maxWidth = "100%";
  el.style.aspectRatio = `auto ${shape.w} / ${shape.h}`;
}

/**
 * What the live region says when the status becomes `status`.
 * @param {string} status
 * @param {string} code
 */
function announcement(status, code) {
  switch (status) {
    case "PENDING": return "Task queued";
    case "THROTTLED": return "Task waiting for a free slot";
    case "RUNNING": return "Task running";
    case "SUCCEEDED": return "Task succeeded";
    case "FAILED": return code ? `Task failed: ${code}` : "Task failed";
    case "CANCELLED": return "Task cancelled";
    default: return `Task status: ${status}`;
  }
}

/**
 * The view's elements.
 * @param {HTMLElement} problem
 */
function skeleton(problem) {
  const badge = h("span", { class: "rnb-badge" });
  const title = h("span", { class: "rnb-title" });
  const clock = h("span", { class: "rnb-clock" });
  const cancelBtn = h("button", { class: "rnb-btn rnb-cancel", type: "button", title: "Cancel the task on Runway",
    "aria-label": "Cancel task" }, "Cancel");
  const retryBtn = h("button", { class: "rnb-btn rnb-retry", type: "button", title: "Resume watching this task",
    "aria-label": "Retry watching the task" }, "Retry");
  const againBtn = h("button", { class: "rnb-btn rnb-again", type: "button",
    title: "Send this request once more: a new task (with a new seed when the seed was drawn), the cell's from now on" },
    "Generate again");
  const fill = h("div", { class: "rnb-fill" });
  const bar = h("div", { class: "rnb-bar", role: "progressbar", "aria-label": "Progress", "aria-valuemin": "0", "aria-valuemax": "100" }, fill);
  const routing = h("div", { class: "rnb-routing" });
  const note = h("div", { class: "rnb-note" });
  const failureText = h("div", { class: "rnb-failure-text" });
  const failureHint = h("div", { class: "rnb-hint" });
  const failure = h("div", { class: "rnb-failure", role: "alert" }, [failureText, failureHint]);
  const error = h("div", { class: "rnb-error", role: "alert" });
  const outputs = h("div", { class: "rnb-outputs" });
  // Where the output will be, in its shape, while the task runs (decorative: hidden from readers).
  const placeholder = h("div", { class: "rnb-placeholders", "aria-hidden": "true" });
  // Status changes, said once each (the badge changes silently).
  const live = h("div", { class: "rnb-live", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  const captionTitle = h("div", { class: "rnb-caption-title" });
  const prompt = h("div", { class: "rnb-prompt" });
  const facts = h("div", { class: "rnb-facts" });
  const caption = h("div", { class: "rnb-caption" }, [captionTitle, prompt, facts]);
  const taskId = h("div", { class: "rnb-id" });
  const root = h("div", { class: "rnb-task" }, [
    h("div", { class: "rnb-head" }, [badge, title, clock, cancelBtn, retryBtn, againBtn]),
    routing, bar, note, failure, error, problem, outputs, placeholder, caption, taskId, live,
  ]);
  return { root, badge, title, clock, cancelBtn, retryBtn, againBtn, fill, bar, routing, note, failureText, failureHint,
           failure, error, outputs, placeholder, live, captionTitle, prompt, facts, taskId };
}

/**
 * What the clock line says, `since` seconds after the kernel's last update:
 * waiting: "queued 12 s"; running: "43% · queued 12 s · running 8 s · ≈ 20 s left" (the queue
 * part once it waited, the time left once the kernel has a best estimate); finished: "queued
 * 12 s · ran 28 s", with no time left.
 * @param {Read} read
 * @param {number} since
 * @returns {string}
 */
function clockText(read, since) {
  const status = String(read("status", "PENDING"));
  const finished = !!read("finished", false);
  const tick = finished ? 0 : since;
  const num = (/** @type {string} */ name) => {
    const v = read(name);
    return typeof v === "number" && isFinite(v) ? v : null;
  };
  const queued = num("queued") ?? 0;
  const running = num("running") ?? 0;
  const waiting = status === "PENDING" || status === "THROTTLED";
  /** @type {string[]} */
  const parts = [];
  const progress = num("progress");
  if (!finished && status === "RUNNING" && progress !== null) {
    parts.push(`${Math.floor(Math.max(0, Math.min(1, progress)) * 100)}%`);
  }
  if (queued + (waiting ? tick : 0) >= 0.5 || running <= 0) {
    parts.push(`queued ${formatDuration(queued + (waiting ? tick : 0))}`);
  }
  if (running > 0 || (!finished && status === "RUNNING")) {
    parts.push(`${finished ? "ran" : "running"} ${formatDuration(running + (waiting ? 0 : tick))}`);
  }
  const eta = num("eta");
  if (!finished && status === "RUNNING" && eta !== null) {
    parts.push(`≈ ${formatDuration(Math.max(0, eta - tick))} left`);
  }
  return parts.join(" · ");
}

/**
 * The local clock: queue/run time (and time left) tick between kernel updates; stops once finished.
 * @param {Parts} ui
 * @param {Read} read
 * @param {Disposer} d
 */
function createClock(ui, read, d) {
  let stamp = Date.now(); // browser time of the last time update from the kernel
  /** @type {ReturnType<typeof setInterval> | null} */
  let timer = null;
  const update = () => {
    ui.clock.textContent = clockText(read, (Date.now() - stamp) / 1000);
  };
  timer = d.interval(update, 1000);
  return {
    update,
    /** The kernel sent new times. */
    restamp() {
      stamp = Date.now();
      update();
    },
    stopIfFinished() {
      if (read("finished", false) && timer !== null) {
        d.clearInterval(timer);
        timer = null;
      }
    },
  };
}

/**
 * @param {Parts} ui
 * @param {Read} read
 * @param {string} status
 */
function renderHead(ui, read, status) {
  ui.root.setAttribute("data-status", status);
  ui.badge.className = badgeClass(status);
  ui.badge.textContent = status;
  const endpoint = String(read("endpoint", ""));
  const cap = asRecord(read("caption", {}));
  ui.title.textContent = [endpoint.replace(/_/g, " "), cap.model ? String(cap.model) : ""].filter(Boolean).join(" · ");
  const finished = !!read("finished", false);
  const cancelling = !!read("cancelling", false);
  const routing = String(read("routing", ""));
  ui.routing.textContent = routing;
  show(ui.routing, routing.length > 0);
  show(ui.cancelBtn, !finished);
  show(ui.againBtn, !!read("can_again", false));
  ui.cancelBtn.disabled = cancelling;
  ui.cancelBtn.textContent = cancelling ? "Cancelling…" : "Cancel";
  ui.cancelBtn.setAttribute("aria-label", cancelling ? "Cancelling task" : "Cancel task");
}

/**
 * The live region: says each new status once. The status the view first shows is on the screen
 * already and is not said; progress ticks never change the status, so they are never said.
 * @param {Parts} ui
 * @param {Read} read
 */
function createAnnouncer(ui, read) {
  let said = String(read("status", "PENDING"));
  return () => {
    const status = String(read("status", "PENDING"));
    const text = announcement(status, String(read("failure_code", "")));
    // a failure's code may arrive just after its status: the message then gains it
    if (status === said && !(status === "FAILED" && ui.live.textContent !== "" && ui.live.textContent !== text)) return;
    said = status;
    ui.live.textContent = text;
  };
}

/**
 * While the task runs and has no output yet: a placeholder for each output to come, in the
 * output's shape (an image or video task; audio has no shape and gets none).
 * @param {Parts} ui
 * @param {Read} read
 */
function renderPlaceholder(ui, read) {
  const shape = outputShape(read);
  const wanted = shape !== null && !read("finished", false) && asList(read("outputs", [])).length === 0;
  if (wanted && shape !== null && ui.placeholder.getAttribute("data-shape") !== `${shape.w}:${shape.h}`) {
    ui.placeholder.textContent = "";
    const box = h("div", { class: "rnb-placeholder" });
    sizeLike(box, shape);
    // the Download button's line, kept invisible: the finished output has one under its player
    const line = h("span", { class: "rnb-btn rnb-placeholder-line" }, "Download");
    ui.placeholder.appendChild(h("div", { class: "rnb-output rnb-placeholder-output" }, [box, line]));
    ui.placeholder.setAttribute("data-shape", `${shape.w}:${shape.h}`);
  }
  show(ui.placeholder, wanted);
}

/**
 * @param {Parts} ui
 * @param {Read} read
 * @param {string} status
 */
function renderProgress(ui, read, status) {
  const pct = progressPercent(status, read("progress"));
  ui.fill.style.width = `${pct.toFixed(1)}%`;
  ui.bar.setAttribute("aria-valuenow", pct.toFixed(0));
  ui.bar.setAttribute("data-indeterminate", status === "PENDING" || status === "THROTTLED" ? "true" : "false");
  show(ui.bar, !read("finished", false)); // a finished task shows its outputs and run time, no bar
  const noteText = String(read("note", ""));
  ui.note.textContent = noteText;
  show(ui.note, noteText.length > 0);
}

/**
 * @param {Parts} ui
 * @param {Read} read
 * @param {string} status
 */
function renderFailure(ui, read, status) {
  const failText = String(read("failure", ""));
  const code = String(read("failure_code", ""));
  ui.failureText.textContent = "";
  if (code) ui.failureText.appendChild(h("code", { class: "rnb-code" }, code));
  ui.failureText.appendChild(document.createTextNode(failText || (status === "FAILED" ? "The task failed." : "")));
  ui.failureHint.textContent = String(read("hint", ""));
  show(ui.failure, status === "FAILED");
  const err = String(read("error", ""));
  ui.error.textContent = err;
  show(ui.error, err.length > 0);
  show(ui.retryBtn, err.length > 0 && !read("finished", false));
  const id = String(read("task_id", ""));
  ui.taskId.textContent = id ? `task ${id}` : "";
}

/**
 * @param {Parts} ui
 * @param {Read} read
 */
function renderCaption(ui, read) {
  const c = asRecord(read("caption", {}));
  ui.captionTitle.textContent = c.title ? String(c.title) : "";
  show(ui.captionTitle, !!c.title);
  ui.prompt.textContent = c.prompt ? `“${String(c.prompt)}”` : "";
  show(ui.prompt, !!c.prompt);
  ui.facts.textContent = factsLine({ ...c, model: undefined }); // the title names the model already
}

/**
 * Save `url` under `name` through a temporary link.
 * @param {HTMLElement} root
 * @param {string} url
 * @param {string} name
 */
function saveAs(root, url, name) {
  const a = h("a", { href: url, download: name, class: "rnb-hidden-link" });
  root.appendChild(a);
  a.click();
  a.remove();
}

/**
 * The outputs: players with Download buttons; bytes come through the kernel when a URL does
 * not load in this browser; reports media_status once every output settled.
 * @param {Parts} ui
 * @param {Read} read
 * @param {Disposer} d
 * @param {Channel} channel
 */
function createOutputs(ui, read, d, channel) {
  /** @type {MediaItem[]} */
  let items = [];
  /** @type {string | null} */
  let key = null;

  const reportIfSettled = () => {
    if (items.length === 0 || items.some((it) => it.settled === null)) return;
    channel.notify("media_status", { results: items.map((it) => it.settled) });
  };

  /** @param {MediaItem} item */
  const downloadThroughKernel = async (item) => {
    try {
      const { result, buffers } = await channel.invoke("media", { index: item.index, purpose: "download" });
      if (d.disposed || buffers.length === 0) return;
      const blob = new Blob([buffers[0]], { type: safeMime(result.mime, item.kind) });
      saveAs(ui.root, d.blobUrl(blob), item.fileName);
    } catch (err) {
      // a timeout is shown by the channel; a kernel error goes on the output's title
      if (!d.disposed) item.element.setAttribute("title", err instanceof Error ? err.message : String(err));
    }
  };

  /** @param {MediaItem} item */
  const download = async (item) => {
    if (item.blobUrl !== null) return saveAs(ui.root, item.blobUrl, item.fileName);
    try {
      if (item.url === null || typeof fetch !== "function") throw new Error("no url");
      const answer = await fetch(item.url);
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
      const blob = await answer.blob();
      if (d.disposed) return;
      saveAs(ui.root, d.blobUrl(blob), item.fileName);
    } catch (err) {
      // Cross-origin or unreachable from this browser: ask the kernel for the bytes.
      if (!d.disposed) await downloadThroughKernel(item);
    }
  };

  /** @type {Array<{ wave: HTMLElement, length: HTMLElement, key: string }>} */
  let waves = [];

  /**
   * @param {unknown} url
   * @param {string} kind
   * @param {number} index
   * @param {number} count
   */
  const addOutput = (url, kind, index, count) => {
    const item = new MediaItem({
      url, kind, index, disposer: d, fileName: fileName(read("task_id", ""), index, url, kind),
      fetchBytes: (i) => channel.invoke("media", { index: i, purpose: "show" }),
      onSettled: reportIfSettled,
    });
    items.push(item);
    if (kind === "video") {
      // plays at once, muted and looped, like mediapy's (browsers autoplay only muted videos)
      item.element.setAttribute("autoplay", "");
    }
    const shape = kind === "audio" ? null : outputShape(read);
    if (shape !== null) sizeLike(item.element, shape); // the placeholder's size: no jump when it loads
    const name = count > 1 ? `Output ${index + 1} of ${count}` : "";
    if (name) item.element.setAttribute("aria-label", `${name} (${kind})`);
    const button = h("button", { class: "rnb-btn rnb-download", type: "button", title: `Download ${item.fileName}` },
      "Download");
    d.listen(button, "click", () => download(item));
    const label = name ? h("span", { class: "rnb-output-name" }, name) : null;
    if (kind !== "audio") {
      ui.outputs.appendChild(h("figure", { class: `rnb-output rnb-${kind}` }, [item.element, label, button]));
      waves.push({ wave: h("div"), length: h("span"), key: "" });
      return;
    }
    const wave = h("div", { class: "rnb-wave" });
    const length = h("span", { class: "rnb-duration" });
    waves.push({ wave, length, key: "" });
    ui.outputs.appendChild(h("figure", { class: "rnb-output rnb-audio" }, [
      wave, item.element, h("div", { class: "rnb-output-meta" }, [label, length, button]),
    ]));
  };

  /** Draw each audio output's waveform and duration once the kernel sent them. */
  const updateWaves = () => {
    const waveforms = asList(read("waveforms", []));
    waves.forEach((slot, i) => {
      const key = JSON.stringify(waveforms[i] ?? null);
      if (key === slot.key) return;
      slot.key = key;
      slot.wave.textContent = "";
      const svg = waveformSvg(waveforms[i]);
      if (svg !== null) slot.wave.appendChild(svg);
      show(slot.wave, svg !== null);
      slot.length.textContent = waveformDuration(waveforms[i]);
      show(slot.length, slot.length.textContent !== "");
    });
  };

  const update = () => {
    const urls = asList(read("outputs", []));
    const kinds = asList(read("kinds", []));
    const next = JSON.stringify([urls, kinds]);
    if (next !== key) {
      key = next;
      ui.outputs.textContent = "";
      items = [];
      waves = [];
      urls.forEach((url, index) => addOutput(url, mediaKind(url, kinds[index]), index, urls.length));
      ui.outputs.setAttribute("data-count", String(urls.length));
      show(ui.outputs, urls.length > 0);
    }
    updateWaves();
  };
  return update;
}

const STATUS_TRAITS = ["status", "progress", "note", "failure", "failure_code", "hint", "error", "finished",
                       "cancelling", "task_id", "endpoint", "routing", "can_again"];

/** @type {import("@anywidget/types").Render} */
function render({ model, el }) {
  const { d, read, channel, ui } = mount(model, el, skeleton);
  const clock = createClock(ui, read, d);
  const renderOutputs = createOutputs(ui, read, d, channel);
  const announce = createAnnouncer(ui, read);
  const updateOutputs = () => {
    renderOutputs();
    renderPlaceholder(ui, read);
  };

  const updateStatus = () => {
    const status = String(read("status", "PENDING"));
    renderHead(ui, read, status);
    renderProgress(ui, read, status);
    renderFailure(ui, read, status);
    renderPlaceholder(ui, read);
    announce();
    clock.update();
    clock.stopIfFinished();
  };

  d.listen(ui.cancelBtn, "click", () => {
    ui.cancelBtn.disabled = true;
    ui.cancelBtn.textContent = "Cancelling…";
    channel.act("cancel");
  });
  d.listen(ui.retryBtn, "click", () => channel.act("retry"));
  d.listen(ui.againBtn, "click", () => {
    ui.againBtn.disabled = true;  // one click, one task: enabled again once the kernel answered
    channel.act("again").finally(() => { ui.againBtn.disabled = false; });
  });
  for (const name of STATUS_TRAITS) d.modelOn(model, `change:${name}`, updateStatus);
  d.modelOn(model, "change:elapsed", clock.restamp);
  d.modelOn(model, "change:eta", clock.restamp);
  d.modelOn(model, "change:queued", clock.restamp);
  d.modelOn(model, "change:running", clock.restamp);
  d.modelOn(model, "change:caption", () => {
    renderCaption(ui, read);
    updateStatus();
  });
  d.modelOn(model, "change:outputs", updateOutputs);
  d.modelOn(model, "change:kinds", updateOutputs);
  d.modelOn(model, "change:waveforms", updateOutputs);

  renderCaption(ui, read);
  updateStatus();
  updateOutputs();
  channel.notify("view");

  return () => {
    d.dispose();
    ui.root.remove();
  };
}

export default { render };
