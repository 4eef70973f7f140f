// Front-end tests of the TaskView widget against a mock model and a strict fake DOM.
// Run: cd js && node --test
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";

import { installFakes, MockModel, FakeEvent, flush } from "./fake_dom.js";
import { safeUrl, absoluteUrl, mediaKind, formatDuration, h } from "../src/common.js";
import widget from "../src/task_view.js";

const HOSTILE = "<img src=x onerror=alert(1)>";
const VIDEO = "http://127.0.0.1:9999/_sim/outputs/abc/0.mp4";

let fakes;
beforeEach(() => {
  fakes = installFakes();
});
afterEach(() => {
  fakes.restore();
});

function baseState(extra) {
  return {
    task_id: "abc-123", endpoint: "image_to_video", status: "PENDING", progress: null,
    elapsed: 0, eta: null, note: "", failure: "", failure_code: "", hint: "",
    outputs: [], kinds: [], files: [], caption: { prompt: "a cat", model: "gen4_turbo", ratio: "1280:720",
      seed: 42, duration: 5, credits: 25 },
    shape: { width: 1280, height: 720 },
    error: "", finished: false, cancelling: false, ...extra,
  };
}

function mount(state) {
  const model = new MockModel(baseState(state));
  const el = document.createElement("div");
  const cleanup = widget.render({ model, el });
  return { model, el, cleanup, root: el.querySelector(".rnb-task") };
}

const visible = (node) => node && !node.hidden && !node.hasAttribute("hidden");

// ------------------------------------------------------------------ safeUrl
test("safeUrl accepts http(s), raster/video data:, blob: and relative paths", () => {
  for (const url of [
    "https://dnznrvs05pmza.cloudfront.net/abc/0.mp4?_jwt=x.y.z",
    "http://127.0.0.1:8080/_sim/outputs/t/0.mp4",
    "data:image/png;base64,iVBORw0KGgo=",
    "data:video/mp4;base64,AAAA",
    "blob:http://localhost:8888/1b2c",
    "runway_outputs/abc_0.mp4",
    "../out/a%20b.png",
  ]) {
    assert.equal(safeUrl(url), url, url);
  }
});

test("safeUrl refuses scripts, other schemes and tricks", () => {
  for (const url of [
    "javascript:alert(1)", "JAVASCRIPT:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "java\nscript:alert(1)", "vbscript:msgbox(1)", "data:text/html,<script>alert(1)</script>",
    "data:image/svg+xml,<svg onload=alert(1)>", "file:///etc/passwd", "//evil.example/x.mp4",
    "/etc/passwd", "https://", "https:///path", "http://exa mple.com/", "\\\\server\\share",
    HOSTILE, "x:y", "", null, undefined, 42, {}, "https://ok.example/\u2028",
  ]) {
    assert.equal(safeUrl(url), null, String(url));
  }
});

test("absoluteUrl refuses relative paths (a widget would resolve them against the server)", () => {
  assert.equal(absoluteUrl("../../logout"), null);
  assert.equal(absoluteUrl("runway_outputs/a.mp4"), null);
  assert.equal(absoluteUrl(VIDEO), VIDEO);
  assert.equal(absoluteUrl("data:image/png;base64,AA"), "data:image/png;base64,AA");
  assert.equal(absoluteUrl("javascript:alert(1)"), null);
});

test("h() refuses event-handler attributes and unsafe URLs, and escapes text", () => {
  assert.throws(() => h("img", { onerror: "alert(1)" }), /event-handler/);
  const img = h("img", { src: "javascript:alert(1)" });
  assert.equal(img.getAttribute("src"), null);
  const p = h("p", {}, HOSTILE);
  assert.equal(p.children.length, 0, "text stays text");
  assert.equal(p.textContent, HOSTILE);
  assert.match(p.serialize(), /&lt;img src=x onerror=alert\(1\)&gt;/);
});

