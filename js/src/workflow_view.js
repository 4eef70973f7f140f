// WorkflowView front end: one workflow run, live. State arrives in synced traits (see
// runway_nb/notebook/widgets/_workflow_view.py): the run's status, progress, cost and `nodes`, one
// record per node {id, name, type, model, status, kind, outputs, value, optional, error, error_code}.
// Requests on the channel (createChannel in common.js): notify "view" on render; notify
// "media_status" {results} once every output loaded or failed; invoke "retry"; invoke "media"
// {node, index, purpose} -> {mime} + the output's bytes, when a URL does not load in this browser.
// Everything is built with textContent/setAttribute (h() in common.js); URLs pass safeUrl().
import { MediaItem, asList, asRecord, badgeClass, h, mount, progressPercent, show } from "./common.js";

/** @typedef {import("./common.js").Channel} Channel */
/** @typedef {import("./common.js").Disposer} Disposer */
/** @typedef {(name: string, fallback?: any) => any} Read */
/** @typedef {ReturnType<typeof skeleton>} Parts */

/** Node statuses beyond a task's: an input of the workflow, a node the run ended without. */
const NODE_CLASS = Object.freeze({ INPUT: "rnb-badge rnb-s-input", SKIPPED: "rnb-badge rnb-s-skipped" });

/** @param {unknown} status */
function nodeBadge(status) {
  const key = String(status);
  return Object.prototype.hasOwnProperty.call(NODE_CLASS, key)
    ? NODE_CLASS[/** @type {keyof typeof NODE_CLASS} */ (key)] : badgeClass(key);
}

/** @param {HTMLElement} problem */
function skeleton(problem) {
  const badge = h("span", { class: "rnb-badge" });
  const title = h("span", { class: "rnb-title" });
  const cost = h("span", { class: "rnb-cost" });
  const retryBtn = h("button", { class: "rnb-btn rnb-retry", type: "button", title: "Resume watching this run" },
    "Retry");
  const fill = h("div", { class: "rnb-fill" });
  const bar = h("div", { class: "rnb-bar", role: "progressbar", "aria-label": "Progress", "aria-valuemin": "0", "aria-valuemax": "100" }, fill);
  const note = h("div", { class: "rnb-note" });
  const partial = h("div", { class: "rnb-partial", role: "alert" });
  const failure = h("div", { class: "rnb-failure", role: "alert" });
  const error = h("div", { class: "rnb-error", role: "alert" });
  const nodes = h("ul", { class: "rnb-nodes" });
  const runId = h("div", { class: "rnb-id" });
  const root = h("div", { class: "rnb-task rnb-workflow" }, [
    h("div", { class: "rnb-head" }, [badge, title, cost, retryBtn]),
    bar, note, partial, failure, error, problem, nodes, runId,
  ]);
  return { root, badge, title, cost, retryBtn, fill, bar, note, partial, failure, error, nodes, runId };
}

/**
 * @param {Parts} ui
 * @param {Read} read
 */
function renderStatus(ui, read) {
  const status = String(read("status", "PENDING"));
  const finished = !!read("finished", false);
  ui.root.setAttribute("data-status", status);
  ui.badge.className = badgeClass(status);
  ui.badge.textContent = status;
  const name = String(read("workflow", ""));
  ui.title.textContent = name ? `workflow · ${name}` : "workflow";
  const cost = read("cost");
  ui.cost.textContent = typeof cost === "number" && isFinite(cost) ? `${cost} credits` : "";
  const pct = progressPercent(status, read("progress"));
  ui.fill.style.width = `${pct.toFixed(1)}%`;
  ui.bar.setAttribute("aria-valuenow", pct.toFixed(0));
  ui.bar.setAttribute("data-indeterminate", status === "PENDING" || status === "THROTTLED" ? "true" : "false");
  show(ui.bar, !finished || status === "SUCCEEDED");
  const note = String(read("note", ""));
  ui.note.textContent = note;
  show(ui.note, note.length > 0);
  const failedNodes = asList(read("nodes", [])).filter((n) => asRecord(n).status === "FAILED").length;
  ui.partial.textContent = read("partial", false)
    ? `Partial run: ${failedNodes} node(s) failed; the others produced their outputs.` : "";
  show(ui.partial, !!read("partial", false));
  ui.failure.textContent = "";
  const code = String(read("failure_code", ""));
  if (code) ui.failure.appendChild(h("code", { class: "rnb-code" }, code));
  ui.failure.appendChild(document.createTextNode(String(read("failure", "")) || "The run failed."));
  show(ui.failure, status === "FAILED");
  const err = String(read("error", ""));
  ui.error.textContent = err;
  show(ui.error, err.length > 0);
  show(ui.retryBtn, err.length > 0 && !finished);
  const id = String(read("run_id", ""));
  ui.runId.textContent = id ? `run ${id}` : "";
}

