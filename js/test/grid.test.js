// Front-end tests of the comparison grid against a mock model and a strict fake DOM.
// Run: cd js && node --test
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";

import { installFakes, MockModel, FakeEvent, flush } from "./fake_dom.js";
import { safeUrl, Disposer } from "../src/common.js";
import { SyncGroup } from "../src/sync_group.js";
import widget from "../src/grid.js";

const HOSTILE = "<img src=x onerror=alert(1)>";
const URL0 = "http://127.0.0.1:9999/_sim/outputs/a/0.mp4";
const URL1 = "http://127.0.0.1:9999/_sim/outputs/b/0.mp4";

let fakes;
beforeEach(() => {
  fakes = installFakes();
});
afterEach(() => {
  fakes.restore();
});

function cell(index, extra) {
  const shapes = [[1280, 720], [720, 1280], [1280, 720], [720, 1280]];
  const [width, height] = shapes[index % 4];
  return {
    index, id: `task-${index}`, row: Math.floor(index / 2), col: index % 2, label: `model m${index}`,
    endpoint: "image_to_video", width, height, ratio: `${width}:${height}`, duration: 5,
    status: "PENDING", progress: null, note: "", failure: "", failure_code: "", hint: "",
    outputs: [], kinds: [], files: [], finished: false, cancelling: false, credits: 25,
    caption: { prompt: "a fox", model: `m${index}`, ratio: `${width}:${height}`, seed: 7, duration: 5, credits: 25 },
    ...extra,
  };
}

function state(extra) {
  return {
    title: "Sweep of 4 tasks", fixed: [["prompt", "a fox"], ["image", "kite.png"]],
    row_title: "model", col_title: "ratio", row_labels: ["gen4_turbo", "gen4.5"],
    col_labels: ["1280:720", "720:1280"], columns: 2, wrap: false, max_height: 320,
    cells: [0, 1, 2, 3].map((i) => cell(i)),
    summary: { total: 4, done: 0, failed: 0, running: 0, queued: 4, throttled: 0, cancelled: 0, credits: 100,
               estimated: true },
    error: "", finished: false, ...extra,
  };
}

function mount(extra) {
  const model = new MockModel(state(extra));
  const el = document.createElement("div");
  const cleanup = widget.render({ model, el });
  return { model, el, cleanup, root: el.querySelector(".rnb-grid") };
}

const visible = (node) => node && !node.hidden && !node.hasAttribute("hidden");
const cells = (el) => el.querySelectorAll(".rnb-g-cell");

/** Turn the fake <video> elements into minimal media elements: duration, time, play/pause. */
function mediaify(video, duration) {
  video.duration = duration;
  video.currentTime = 0;
  video.paused = true;
  video.ended = false;
  video.plays = 0;
  video.play = () => {
    video.paused = false;
    video.plays += 1;
    return Promise.resolve();
  };
  video.pause = () => {
    video.paused = true;
  };
  video.dispatchEvent(new FakeEvent("loadedmetadata"));
  return video;
}

function succeed(model, urls) {
  const done = [0, 1, 2, 3].map((i) => cell(i, { status: "SUCCEEDED", finished: true, progress: null,
    outputs: urls ? [urls[i % urls.length]] : [i % 2 ? URL1 : URL0], kinds: ["video"] }));
  model.update({ cells: done, finished: true,
    summary: { total: 4, done: 4, failed: 0, running: 0, queued: 0, throttled: 0, cancelled: 0, credits: 100 } });
}

// ------------------------------------------------------------------ layout
test("renders a header, row and column labels, and one cell per task in its place", () => {
  const { el, root, model } = mount();
  assert.equal(root.querySelector(".rnb-g-title").textContent, "Sweep of 4 tasks");
  assert.equal(root.querySelector(".rnb-g-fixed").textContent, "“a fox” · image kite.png");
  assert.deepEqual(root.querySelectorAll(".rnb-g-colhead").map((n) => n.textContent), ["1280:720", "720:1280"]);
  assert.deepEqual(root.querySelectorAll(".rnb-g-rowhead").map((n) => n.textContent), ["gen4_turbo", "gen4.5"]);
  // each column as wide as its pictures (the portrait column is narrow); the row headers take what is left
  assert.equal(root.querySelector(".rnb-g-table").style.gridTemplateColumns,
    "minmax(96px, 1fr) minmax(0, 569px) minmax(0, 180px)");
  const all = cells(el);
  assert.equal(all.length, 4);
  // cell 3 is row 1, col 1: below the column headers and right of the row headers
  assert.equal(all[3].style.gridRow, "3");
  assert.equal(all[3].style.gridColumn, "3");
  assert.deepEqual(model.sent[0].content, { kind: "rnb:call", id: null, method: "view", args: {} }, "a notification");
});

