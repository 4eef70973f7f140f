// TaskView front end: one Runway task, live. State arrives in synced traits (see
// runway_nb/widgets/_task_view.py); custom messages are only for requests with answers:
//   view -> kernel: {type:"view"} on render, {type:"cancel"}, {type:"retry"},
//                   {type:"bytes", req, index, purpose} (output bytes: purpose "show" when the URL
//                   does not load here, "download" when fetch() cannot read it),
//                   {type:"media_status", results:[...]} once every output loaded or failed
//   kernel -> view: {type:"bytes", req, index, mime} + one binary buffer, {type:"bytes_error", req, index, error}
// Everything is built with textContent/setAttribute (see h() in common.js); URLs pass safeUrl().
import { mediaKind, formatDuration, h, safeMime, Disposer, MediaItem } from "./common.js";

const STATUS_CLASS = {
  PENDING: "pending", THROTTLED: "throttled", RUNNING: "running",
  SUCCEEDED: "succeeded", FAILED: "failed", CANCELLED: "cancelled",
};

function captionLine(caption) {
  const c = caption && typeof caption === "object" ? caption : {};
  const bits = [];
  if (c.model) bits.push(String(c.model));
  if (c.ratio) bits.push(String(c.ratio));
  if (c.seed !== undefined && c.seed !== null && c.seed !== "") bits.push(`seed ${c.seed}`);
  if (c.duration !== undefined && c.duration !== null && c.duration !== "") bits.push(`${c.duration} s`);
  if (c.credits !== undefined && c.credits !== null && c.credits !== "") bits.push(`${c.credits} credits`);
  return bits.join(" · ");
}

