// The request/response channel between a view and the kernel (createChannel in src/common.js).
// Run: cd js && node --test
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";

import { installFakes, MockModel, FakeEvent, flush } from "./fake_dom.js";
import { CallError, Disposer, createChannel } from "../src/common.js";
import taskView from "../src/task_view.js";
import grid from "../src/grid.js";
import panel from "../src/panel.js";

const VIDEO = "http://127.0.0.1:9999/_sim/outputs/abc/0.mp4";

let fakes;
beforeEach(() => {
  fakes = installFakes();
});
afterEach(() => {
  fakes.restore();
});

test("a request carries an id and resolves with the answer of the same id", async () => {
  const model = new MockModel({});
  const d = new Disposer();
  const channel = createChannel(model, d);
  const first = channel.invoke("media", { index: 0 });
  const second = channel.invoke("media", { index: 1 });
  const [a, b] = model.calls("media");
  assert.notEqual(a.id, b.id);
  assert.deepEqual(a.args, { index: 0 });
  model.reply(b, { mime: "image/png" }, [new DataView(new ArrayBuffer(3))]);
  model.reply(a, { mime: "video/mp4" });
  assert.deepEqual((await second).result, { mime: "image/png" });
  assert.equal((await second).buffers.length, 1);
  assert.deepEqual((await first).result, { mime: "video/mp4" });
  assert.equal(fakes.timers.timeouts.size, 0, "deadlines cleared once answered");
  d.dispose();
});

test("an error answer rejects with the kernel's text; a notification has no id", async () => {
  const model = new MockModel({});
  const channel = createChannel(model, new Disposer());
  const call = channel.invoke("cancel");
  model.replyError(model.calls("cancel")[0], "RunwayError: nope");
  await assert.rejects(call, (err) => err instanceof CallError && !err.timedOut && err.message === "RunwayError: nope");
  channel.notify("view");
  assert.deepEqual(model.sent.at(-1).content, { kind: "rnb:call", id: null, method: "view", args: {} });
});

test("no answer within the deadline: the request rejects and the problem is shown, until the kernel answers", async () => {
  const model = new MockModel({});
  const problems = [];
  const channel = createChannel(model, new Disposer(), { timeoutMs: 5000, onProblem: (t) => problems.push(t) });
  const call = channel.invoke("media", { index: 0 });
  assert.equal([...fakes.timers.timeouts.values()][0].ms, 5000);
  fakes.runTimeouts();
  await assert.rejects(call, (err) => err instanceof CallError && err.timedOut);
  assert.match(problems.at(-1), /did not answer \(media\) within 5 s/);
  model.reply(model.calls("media")[0], {}); // too late: ignored
  channel.invoke("retry");
  model.reply(model.calls("retry")[0], {});
  assert.equal(problems.at(-1), "", "cleared by the next answer");
});

for (const [name, widget, state, selector] of [
  ["task view", taskView, { status: "RUNNING", outputs: [], kinds: [], caption: {} }, ".rnb-task"],
  ["grid", grid, { cells: [], summary: {}, error: "" }, ".rnb-grid"],
  ["panel", panel, { endpoints: [], models: [], ratios: [], durations: [], slots: [], history: [] }, ".rnb-panel"],
]) {
  test(`${name}: a kernel that does not answer shows a visible error in the widget`, async () => {
    const model = new MockModel(state);
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    const box = el.querySelector(".rnb-problem");
    assert.ok(box.hidden, "hidden while all is well");
    if (name === "task view") {
      model.update({ status: "SUCCEEDED", finished: true, outputs: [VIDEO], kinds: ["video"] });
      el.querySelector("video").dispatchEvent(new FakeEvent("error")); // asks the kernel for the bytes
    } else if (name === "grid") {
      model.update({ error: "boom" });
      el.querySelector(".rnb-retry").click();
    } else {
      model.update({ history: [{ n: 1, id: "t1", title: "x", magic: "%%runway\nx", note: "" }] });
      el.querySelector(".rnb-p-rerun").click();
    }
    fakes.runTimeouts();
    await flush();
    assert.ok(!box.hidden && !box.hasAttribute("hidden"));
    assert.match(box.textContent, /The kernel did not answer/);
    cleanup();
    assert.equal(fakes.timers.timeouts.size, 0);
  });
}