test("each cell's box has its output's true shape", () => {
  const { el } = mount();
  const frames = el.querySelectorAll(".rnb-g-frame");
  assert.equal(frames[0].style.aspectRatio, "1280 / 720");
  assert.equal(frames[0].style.width, "min(100%, 568.9px)");
  assert.equal(frames[1].style.aspectRatio, "720 / 1280");
  assert.equal(frames[1].style.width, "min(100%, 180.0px)");
  assert.equal(frames[1].getAttribute("data-ratio"), "720:1280");
});

test("wrap mode labels each cell and has no headers", () => {
  const { el, root } = mount({ wrap: true, row_labels: [], col_labels: [], columns: 4 });
  assert.equal(root.querySelectorAll(".rnb-g-colhead").length, 0);
  assert.equal(root.querySelector(".rnb-g-table").style.gridTemplateColumns,
    "minmax(0, 569px) minmax(0, 180px) minmax(0, 569px) minmax(0, 569px)");
  assert.equal(cells(el)[2].querySelector(".rnb-g-label").textContent, "model m2");
});

test("live mini views: status, progress, THROTTLED shown as queued with its note, failure with hint", () => {
  const { el, model } = mount();
  const note = "Waiting for a free slot: the account's concurrency limit for this model is reached";
  model.update({ cells: [
    cell(0, { status: "RUNNING", progress: 0.4 }),
    cell(1, { status: "THROTTLED", note }),
    cell(2, { status: "FAILED", finished: true, failure: "flagged", failure_code: "SAFETY.INPUT.TEXT",
              hint: "Content moderation rejected an input" }),
    cell(3),
  ] });
  const [a, b, c] = cells(el);
  assert.equal(a.getAttribute("data-status"), "RUNNING");
  assert.equal(a.querySelector(".rnb-fill").style.width, "40.0%");
  assert.equal(a.querySelector(".rnb-g-pstatus").textContent, "RUNNING 40%");
  assert.equal(b.querySelector(".rnb-badge").textContent, "QUEUED");
  assert.ok(b.querySelector(".rnb-badge").classList.contains("rnb-s-throttled"));
  assert.equal(b.querySelector(".rnb-g-note").textContent, note);
  assert.equal(b.querySelector(".rnb-bar").getAttribute("data-indeterminate"), "true");
  assert.ok(visible(c.querySelector(".rnb-g-failure")));
  assert.equal(c.querySelector(".rnb-code").textContent, "SAFETY.INPUT.TEXT");
  assert.match(c.querySelector(".rnb-g-failure").textContent, /flagged.*Content moderation/);
  assert.ok(!visible(c.querySelector(".rnb-g-x")), "no cancel on a finished cell");
});

test("the summary line counts done, failed, running, queued and credits", () => {
  const { root, model } = mount();
  model.update({ summary: { total: 4, done: 1, failed: 1, running: 1, queued: 1, throttled: 1, cancelled: 0,
                            credits: 75, estimated: true } });
  assert.equal(root.querySelector(".rnb-g-summary").textContent,
    "4 tasks · 1 done · 1 failed · 1 running · 1 queued (1 waiting for a concurrency slot) · ~75 credits");
  assert.ok(visible(root.querySelector(".rnb-g-cancel-all")));
  assert.equal(root.querySelector(".rnb-g-freeze"), null, "saving keeps the static grid: no button for it");
});

