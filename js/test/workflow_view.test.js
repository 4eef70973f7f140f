// Front-end tests of the WorkflowView widget against a mock model and a strict fake DOM.
// Run: cd js && node --test
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";

import { installFakes, MockModel, flush } from "./fake_dom.js";
import widget from "../src/workflow_view.js";

const HOSTILE = "<img src=x onerror=alert(1)>";
const IMAGE = "http://127.0.0.1:9999/_sim/outputs/abc/0.png";
const VIDEO = "http://127.0.0.1:9999/_sim/outputs/def/0.mp4";

let fakes;
beforeEach(() => {
  fakes = installFakes();
});
afterEach(() => {
  fakes.restore();
});

function node(extra) {
  return { id: "n", name: "node", type: "text_to_image", model: "gen4_image", status: "PENDING", kind: "",
           outputs: [], value: null, optional: false, error: "", error_code: "", ...extra };
}

function mount(state) {
  const model = new MockModel({
    run_id: "run-1", workflow: "Image to video", status: "RUNNING", progress: 0.5, note: "", failure: "",
    failure_code: "", partial: false, cost: null, error: "", finished: false, nodes: [], ...state,
  });
  const el = document.createElement("div");
  const cleanup = widget.render({ model, el });
  return { model, el, cleanup, root: el.querySelector(".rnb-workflow") };
}

const visible = (n) => n && !n.hidden && !n.hasAttribute("hidden");

test("nodes fill in: one row per node, players for outputs, kept when unchanged", async () => {
  const { model, root, cleanup } = mount({ nodes: [
    node({ id: "a", name: "Prompt", type: "primitive", model: "", status: "INPUT", value: "a fox" }),
    node({ id: "b", name: "Key frame", status: "RUNNING" }),
    node({ id: "c", name: "Animate", type: "image_to_video", model: "gen4_turbo" }),
  ] });
  const rows = root.querySelectorAll(".rnb-node");
  assert.equal(rows.length, 3);
  assert.equal(rows[0].getAttribute("data-status"), "INPUT");
  assert.ok(rows[0].textContent.includes("“a fox”"));
  assert.equal(root.querySelectorAll("img").length, 0);
  const first = rows[0];
  model.set("nodes", [
    node({ id: "a", name: "Prompt", type: "primitive", model: "", status: "INPUT", value: "a fox" }),
    node({ id: "b", name: "Key frame", status: "SUCCEEDED", kind: "image", outputs: [IMAGE] }),
    node({ id: "c", name: "Animate", type: "image_to_video", model: "gen4_turbo", status: "RUNNING" }),
  ]);
  const after = root.querySelectorAll(".rnb-node");
  assert.equal(after[0], first); // an unchanged node keeps its row
  assert.equal(after[1].getAttribute("data-status"), "SUCCEEDED");
  assert.equal(after[1].querySelector("img").getAttribute("src"), IMAGE);
  model.update({ status: "SUCCEEDED", finished: true, cost: 27, nodes: [
    ...model.get("nodes").slice(0, 2),
    node({ id: "c", name: "Animate", status: "SUCCEEDED", kind: "video", outputs: [VIDEO] }),
  ] });
  assert.equal(root.querySelector("video").getAttribute("src"), VIDEO);
  assert.equal(root.querySelector(".rnb-cost").textContent, "27 credits");
  cleanup();
  await flush();
});

test("a partial run and a failed node are flagged; text stays text", () => {
  const { root } = mount({ status: "SUCCEEDED", finished: true, partial: true, workflow: HOSTILE, nodes: [
    node({ id: "x", name: HOSTILE, status: "FAILED", error: HOSTILE, error_code: "ASSET.INVALID" }),
    node({ id: "y", name: "Hero", status: "SUCCEEDED", kind: "image", outputs: ["javascript:alert(1)"] }),
  ] });
  assert.ok(visible(root.querySelector(".rnb-partial")));
  assert.ok(root.querySelector(".rnb-partial").textContent.includes("1 node(s) failed"));
  const failed = root.querySelector('.rnb-node[data-status="FAILED"]');
  assert.ok(failed.querySelector(".rnb-node-error").textContent.includes(HOSTILE)); // as text, never parsed
  assert.equal(failed.querySelector(".rnb-code").textContent, "ASSET.INVALID");
  assert.equal(root.querySelectorAll("img").every((img) => !img.hasAttribute("src")), true);
  assert.ok(root.querySelector(".rnb-title").textContent.includes(HOSTILE));
});

test("a failed run shows its failure; the view notifies the kernel", () => {
  const { model, root } = mount({ status: "FAILED", finished: true, failure: "Node 'X' failed", failure_code: "INTERNAL" });
  assert.ok(visible(root.querySelector(".rnb-failure")));
  assert.ok(root.querySelector(".rnb-failure").textContent.includes("Node 'X' failed"));
  assert.equal(model.calls("view").length, 1);
});