test("mediaKind and formatDuration", () => {
  assert.equal(mediaKind("https://x.example/a.mp4?sig=1"), "video");
  assert.equal(mediaKind("https://x.example/a.png"), "image");
  assert.equal(mediaKind("https://x.example/a", "video"), "video");
  assert.equal(formatDuration(5.4), "5 s");
  assert.equal(formatDuration(125), "2 min 05 s");
  assert.equal(formatDuration(-1), "");
});

// ------------------------------------------------------------------ rendering
test("render shows status, progress, time and the caption; announces the view", () => {
  const { model, root } = mount({ status: "RUNNING", progress: 0.4, elapsed: 12, queued: 0, running: 12, eta: 18 });
  assert.equal(root.getAttribute("data-status"), "RUNNING");
  assert.equal(root.querySelector(".rnb-badge").textContent, "RUNNING");
  assert.ok(root.querySelector(".rnb-badge").classList.contains("rnb-s-running"));
  assert.equal(root.querySelector(".rnb-fill").style.width, "40.0%");
  assert.equal(root.querySelector(".rnb-bar").getAttribute("aria-valuenow"), "40");
  assert.equal(root.querySelector(".rnb-clock").textContent, "40% · running 12 s · ≈ 18 s left");
  assert.equal(root.querySelector(".rnb-prompt").textContent, "“a cat”");
  assert.equal(root.querySelector(".rnb-title").textContent, "image to video · gen4_turbo");
  // the title names the model: the facts line does not repeat it
  assert.equal(root.querySelector(".rnb-facts").textContent, "1280:720 · seed 42 · 5 s · 25 credits");
  assert.ok(visible(root.querySelector(".rnb-cancel")));
  assert.deepEqual(model.sent[0].content, { kind: "rnb:call", id: null, method: "view", args: {} }, "a notification");
});

test("THROTTLED shows the explanation from the kernel; unknown statuses get a neutral class", () => {
  const note = "Waiting for a free slot: the account's concurrency limit for this model is reached";
  const { model, root } = mount({ status: "THROTTLED", note });
  assert.ok(root.querySelector(".rnb-badge").classList.contains("rnb-s-throttled"));
  assert.equal(root.querySelector(".rnb-note").textContent, note);
  assert.equal(root.querySelector(".rnb-bar").getAttribute("data-indeterminate"), "true");
  model.update({ status: "WEIRD\" onmouseover=\"x" });
  assert.equal(root.querySelector(".rnb-badge").className, "rnb-badge rnb-s-unknown");
});

test("a failure shows text, code and hint", () => {
  const { root } = mount({ status: "FAILED", finished: true, failure: "flagged", failure_code: "SAFETY.INPUT.TEXT",
    hint: "Content moderation rejected an input" });
  const box = root.querySelector(".rnb-failure");
  assert.ok(visible(box));
  assert.equal(box.querySelector(".rnb-code").textContent, "SAFETY.INPUT.TEXT");
  assert.match(box.textContent, /flagged/);
  assert.equal(box.querySelector(".rnb-hint").textContent, "Content moderation rejected an input");
  assert.ok(!visible(root.querySelector(".rnb-cancel")), "no Cancel once finished");
});

test("hostile strings are rendered as text everywhere, never as markup or URLs", () => {
  const { model, root, el } = mount({
    task_id: HOSTILE, endpoint: HOSTILE, note: HOSTILE, error: HOSTILE,
    caption: { prompt: HOSTILE, model: HOSTILE, title: HOSTILE, ratio: "javascript:alert(1)" },
  });
  model.update({ status: "FAILED", finished: true, failure: HOSTILE, failure_code: HOSTILE, hint: HOSTILE });
  // The only IMG elements that could exist are output players; there are no outputs.
  assert.equal(el.querySelectorAll("img").length, 0);
  assert.equal(fakes.doc.eventHandlerAttributes.length, 0);
  assert.ok(el.textContent.includes(HOSTILE));
  assert.ok(!el.serialize().includes("<img"), "no markup parsed from data");
  assert.ok(root.querySelector(".rnb-facts").textContent.includes("javascript:alert(1)"), "shown as text only");
  assert.equal(fakes.doc.urlWrites.length, 0);
});