// ------------------------------------------------------------------ actions
test("cancel a cell or all of them", () => {
  const { el, root, model } = mount();
  cells(el)[2].querySelector(".rnb-g-x").click();
  assert.deepEqual(model.sent.at(-1).content, { kind: "rnb:call", id: model.sent.at(-1).content.id, method: "cancel",
    args: { cell: 2 } });
  assert.equal(typeof model.sent.at(-1).content.id, "number", "a request, answered by the kernel");
  root.querySelector(".rnb-g-cancel-all").click();
  assert.equal(model.sent.at(-1).content.method, "cancel_all");
  model.update({ cells: [0, 1, 2, 3].map((i) => cell(i, { cancelling: i === 2 })) });
  assert.equal(cells(el)[2].querySelector(".rnb-g-x").disabled, true);
});

test("finished cells become players; the transport appears; nothing asks to freeze", () => {
  const { el, root, model } = mount();
  assert.ok(!visible(root.querySelector(".rnb-g-transport")), "no transport before any video");
  succeed(model);
  const videos = el.querySelectorAll("video");
  assert.equal(videos.length, 4);
  for (const v of videos) {
    assert.ok(v.hasAttribute("muted") && v.hasAttribute("playsinline"));
    assert.ok(!v.hasAttribute("controls"), "the grid's transport controls them");
    assert.ok(!v.hasAttribute("loop"), "the group loops them");
    assert.equal(v.muted, true);
  }
  assert.ok(!visible(cells(el)[0].querySelector(".rnb-g-placeholder")));
  assert.ok(visible(root.querySelector(".rnb-g-transport")));
  assert.equal(root.querySelector(".rnb-g-freeze"), null);
  assert.ok(!model.sent.some((m) => m.content.method === "freeze"));
});

test("synced playback: Play starts every video at the same time; Pause stops them all", () => {
  const { el, root, model } = mount();
  succeed(model);
  const videos = el.querySelectorAll("video").map((v) => mediaify(v, 5));
  root.querySelector(".rnb-g-play").click();
  assert.ok(videos.every((v) => !v.paused), "all playing");
  assert.equal(root.querySelector(".rnb-g-play").textContent, "Pause all");
  assert.equal(root.querySelector(".rnb-g-icon").getAttribute("aria-hidden"), "true");
  assert.equal(root.getAttribute("data-playing"), "true");
  // the leader advances; a follower that drifted is pulled back in line
  for (const v of videos) v.currentTime = 2.0;
  videos[3].currentTime = 1.2;
  fakes.tickIntervals();
  assert.equal(videos[3].currentTime, 2.0);
  assert.equal(root.querySelector(".rnb-g-time").textContent, "2.0 / 5.0 s");
  root.querySelector(".rnb-g-play").click();
  assert.ok(videos.every((v) => v.paused), "all paused");
});

test("scrubbing seeks every video; different lengths share one timeline", () => {
  const { el, root, model } = mount();
  succeed(model);
  const [a, b, c, dd] = el.querySelectorAll("video");
  mediaify(a, 4);
  mediaify(b, 8);
  mediaify(c, 4);
  mediaify(dd, 8);
  const scrub = root.querySelector(".rnb-g-scrub");
  scrub.value = "750"; // 75 % of the longest (8 s) = 6 s
  scrub.dispatchEvent(new FakeEvent("input"));
  assert.equal(b.currentTime, 6);
  assert.equal(dd.currentTime, 6);
  assert.equal(a.currentTime, 3.95, "a shorter video holds its last frame");
  scrub.dispatchEvent(new FakeEvent("change"));
  root.querySelector(".rnb-g-play").click();
  assert.ok(!b.paused && !dd.paused);
  assert.ok(a.paused && c.paused, "past their end: they wait for the loop");
});

test("the group loops when the longest video ends, unless Loop is off", () => {
  const { el, root, model } = mount();
  succeed(model);
  const videos = el.querySelectorAll("video").map((v, i) => mediaify(v, i % 2 ? 6 : 3));
  root.querySelector(".rnb-g-play").click();
  for (const v of videos) v.currentTime = Math.min(5.99, v.duration);
  videos[1].ended = true;
  fakes.tickIntervals();
  assert.ok(videos.every((v) => v.currentTime === 0 && !v.paused), "restarted together");
  const loop = root.querySelector(".rnb-g-loop");
  loop.checked = false;
  loop.dispatchEvent(new FakeEvent("change"));
  for (const v of videos) v.currentTime = Math.min(5.99, v.duration);
  fakes.tickIntervals();
  assert.ok(videos.every((v) => v.paused), "stopped at the end");
  assert.equal(root.querySelector(".rnb-g-play").textContent, "Play all");
});