/**
 * The nodes: one row each, rebuilt when a node changes; players for outputs, bytes through the
 * kernel when a URL does not load here; reports media_status once every output settled.
 * @param {Parts} ui
 * @param {Read} read
 * @param {Disposer} d
 * @param {Channel} channel
 */
function createNodes(ui, read, d, channel) {
  /** @type {Map<string, { key: string, row: HTMLElement, items: MediaItem[] }>} */
  let rows = new Map();
  let reported = false;

  const reportIfSettled = () => {
    const items = [...rows.values()].flatMap((r) => r.items);
    const unsettled = items.some((it) => it.settled === null);
    if (reported || items.length === 0 || unsettled || !read("finished", false)) return;
    reported = true;
    channel.notify("media_status", { results: items.map((it) => it.settled) });
  };

  /**
   * @param {Record<string, any>} node
   * @param {number} position
   */
  const buildRow = (node, position) => {
    const facts = [String(node.type || "").replace(/_/g, " "), String(node.model || ""),
                   node.optional ? "optional" : ""].filter(Boolean).join(" · ");
    const attrs = { class: "rnb-node", "data-status": String(node.status || ""), "data-node": String(node.id || "") };
    const row = h("li", attrs, [
      h("div", { class: "rnb-node-head" }, [
        h("span", { class: nodeBadge(node.status) }, String(node.status || "")),
        h("strong", {}, String(node.name || node.id || "")),
        facts ? h("span", { class: "rnb-node-facts" }, facts) : null,
      ]),
    ]);
    if (node.value !== null && node.value !== undefined && node.value !== "") {
      row.appendChild(h("div", { class: "rnb-node-value" }, `“${String(node.value)}”`));
    }
    if (node.error) {
      const box = h("div", { class: "rnb-node-error", role: "alert" });
      if (node.error_code) box.appendChild(h("code", { class: "rnb-code" }, String(node.error_code)));
      box.appendChild(document.createTextNode(String(node.error)));
      row.appendChild(box);
    }
    /** @type {MediaItem[]} */
    const items = [];
    const outputs = asList(node.outputs);
    if (outputs.length > 0) {
      const box = h("div", { class: "rnb-node-outputs" });
      outputs.forEach((url, index) => {
        const item = new MediaItem({
          url, kind: node.kind, index, disposer: d,
          fetchBytes: (i) => channel.invoke("media", { node: position, index: i, purpose: "show" }),
          onSettled: reportIfSettled,
        });
        item.element.setAttribute("aria-label", `${String(node.name || "node")}: output ${index + 1}`);
        items.push(item);
        box.appendChild(h("figure", { class: "rnb-node-output" }, item.element));
      });
      row.appendChild(box);
    }
    return { row, items };
  };

  return () => {
    const nodes = asList(read("nodes", [])).map(asRecord);
    /** @type {Map<string, { key: string, row: HTMLElement, items: MediaItem[] }>} */
    const next = new Map();
    nodes.forEach((node, position) => {
      const key = JSON.stringify([position, node]);
      const id = String(node.id || position);
      const old = rows.get(id);
      // a row whose node did not change keeps its players (a playing video is not reloaded)
      const entry = old && old.key === key ? old : { key, ...buildRow(node, position) };
      next.set(id, entry);
      ui.nodes.appendChild(entry.row); // in node order; an existing row moves
    });
    for (const [id, old] of rows) if (next.get(id) !== old) old.row.remove(); // gone, or rebuilt
    rows = next;
    reportIfSettled();
  };
}

const STATUS_TRAITS = ["status", "progress", "note", "failure", "failure_code", "partial", "cost", "error",
                       "finished", "run_id", "workflow"];

/** @type {import("@anywidget/types").Render} */
function render({ model, el }) {
  const { d, read, channel, ui } = mount(model, el, skeleton);
  const updateNodes = createNodes(ui, read, d, channel);
  const updateStatus = () => renderStatus(ui, read);
  d.listen(ui.retryBtn, "click", () => channel.act("retry"));
  for (const name of STATUS_TRAITS) d.modelOn(model, `change:${name}`, updateStatus);
  d.modelOn(model, "change:nodes", () => {
    updateNodes();
    updateStatus();
  });
  d.modelOn(model, "change:finished", updateNodes);
  updateStatus();
  updateNodes();
  channel.notify("view");
  return () => {
    d.dispose();
    ui.root.remove();
  };
}

export default { render };