test("unsafe output URLs never reach src; safe ones do", () => {
  const { model, el } = mount({ status: "SUCCEEDED", finished: true });
  model.update({ outputs: ["javascript:alert(1)", VIDEO, "data:text/html,<script>x</script>", "../../logout"],
    kinds: ["video", "video", "image", "image"] });
  for (const [, , url] of fakes.doc.urlWrites) assert.notEqual(safeUrl(url), null, url);
  const srcs = fakes.doc.urlWrites.map(([, , url]) => url);
  assert.ok(srcs.includes(VIDEO));
  assert.ok(!srcs.some((u) => u.startsWith("javascript:") || u.startsWith("data:text") || u.includes("logout")));
  // the unsafe ones asked the kernel for bytes instead (by index, never by URL)
  const asks = model.calls("media");
  assert.deepEqual(asks.map((m) => m.args.index), [0, 2, 3]);
  assert.ok(asks.every((m) => m.args.purpose === "show"));
  assert.ok(asks.every((m) => !("url" in m.args)));
  assert.equal(el.querySelectorAll("video").length, 2);
});

test("a video output autoplays with controls loop muted playsinline, a caption and a Download button", () => {
  const { model, el } = mount({ status: "RUNNING", progress: 0.9 });
  model.update({ status: "SUCCEEDED", finished: true, progress: null, outputs: [VIDEO], kinds: ["video"] });
  const videos = el.querySelectorAll("video");
  assert.equal(videos.length, 1);
  const v = videos[0];
  for (const attr of ["controls", "loop", "muted", "playsinline"]) assert.ok(v.hasAttribute(attr), attr);
  assert.equal(v.muted, true, "muted property set too");
  assert.ok(v.hasAttribute("autoplay"), "plays at once, muted and looped, like mediapy's");
  assert.equal(v.getAttribute("src"), VIDEO);
  assert.equal(el.querySelectorAll("button.rnb-download").length, 1);
  assert.equal(el.querySelector(".rnb-fill").style.width, "100.0%");
});

test("several outputs sit side by side; images use <img>", () => {
  const { model, el } = mount({ endpoint: "text_to_image" });
  model.update({ status: "SUCCEEDED", finished: true,
    outputs: ["https://a.example/0.png", "https://a.example/1.png"], kinds: ["image", "image"] });
  const row = el.querySelector(".rnb-outputs");
  assert.equal(row.getAttribute("data-count"), "2");
  assert.equal(row.querySelectorAll("figure.rnb-output").length, 2);
  assert.equal(el.querySelectorAll("img").length, 2);
  assert.equal(el.querySelectorAll("video").length, 0);
});

test("media that load report media_status once; unchanged outputs are not rebuilt", () => {
  const { model, el } = mount({});
  model.update({ status: "SUCCEEDED", finished: true, outputs: [VIDEO], kinds: ["video"] });
  const v = el.querySelector("video");
  v.dispatchEvent(new FakeEvent("loadeddata"));
  model.update({ elapsed: 30, caption: { prompt: "x" } });
  assert.equal(el.querySelector("video"), v, "same element");
  const status = model.calls("media_status");
  assert.deepEqual(status.map((m) => m.args.results), [["loaded"]]);
});