test("click to enlarge shows the cell big, with controls, and closes again", () => {
  const { el, root, model } = mount();
  succeed(model);
  const focus = root.querySelector(".rnb-g-focus");
  assert.ok(!visible(focus));
  cells(el)[1].querySelector(".rnb-g-frame").click();
  assert.ok(visible(focus));
  const big = focus.querySelector("video");
  assert.ok(big.hasAttribute("controls") && big.hasAttribute("loop") && big.hasAttribute("muted"));
  assert.equal(big.getAttribute("src"), URL1);
  assert.equal(focus.querySelector(".rnb-g-focus-frame").style.aspectRatio, "720 / 1280");
  assert.match(focus.textContent, /“a fox”/);
  focus.querySelector(".rnb-g-close").click();
  assert.ok(!visible(focus));
  cells(el)[0].querySelector(".rnb-g-frame").click();
  cells(el)[0].querySelector(".rnb-g-frame").click();
  assert.ok(!visible(focus), "a second click on the same cell closes it");
});

// ------------------------------------------------------------------ security and media fallback
test("hostile strings stay text; unsafe URLs never reach src", () => {
  const { el, model } = mount({ title: HOSTILE, fixed: [["prompt", HOSTILE]], row_labels: [HOSTILE, "b"],
                                col_labels: [HOSTILE, "d"] });
  model.update({ cells: [0, 1, 2, 3].map((i) => cell(i, { label: HOSTILE, status: "SUCCEEDED", finished: true,
    outputs: [["javascript:alert(1)", "data:text/html,<script>x</script>", URL0, HOSTILE][i]], kinds: ["video"],
    caption: { prompt: HOSTILE }, note: HOSTILE })), error: HOSTILE });
  cells(el)[0].querySelector(".rnb-g-frame").click();
  assert.equal(fakes.doc.eventHandlerAttributes.length, 0);
  assert.equal(el.querySelectorAll("img").length, 0, "no markup parsed from data (all outputs are videos)");
  assert.ok(el.serialize().includes("&lt;img src=x onerror=alert(1)&gt;"), "shown as text");
  assert.ok(el.textContent.includes(HOSTILE));
  for (const [, , url] of fakes.doc.urlWrites) assert.notEqual(safeUrl(url), null, url);
  assert.ok(fakes.doc.urlWrites.some(([, , url]) => url === URL0));
  // the unsafe ones asked the kernel for bytes, by cell and index, never by URL
  const asks = model.calls("media").map((m) => m.args);
  assert.deepEqual(asks.map((a) => [a.cell, a.index]), [[0, 0], [1, 0], [3, 0]]);
  assert.ok(asks.every((a) => !("url" in a)));
});

test("an output that does not load comes through the kernel as a blob: URL", async () => {
  const { el, model, cleanup } = mount();
  succeed(model);
  const v = cells(el)[2].querySelector("video");
  v.dispatchEvent(new FakeEvent("error"));
  const ask = model.calls("media")[0];
  assert.deepEqual([ask.args.cell, ask.args.index], [2, 0]);
  model.reply(ask, { mime: "text/html" }, [new DataView(new ArrayBuffer(4))]);
  await flush();
  assert.equal(fakes.blobs.created.length, 1);
  assert.equal(fakes.blobs.created[0].blob.type, "video/mp4", "a non-media mime is not trusted");
  assert.equal(v.getAttribute("src"), fakes.blobs.created[0].url);
  for (const video of el.querySelectorAll("video")) video.dispatchEvent(new FakeEvent("loadeddata"));
  const status = model.calls("media_status").at(-1).args;
  assert.deepEqual(status.results, ["loaded", "loaded", "relayed", "loaded"]);
  cleanup();
  assert.deepEqual(fakes.blobs.revoked, [fakes.blobs.created[0].url]);
});