function fileName(taskId, index, url, kind) {
  const safeId = String(taskId || "task").replace(/[^A-Za-z0-9_-]/g, "").slice(0, 80) || "task";
  const path = String(url || "").split(/[?#]/)[0];
  const m = /\.([A-Za-z0-9]{1,5})$/.exec(path);
  const ext = m ? m[1].toLowerCase() : (kind === "video" ? "mp4" : "png");
  return `${safeId}_${index}.${ext}`;
}

function render({ model, el }) {
  const d = new Disposer();
  const get = (name, fallback) => {
    const v = model.get(name);
    return v === undefined || v === null ? fallback : v;
  };

  const badge = h("span", { class: "rnb-badge" });
  const title = h("span", { class: "rnb-title" });
  const clock = h("span", { class: "rnb-clock" });
  const cancelBtn = h("button", { class: "rnb-btn rnb-cancel", type: "button", title: "Cancel the task on Runway" }, "Cancel");
  const retryBtn = h("button", { class: "rnb-btn rnb-retry", type: "button", title: "Resume watching this task" }, "Retry");
  const fill = h("div", { class: "rnb-fill" });
  const bar = h("div", { class: "rnb-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, fill);
  const note = h("div", { class: "rnb-note" });
  const failureText = h("div", { class: "rnb-failure-text" });
  const failureHint = h("div", { class: "rnb-hint" });
  const failure = h("div", { class: "rnb-failure", role: "alert" }, [failureText, failureHint]);
  const error = h("div", { class: "rnb-error", role: "alert" });
  const outputs = h("div", { class: "rnb-outputs" });
  const captionTitle = h("div", { class: "rnb-caption-title" });
  const prompt = h("div", { class: "rnb-prompt" });
  const facts = h("div", { class: "rnb-facts" });
  const caption = h("div", { class: "rnb-caption" }, [captionTitle, prompt, facts]);
  const taskId = h("div", { class: "rnb-id" });
  const root = h("div", { class: "rnb-task" }, [
    h("div", { class: "rnb-head" }, [badge, title, clock, cancelBtn, retryBtn]),
    bar, note, failure, error, outputs, caption, taskId,
  ]);
  el.appendChild(root);

  // ---------------------------------------------------------------- status, time, text
  let stamp = Date.now(); // browser time of the last elapsed/eta update from the kernel

  function updateClock() {
    const finished = !!get("finished", false);
    const since = finished ? 0 : (Date.now() - stamp) / 1000;
    const elapsed = Number(get("elapsed", 0)) + since;
    let text = formatDuration(elapsed);
    const eta = model.get("eta");
    if (!finished && typeof eta === "number" && isFinite(eta)) {
      text += ` · ≈ ${formatDuration(Math.max(0, eta - since))} left`;
    }
    clock.textContent = text;
  }

  function show(node, visible) {
    node.hidden = !visible;
    if (visible) node.removeAttribute("hidden");
    else node.setAttribute("hidden", "");
  }

  function updateStatus() {
    const status = String(get("status", "PENDING"));
    const cls = STATUS_CLASS[status] || "unknown";
    root.setAttribute("data-status", status);
    badge.className = `rnb-badge rnb-s-${cls}`;
    badge.textContent = status;
    const endpoint = String(get("endpoint", ""));
    const cap = get("caption", {});
    title.textContent = [endpoint.replace(/_/g, " "), cap && cap.model ? String(cap.model) : ""]
      .filter(Boolean).join(" · ");

    const finished = !!get("finished", false);
    const cancelling = !!get("cancelling", false);
    show(cancelBtn, !finished);
    cancelBtn.disabled = cancelling;
    cancelBtn.textContent = cancelling ? "Cancelling…" : "Cancel";

    const progress = model.get("progress");
    let pct = 0;
    if (status === "SUCCEEDED") pct = 100;
    else if (typeof progress === "number" && isFinite(progress)) pct = Math.max(0, Math.min(100, progress * 100));
    fill.style.width = `${pct.toFixed(1)}%`;
    bar.setAttribute("aria-valuenow", pct.toFixed(0));
    bar.setAttribute("data-indeterminate", status === "PENDING" || status === "THROTTLED" ? "true" : "false");
    show(bar, !finished || status === "SUCCEEDED");

    const noteText = String(get("note", ""));
    note.textContent = noteText;
    show(note, noteText.length > 0);

    const failText = String(get("failure", ""));
    const code = String(get("failure_code", ""));
    failureText.textContent = "";
    if (code) failureText.appendChild(h("code", { class: "rnb-code" }, code));
    failureText.appendChild(document.createTextNode(failText || (status === "FAILED" ? "The task failed." : "")));
    failureHint.textContent = String(get("hint", ""));
    show(failure, status === "FAILED");

    const err = String(get("error", ""));
    error.textContent = err;
    show(error, err.length > 0);
    show(retryBtn, err.length > 0 && !finished);

    const id = String(get("task_id", ""));
    taskId.textContent = id ? `task ${id}` : "";
    updateClock();
    if (finished && clockTimer !== null) {
      d.clearInterval(clockTimer);
      clockTimer = null;
    }
  }

  function updateCaption() {
    const cap = get("caption", {});
    const c = cap && typeof cap === "object" ? cap : {};
    captionTitle.textContent = c.title ? String(c.title) : "";
    show(captionTitle, !!c.title);
    prompt.textContent = c.prompt ? `“${String(c.prompt)}”` : "";
    show(prompt, !!c.prompt);
    facts.textContent = captionLine(c);
  }

  // ---------------------------------------------------------------- outputs
  let items = [];
  let outputsKey = null;
  let nextReq = 1;
  const pending = new Map(); // req -> {index, purpose}

  function requestBytes(index, purpose) {
    const req = nextReq++;
    pending.set(req, { index, purpose });
    model.send({ type: "bytes", req, index, purpose });
    return req;
  }

  function reportIfSettled() {
    if (items.length === 0 || items.some((it) => it.settled === null)) return;
    model.send({ type: "media_status", results: items.map((it) => it.settled) });
  }

  function saveAs(url, name) {
    const a = h("a", { href: url, download: name, class: "rnb-hidden-link" });
    root.appendChild(a);
    a.click();
    a.remove();
  }

  async function download(index) {
    const item = items[index];
    if (!item) return;
    if (item.blobUrl !== null) return saveAs(item.blobUrl, item.fileName);
    try {
      if (item.url === null || typeof fetch !== "function") throw new Error("no url");
      const answer = await fetch(item.url);
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
      const blob = await answer.blob();
      if (d.disposed) return;
      saveAs(d.blobUrl(blob), item.fileName);
    } catch (err) {
      // Cross-origin or unreachable from this browser: ask the kernel for the bytes.
      if (!d.disposed) requestBytes(index, "download");
    }
  }

  function updateOutputs() {
    const urls = get("outputs", []);
    const kinds = get("kinds", []);
    const key = JSON.stringify([urls, kinds]);
    if (key === outputsKey) return;
    outputsKey = key;
    outputs.textContent = "";
    items = [];
    const id = String(get("task_id", ""));
    urls.forEach((url, index) => {
      const kind = mediaKind(url, kinds[index]);
      const item = new MediaItem({
        url, kind, index, disposer: d, fileName: fileName(id, index, url, kind),
        requestBytes: (i) => requestBytes(i, "show"),
        onSettled: reportIfSettled,
      });
      items.push(item);
      const button = h("button", { class: "rnb-btn rnb-download", type: "button",
                                   title: `Download ${item.fileName}` }, "Download");
      d.listen(button, "click", () => download(index));
      outputs.appendChild(h("figure", { class: `rnb-output rnb-${kind}` }, [item.element, button]));
    });
    outputs.setAttribute("data-count", String(urls.length));
    show(outputs, urls.length > 0);
  }

  function onMessage(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    const req = pending.get(msg.req);
    if (req === undefined) return;
    pending.delete(msg.req);
    const item = items[req.index];
    if (!item) return;
    if (msg.type === "bytes" && buffers && buffers.length > 0) {
      if (req.purpose === "download") {
        const blob = new Blob([buffers[0]], { type: safeMime(msg.mime, item.kind) });
        saveAs(d.blobUrl(blob), item.fileName);
      } else {
        item.receiveBytes(buffers[0], msg.mime);
      }
    } else if (req.purpose === "show") {
      item.fail(msg.error);
    }
  }

  // ---------------------------------------------------------------- wiring
  let clockTimer = d.interval(updateClock, 1000);
  d.listen(cancelBtn, "click", () => {
    cancelBtn.disabled = true;
    cancelBtn.textContent = "Cancelling…";
    model.send({ type: "cancel" });
  });
  d.listen(retryBtn, "click", () => model.send({ type: "retry" }));
  const onTime = () => {
    stamp = Date.now();
    updateClock();
  };
  for (const name of ["status", "progress", "note", "failure", "failure_code", "hint", "error",
                      "finished", "cancelling", "task_id", "endpoint"]) {
    d.modelOn(model, `change:${name}`, updateStatus);
  }
  d.modelOn(model, "change:elapsed", onTime);
  d.modelOn(model, "change:eta", onTime);
  d.modelOn(model, "change:caption", () => {
    updateCaption();
    updateStatus();
  });
  d.modelOn(model, "change:outputs", updateOutputs);
  d.modelOn(model, "change:kinds", updateOutputs);
  d.modelOn(model, "msg:custom", onMessage);

  updateCaption();
  updateStatus();
  updateOutputs();
  model.send({ type: "view" });

  return () => {
    d.dispose();
    pending.clear();
    root.remove();
  };
}

export default { render };