test("a URL that fails in the browser is fetched through the kernel and shown as a blob:", async () => {
  const { model, el, cleanup } = mount({});
  model.update({ status: "SUCCEEDED", finished: true, outputs: [VIDEO], kinds: ["video"] });
  const v = el.querySelector("video");
  v.dispatchEvent(new FakeEvent("error"));
  v.dispatchEvent(new FakeEvent("error")); // a second error does not ask twice
  const asks = model.calls("media");
  assert.equal(asks.length, 1);
  model.reply({ id: asks[0].id + 100 }, { mime: "video/mp4" }, [new DataView(new ArrayBuffer(4))]);
  await flush();
  assert.equal(fakes.blobs.created.length, 0, "answers to unknown requests are ignored");
  model.reply(asks[0], { mime: "text/html" }, [new DataView(new ArrayBuffer(8))]);
  await flush();
  assert.equal(fakes.blobs.created.length, 1);
  assert.equal(fakes.blobs.created[0].blob.type, "video/mp4", "a non-media mime is not trusted");
  assert.equal(v.getAttribute("src"), fakes.blobs.created[0].url);
  v.dispatchEvent(new FakeEvent("loadeddata"));
  const status = model.calls("media_status");
  assert.deepEqual(status.at(-1).args.results, ["relayed"]);
  cleanup();
  assert.deepEqual(fakes.blobs.revoked, [fakes.blobs.created[0].url], "blob URL revoked on cleanup");
});

test("a relay error marks the output failed", async () => {
  const { model, el } = mount({});
  model.update({ status: "SUCCEEDED", finished: true, outputs: [VIDEO], kinds: ["video"] });
  el.querySelector("video").dispatchEvent(new FakeEvent("error"));
  model.replyError(model.calls("media")[0], HOSTILE);
  await flush();
  const v = el.querySelector("video");
  assert.equal(v.getAttribute("data-rnb-relay"), "failed");
  assert.equal(v.getAttribute("title"), HOSTILE, "attribute value, not markup");
  assert.deepEqual(model.calls("media_status").at(-1).args.results, ["failed"]);
});

test("Download falls back to the kernel when fetch fails, and saves a blob with a safe name", async () => {
  const { model, el } = mount({ task_id: "abc/../../x" });
  model.update({ status: "SUCCEEDED", finished: true, outputs: [VIDEO], kinds: ["video"] });
  el.querySelector("button.rnb-download").click();
  await new Promise((r) => setImmediate(r));
  const ask = model.calls("media")[0];
  assert.ok(ask, "asked the kernel");
  assert.deepEqual(ask.args, { index: 0, purpose: "download" });
  model.reply(ask, { mime: "video/mp4" }, [new DataView(new ArrayBuffer(2))]);
  await flush();
  const link = fakes.doc.clicked.find((n) => n.tagName === "A");
  assert.ok(link);
  assert.equal(link.getAttribute("download"), "abcx_0.mp4");
  assert.ok(link.getAttribute("href").startsWith("blob:"));
  assert.equal(link.parentNode, null, "temporary link removed");
});

test("Cancel sends a cancel message and disables itself; cancelling state comes from the kernel", () => {
  const { model, root } = mount({ status: "RUNNING", progress: 0.2 });
  const btn = root.querySelector(".rnb-cancel");
  btn.click();
  assert.equal(model.sent.at(-1).content.method, "cancel");
  assert.equal(btn.disabled, true);
  btn.click();
  assert.equal(model.calls("cancel").length, 1, "a disabled button sends nothing");
  model.update({ status: "CANCELLED", finished: true, cancelling: false });
  assert.ok(!visible(btn));
  assert.equal(root.getAttribute("data-status"), "CANCELLED");
});

test("Generate again shows only when the kernel can send the request again; one click, one request", async () => {
  const { model, root } = mount({ status: "SUCCEEDED", finished: true });
  const btn = root.querySelector(".rnb-again");
  assert.ok(!visible(btn), "hidden unless can_again");
  model.update({ can_again: true });
  assert.ok(visible(btn));
  btn.click();
  assert.equal(model.sent.at(-1).content.method, "again");
  assert.equal(btn.disabled, true);
  btn.click();
  assert.equal(model.calls("again").length, 1, "a disabled button sends nothing");
  model.reply(model.calls("again")[0], { task_id: "def-456" });
  await flush();
  assert.equal(btn.disabled, false, "enabled again once the kernel answered");
});