test("errors show with Retry; cleanup removes timers, listeners and the DOM", () => {
  const { el, root, model, cleanup } = mount();
  model.update({ error: "could not refresh task x, retrying: ConnectionError: down" });
  assert.ok(visible(root.querySelector(".rnb-g-error")));
  root.querySelector(".rnb-retry").click();
  assert.equal(model.sent.at(-1).content.method, "retry");
  succeed(model);
  el.querySelectorAll("video").map((v) => mediaify(v, 5));
  root.querySelector(".rnb-g-play").click();
  assert.equal(fakes.timers.intervals.size, 1);
  cleanup();
  assert.equal(fakes.timers.intervals.size, 0);
  assert.equal(model.handlerCount(), 0);
  assert.equal(el.children.length, 0);
});

test("SyncGroup alone: members that load later join at the group's time", () => {
  const d = new Disposer();
  const ticks = [];
  const group = new SyncGroup({ disposer: d, onTick: (t, total, playing) => ticks.push([t, total, playing]) });
  const a = mediaify(document.createElement("video"), 5);
  group.add("a", a);
  group.play();
  a.currentTime = 1.5;
  const b = document.createElement("video");
  group.add("b", b);
  mediaify(b, 5); // its metadata arrives now
  assert.equal(b.currentTime, 1.5);
  assert.equal(b.paused, false);
  assert.equal(group.total(), 5);
  d.dispose();
});

test("SyncGroup: a small drift is played away (speed nudged), a large one seeked; Pause restores the speed", () => {
  const d = new Disposer();
  const group = new SyncGroup({ disposer: d });
  const [lead, ahead, behind, inline, far] = ["lead", "ahead", "behind", "inline", "far"].map((key) => {
    const v = mediaify(document.createElement("video"), 5);
    group.add(key, v);
    return v;
  });
  group.play();
  lead.currentTime = 2.0;
  ahead.currentTime = 2.05;
  behind.currentTime = 1.95;
  inline.currentTime = 2.01;
  far.currentTime = 1.5;
  group.tick();
  assert.equal(ahead.currentTime, 2.05, "not seeked");
  assert.ok(ahead.playbackRate < 1 && ahead.playbackRate >= 0.9, `ahead plays slower: ${ahead.playbackRate}`);
  assert.ok(behind.playbackRate > 1 && behind.playbackRate <= 1.1, `behind plays faster: ${behind.playbackRate}`);
  assert.equal(inline.playbackRate, 1, "within half a frame: left alone");
  assert.equal(far.currentTime, 2.0, "a large drift is seeked");
  assert.equal(far.playbackRate, 1);
  ahead.currentTime = 2.0;  // back in line
  group.tick();
  assert.equal(ahead.playbackRate, 1);
  group.pause();
  assert.ok([lead, ahead, behind, inline, far].every((v) => v.playbackRate === 1 && v.paused));
  d.dispose();
});

test("a running cell shows its time left next to its percentage when the kernel has an estimate", () => {
  const { el, model } = mount();
  model.update({ cells: [
    cell(0, { status: "RUNNING", progress: 0.4, eta: 18 }),
    cell(1, { status: "RUNNING", progress: 0.2, eta: null }),
    cell(2, { status: "SUCCEEDED", finished: true, eta: null }),
    cell(3),
  ] });
  const [a, b] = cells(el);
  assert.equal(a.querySelector(".rnb-g-pstatus").textContent, "RUNNING 40% · ≈ 18 s left");
  assert.equal(b.querySelector(".rnb-g-pstatus").textContent, "RUNNING 20%");
});