test("errors show with a Retry button that asks the kernel to resume", () => {
  const { model, root } = mount({ status: "RUNNING" });
  model.update({ error: "ConnectionError: boom" });
  assert.ok(visible(root.querySelector(".rnb-error")));
  root.querySelector(".rnb-retry").click();
  assert.equal(model.sent.at(-1).content.method, "retry");
});

test("the clock shows queue time apart from run time, the percentage and the best estimate", () => {
  const { model, root } = mount({ status: "THROTTLED", elapsed: 12, queued: 12, running: 0 });
  const clock = root.querySelector(".rnb-clock");
  assert.equal(clock.textContent, "queued 12 s", "waiting: no percentage, no time left");
  model.update({ status: "RUNNING", progress: 0.43, elapsed: 20, queued: 12, running: 8, eta: 20 });
  assert.equal(clock.textContent, "43% · queued 12 s · running 8 s · ≈ 20 s left");
  assert.ok(visible(root.querySelector(".rnb-bar")));
  model.update({ eta: null });
  assert.equal(clock.textContent, "43% · queued 12 s · running 8 s", "no estimate: no clock of time left");
});

test("a finished task shows its total run time, no bar and no time left", () => {
  const { model, root } = mount({ status: "RUNNING", progress: 0.9, elapsed: 30, queued: 2, running: 28, eta: 3 });
  model.update({ status: "SUCCEEDED", finished: true, progress: null, eta: null, elapsed: 33, queued: 2, running: 31 });
  const clock = root.querySelector(".rnb-clock");
  assert.equal(clock.textContent, "queued 2 s · ran 31 s");
  assert.doesNotMatch(clock.textContent, /≈|left|%/);
  assert.ok(!visible(root.querySelector(".rnb-bar")), "no bar once finished");
  // a task cancelled while it waited never ran
  const waited = mount({ status: "CANCELLED", finished: true, elapsed: 40, queued: 40, running: 0 });
  assert.equal(waited.root.querySelector(".rnb-clock").textContent, "queued 40 s");
});

test("between kernel updates the run time ticks up and the time left down", () => {
  const { root } = mount({ status: "RUNNING", progress: 0.5, queued: 0, running: 10, eta: 10 });
  const start = Date.now();
  const realNow = Date.now;
  try {
    Date.now = () => start + 3000;
    fakes.tickIntervals();
  } finally {
    Date.now = realNow;
  }
  assert.equal(root.querySelector(".rnb-clock").textContent, "50% · running 13 s · ≈ 7 s left");
});

test("the clock ticks locally between kernel updates and stops when finished", () => {
  const { model } = mount({ status: "RUNNING", elapsed: 3 });
  assert.equal(fakes.timers.intervals.size, 1);
  model.update({ status: "SUCCEEDED", finished: true });
  assert.equal(fakes.timers.intervals.size, 0, "interval cleared when the task ends");
});

test("cleanup clears timers, revokes blob URLs, removes listeners and the DOM", () => {
  const { model, el, cleanup } = mount({ status: "RUNNING" });
  model.update({ outputs: [VIDEO], kinds: ["video"] });
  const v = el.querySelector("video");
  const button = el.querySelector(".rnb-cancel");
  assert.ok(model.handlerCount() > 0);
  assert.ok(v.listenerCount() > 0 && button.listenerCount() > 0);
  cleanup();
  assert.equal(fakes.timers.intervals.size, 0);
  assert.equal(fakes.timers.timeouts.size, 0);
  assert.equal(model.handlerCount(), 0, "model listeners removed");
  assert.equal(v.listenerCount(), 0);
  assert.equal(button.listenerCount(), 0);
  assert.equal(el.children.length, 0);
  const sent = model.sent.length;
  model.receive({ kind: "rnb:reply", id: 1, ok: true, result: {} }, [new DataView(new ArrayBuffer(1))]);
  assert.equal(model.sent.length, sent);
  assert.equal(fakes.blobs.created.length, 0);
});

// ------------------------------------------------------------------ issue 16: shape, announcements, names
test("while running, a placeholder in the requested ratio's shape holds the player's place", () => {
  const { model, root } = mount({ status: "RUNNING", progress: 0.2 });
  const holder = root.querySelector(".rnb-placeholders");
  assert.ok(visible(holder));
  assert.equal(holder.getAttribute("aria-hidden"), "true");
  const box = holder.querySelector(".rnb-placeholder");
  assert.equal(box.style.aspectRatio, "auto 1280 / 720");
  assert.equal(box.style.width, "640px", "the width the player will have (640 px at most)");
  assert.ok(!visible(root.querySelector(".rnb-outputs")));
  model.update({ status: "SUCCEEDED", finished: true, progress: null, outputs: [VIDEO], kinds: ["video"] });
  assert.ok(!visible(holder), "gone once the output is there");
  const video = root.querySelector("video");
  assert.equal(video.style.width, "640px", "the player takes the placeholder's size");
  assert.equal(video.style.aspectRatio, "auto 1280 / 720");
});

test("a portrait placeholder is as tall as the player may be (480 px), and audio gets none", () => {
  const { root } = mount({ status: "RUNNING", caption: { model: "gen4_turbo", ratio: "720:1280" },
    shape: { width: 720, height: 1280 } });
  assert.equal(root.querySelector(".rnb-placeholder").style.width, "270px");
  const audio = mount({ status: "RUNNING", endpoint: "text_to_speech", caption: { model: "eleven_multilingual_v2" },
    shape: {} });
  assert.ok(!visible(audio.root.querySelector(".rnb-placeholders")));
});

test("a ratio that is not a size (16:9) is drawn at the size the kernel computed, not 16 px wide", () => {
  const { root } = mount({ status: "RUNNING", caption: { model: "hailuo3", ratio: "16:9" },
    shape: { width: 1280, height: 720 } });
  assert.equal(root.querySelector(".rnb-placeholder").style.width, "640px");
  const unknown = mount({ status: "RUNNING", caption: { model: "new", ratio: "16:9" }, shape: {} });
  assert.ok(!visible(unknown.root.querySelector(".rnb-placeholders")), "no size known: no placeholder");
});

test("each status change is announced once in a polite live region, never per progress tick", () => {
  const { model, root } = mount({ status: "PENDING" });
  const live = root.querySelector(".rnb-live");
  assert.equal(live.getAttribute("role"), "status");
  assert.equal(live.getAttribute("aria-live"), "polite");
  assert.equal(live.textContent, "", "the status the view opens with is on screen already");
  model.update({ status: "RUNNING", progress: 0.1 });
  assert.equal(live.textContent, "Task running");
  live.textContent = "";  // what a reader consumed: a tick must not say it again
  model.update({ progress: 0.5, running: 3, eta: 4 });
  model.update({ progress: 0.9, running: 6, eta: 1 });
  assert.equal(live.textContent, "", "progress ticks are not announced");
  model.update({ status: "SUCCEEDED", finished: true, progress: null });
  assert.equal(live.textContent, "Task succeeded");
});

test("a failure is announced with its code", () => {
  const { model, root } = mount({ status: "RUNNING" });
  model.update({ status: "FAILED", finished: true, failure: "flagged", failure_code: "SAFETY.INPUT.TEXT" });
  assert.equal(root.querySelector(".rnb-live").textContent, "Task failed: SAFETY.INPUT.TEXT");
});

test("the Cancel button is named for what it cancels", () => {
  const { model, root } = mount({ status: "RUNNING" });
  const cancel = root.querySelector(".rnb-cancel");
  assert.equal(cancel.tagName.toLowerCase(), "button", "a native button: reachable and pressable by keyboard");
  assert.equal(cancel.getAttribute("aria-label"), "Cancel task");
  assert.equal(cancel.textContent, "Cancel");
  model.update({ cancelling: true });
  assert.equal(cancel.getAttribute("aria-label"), "Cancelling task");
});