// ------------------------------------------------------------------ issue 16: labels, names, dialog, announcements
test("headers show each option's name and value on its own line, the full text as the tooltip", () => {
  const long = "The camera slowly pushes in through the fog towards a lighthouse at dusk";
  const { root } = mount({
    row_labels: ["a", "b"], row_lines: [[["prompt", long], ["model", "gen4_turbo"]], [["prompt", "b"], ["model", "gen4.5"]]],
    col_lines: [[["ratio", "1280:720"]], [["ratio", "720:1280"]]],
  });
  const row = root.querySelectorAll(".rnb-g-rowhead")[0];
  const lines = row.querySelectorAll(".rnb-g-hline");
  assert.equal(lines.length, 2);
  assert.equal(lines[0].querySelector(".rnb-g-axis").textContent, "prompt");
  assert.equal(lines[0].querySelector(".rnb-g-val").textContent, long, "not cut at 30 characters");
  assert.equal(lines[1].textContent, "model gen4_turbo");
  assert.equal(row.getAttribute("title"), `prompt ${long}\nmodel gen4_turbo`);
  assert.equal(root.querySelectorAll(".rnb-g-colhead")[1].textContent, "ratio 720:1280");
  assert.equal(root.querySelectorAll(".rnb-g-corner").length, 0, "the axis names are in the headers");
});

test("each cell's buttons are named by the cell, and the × sits on its frame", () => {
  const { el } = mount({ cells: [0, 1, 2, 3].map((i) => cell(i, { name: `m${i}, r${i}` })) });
  const c = cells(el)[1];
  assert.equal(c.querySelector(".rnb-g-frame").getAttribute("aria-label"), "Enlarge m1, r1");
  assert.equal(c.querySelector(".rnb-g-x").getAttribute("aria-label"), "Cancel m1, r1");
  const box = c.querySelector(".rnb-g-box");
  assert.ok(box.children.includes(c.querySelector(".rnb-g-x")), "the × is in the frame's box");
  assert.equal(box.style.width, c.querySelector(".rnb-g-frame").style.width);
  assert.equal(c.querySelector(".rnb-g-meta").querySelector(".rnb-g-x"), null);
});

test("the status shows once per cell: in the placeholder, no badge beside it", () => {
  const { el } = mount();
  const c = cells(el)[0];
  assert.equal(c.querySelector(".rnb-g-pstatus").textContent, "PENDING");
  assert.ok(!visible(c.querySelector(".rnb-badge")));
  assert.ok(!visible(c.querySelector(".rnb-g-meta")), "nothing else to say under a headed cell");
});

test("status changes are announced once through a polite live region, not per progress tick", () => {
  const { root, model } = mount({ cells: [0, 1, 2, 3].map((i) => cell(i, { name: `m${i}, r${i}` })) });
  const live = root.querySelector(".rnb-g-announce");
  assert.equal(live.getAttribute("aria-live"), "polite");
  assert.equal(live.textContent, "", "nothing said on the first render");
  assert.equal(root.querySelector(".rnb-g-summary").getAttribute("aria-live"), null);
  const at = (progress, status = "RUNNING") => [0, 1, 2, 3].map((i) => cell(i, i === 1
    ? { name: "m1, r1", status, progress, finished: status === "SUCCEEDED" } : { name: `m${i}, r${i}` }));
  model.update({ cells: at(0.1) });
  assert.equal(live.textContent, "m1, r1 running");
  live.textContent = "";
  model.update({ cells: at(0.5) });
  assert.equal(live.textContent, "", "a progress tick says nothing");
  model.update({ cells: at(null, "SUCCEEDED") });
  assert.equal(live.textContent, "m1, r1 succeeded");
});

test("the enlarged view is a labelled modal dialog laid over the grid", () => {
  const { el, root } = mount({ cells: [0, 1, 2, 3].map((i) => cell(i, { name: `m${i}, r${i}` })) });
  const dialog = root.querySelector(".rnb-g-focus");
  assert.equal(dialog.getAttribute("role"), "dialog");
  assert.equal(dialog.getAttribute("aria-modal"), "true");
  cells(el)[2].querySelector(".rnb-g-frame").dispatchEvent(Object.assign(new FakeEvent("keydown"), { key: "Enter" }));
  assert.ok(visible(dialog));
  const title = dialog.querySelector(".rnb-g-focus-label");
  assert.equal(title.getAttribute("id"), dialog.getAttribute("aria-labelledby"));
  assert.equal(title.textContent, "m2, r2");
  root.dispatchEvent(Object.assign(new FakeEvent("keydown"), { key: "Escape" }));
  assert.ok(!visible(dialog));
});
