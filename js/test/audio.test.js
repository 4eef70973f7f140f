// Front-end tests of audio outputs: the waveform drawing, the TaskView's audio player, audio
// cells of the grid and the sync group driving any media element.
// Run: cd js && node --test
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";

import { installFakes, MockModel, FakeEvent, flush } from "./fake_dom.js";
import {
  Disposer, formatSeconds, mediaKind, safeMime, safeUrl, waveformDuration, waveformSvg,
} from "../src/common.js";
import { SyncGroup } from "../src/sync_group.js";
import taskView from "../src/task_view.js";
import grid from "../src/grid.js";

const SPEECH = "http://127.0.0.1:9999/_sim/outputs/abc/0.mp3";
const SPEECH2 = "http://127.0.0.1:9999/_sim/outputs/abc/1.wav";
const PEAKS = Array.from({ length: 120 }, (_, i) => (i % 10) / 10);
const WAVE = { duration: 4.2, peaks: PEAKS, label: "Waveform, 4.2 s" };

let fakes;
beforeEach(() => {
  fakes = installFakes();
});
afterEach(() => {
  fakes.restore();
});

const visible = (node) => node && !node.hidden && !node.hasAttribute("hidden");

/** A media element that is no DOM element at all: what SyncGroup needs of an HTMLMediaElement. */
class FakeMedia {
  constructor(duration) {
    this.duration = duration;
    this.currentTime = 0;
    this.paused = true;
    this.ended = false;
    this.loop = true;
    this.plays = 0;
    this.listeners = new Map();
    this.attributes = new Set(["loop"]);
  }
  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
  }
  removeEventListener(type, fn) {
    this.listeners.get(type)?.delete(fn);
  }
  dispatch(type) {
    for (const fn of [...(this.listeners.get(type) || [])]) fn(new FakeEvent(type));
  }
  removeAttribute(name) {
    this.attributes.delete(name);
  }
  play() {
    this.paused = false;
    this.plays += 1;
    return Promise.resolve();
  }
  pause() {
    this.paused = true;
  }
}

// ------------------------------------------------------------------ common pieces
test("audio URLs: kind, data: URIs and mime types", () => {
  assert.equal(mediaKind("https://x.example/speech.mp3?_jwt=a.b"), "audio");
  assert.equal(mediaKind("https://x.example/a.FLAC"), "audio");
  assert.equal(mediaKind("https://x.example/a", "audio"), "audio");
  assert.equal(mediaKind("data:audio/wav;base64,UklGRg=="), "audio");
  assert.equal(safeUrl("data:audio/mpeg;base64,AAAA"), "data:audio/mpeg;base64,AAAA");
  assert.equal(safeUrl("data:audio/x-script,AAAA"), null);
  assert.equal(safeMime("audio/wav", "audio"), "audio/wav");
  assert.equal(safeMime("text/html", "audio"), "audio/mpeg");
  assert.equal(formatSeconds(4.2), "4.2 s");
  assert.equal(formatSeconds(123.45), "2 min 03.5 s");
  assert.equal(formatSeconds(null), "");
});

test("waveformSvg draws one bar per peak, labelled, in currentColor, from numbers only", () => {
  const svg = waveformSvg({ duration: 4.2, peaks: [0, 0.5, 1, 7, -3, "x"], label: "Waveform, 4.2 s" });
  assert.equal(svg.tagName, "svg");
  assert.equal(svg.namespaceURI, "http://www.w3.org/2000/svg");
  assert.equal(svg.getAttribute("role"), "img");
  assert.equal(svg.getAttribute("aria-label"), "Waveform, 4.2 s");
  assert.equal(svg.getAttribute("viewBox"), "0 0 240 48");
  assert.equal(svg.querySelector("title").textContent, "Waveform, 4.2 s");
  const path = svg.querySelector("path");
  assert.equal(path.getAttribute("stroke"), "currentColor");
  const bars = path.getAttribute("d").match(/M[\d.]+ [\d.]+v[\d.]+/g);
  assert.equal(bars.length, 6);
  const heights = bars.map((b) => Number(b.split("v")[1]));
  assert.deepEqual(heights, [1, 23, 46, 46, 1, 1], "clamped to 0..1; silence still a line");
  assert.equal(waveformSvg({}), null);
  assert.equal(waveformSvg(null), null);
  assert.equal(waveformSvg({ duration: 3, peaks: [0.2] }).getAttribute("aria-label"), "Waveform, 3.0 s");
  assert.equal(waveformDuration(WAVE), "4.2 s");
  assert.equal(waveformDuration({}), "");
});

// ------------------------------------------------------------------ TaskView
function mountTask(extra) {
  const model = new MockModel({
    task_id: "abc-123", endpoint: "text_to_speech", status: "SUCCEEDED", progress: null, elapsed: 3, eta: null,
    note: "", failure: "", failure_code: "", hint: "", outputs: [SPEECH], kinds: ["audio"], waveforms: [{}],
    files: [], caption: { prompt: "hello there", model: "eleven_multilingual_v2", credits: 1 },
    error: "", finished: true, cancelling: false, ...extra,
  });
  const el = document.createElement("div");
  const cleanup = taskView.render({ model, el });
  return { model, el, cleanup };
}

test("TaskView: an audio output plays in an <audio controls> player, never muted", () => {
  const { el } = mountTask();
  const audio = el.querySelectorAll("audio");
  assert.equal(audio.length, 1);
  assert.equal(audio[0].getAttribute("src"), SPEECH);
  assert.ok(audio[0].hasAttribute("controls"));
  assert.ok(!audio[0].hasAttribute("muted"));
  assert.equal(audio[0].muted, false);
  assert.equal(audio[0].getAttribute("aria-label"), "output 1 (audio)");
  assert.equal(el.querySelectorAll("video").length, 0);
  assert.ok(el.querySelector("figure.rnb-audio"));
  assert.ok(el.querySelector("button.rnb-download"));
  assert.ok(!visible(el.querySelector(".rnb-wave")), "no waveform until the kernel sends it");
});

test("TaskView: the kernel's waveform and duration appear without rebuilding the player", () => {
  const { el, model } = mountTask();
  const player = el.querySelector("audio");
  model.update({ waveforms: [WAVE] });
  assert.equal(el.querySelector("audio"), player, "the same player (playback is not interrupted)");
  const wave = el.querySelector(".rnb-wave");
  assert.ok(visible(wave));
  assert.equal(wave.querySelector("svg").getAttribute("aria-label"), "Waveform, 4.2 s");
  assert.equal(el.querySelector(".rnb-duration").textContent, "4.2 s");
});

test("TaskView: several outputs of one task each show, numbered", () => {
  const { el } = mountTask({ outputs: [SPEECH, SPEECH2], kinds: ["audio", "audio"],
                             waveforms: [WAVE, { duration: 1.5, peaks: [0.1, 0.2] }] });
  const audio = el.querySelectorAll("audio");
  assert.equal(audio.length, 2);
  assert.deepEqual(audio.map((a) => a.getAttribute("aria-label")), ["Output 1 of 2 (audio)", "Output 2 of 2 (audio)"]);
  assert.deepEqual(el.querySelectorAll(".rnb-output-name").map((n) => n.textContent), ["Output 1 of 2", "Output 2 of 2"]);
  assert.deepEqual(el.querySelectorAll(".rnb-duration").map((n) => n.textContent), ["4.2 s", "1.5 s"]);
  assert.equal(el.querySelectorAll("button.rnb-download").length, 2);
});

test("TaskView: an audio URL this browser cannot load plays from bytes relayed by the kernel", async () => {
  const { el, model } = mountTask();
  const audio = el.querySelector("audio");
  audio.dispatchEvent(new FakeEvent("error"));
  const [call] = model.calls("media");
  assert.deepEqual(call.args, { index: 0, purpose: "show" });
  model.reply(call, { mime: "audio/wav" }, [new ArrayBuffer(8)]);
  await flush();
  assert.equal(fakes.blobs.created.at(-1).blob.type, "audio/wav");
  assert.equal(audio.getAttribute("src"), fakes.blobs.created.at(-1).url);
  audio.dispatchEvent(new FakeEvent("loadedmetadata"));
  assert.deepEqual(model.calls("media_status").at(-1).args, { results: ["relayed"] });
});

test("TaskView: an audio output that loads reports it once its metadata is in", () => {
  const { el, model } = mountTask();
  el.querySelector("audio").dispatchEvent(new FakeEvent("loadedmetadata"));
  assert.deepEqual(model.calls("media_status").at(-1).args, { results: ["loaded"] });
});

// ------------------------------------------------------------------ Grid
function audioCell(index, extra) {
  return {
    index, id: `task-${index}`, row: 0, col: index, label: `voice v${index}`, endpoint: "text_to_speech",
    width: 480, height: 120, ratio: "480:120", duration: null, status: "SUCCEEDED", progress: null, note: "",
    failure: "", failure_code: "", hint: "", outputs: [`http://127.0.0.1:9999/_sim/outputs/t${index}/0.mp3`],
    kinds: ["audio"], waveforms: [{}], files: [], finished: true, cancelling: false, credits: 1,
    caption: { prompt: "hello", model: "eleven_multilingual_v2" }, ...extra,
  };
}

function mountGrid() {
  const model = new MockModel({
    title: "Sweep of 3 tasks", fixed: [["prompt", "hello"]], row_title: "", col_title: "voice", row_labels: [],
    col_labels: ["Maya", "Leslie", "Noah"], columns: 3, wrap: false, max_height: 320,
    cells: [0, 1, 2].map((i) => audioCell(i)),
    summary: { total: 3, done: 3, failed: 0, running: 0, queued: 0, throttled: 0, cancelled: 0, credits: 3 },
    error: "", finished: true,
  });
  const el = document.createElement("div");
  const cleanup = grid.render({ model, el });
  return { model, el, cleanup, root: el.querySelector(".rnb-grid") };
}

/** Minimal media behaviour on the fake <audio> elements. */
function mediaify(node, duration) {
  node.duration = duration;
  node.currentTime = 0;
  node.paused = true;
  node.ended = false;
  node.play = () => {
    node.paused = false;
    return Promise.resolve();
  };
  node.pause = () => {
    node.paused = true;
  };
  node.dispatchEvent(new FakeEvent("loadedmetadata"));
  return node;
}

test("Grid: audio cells join the synced transport; Play all plays every voice together", () => {
  const { el, root } = mountGrid();
  const players = el.querySelectorAll("audio");
  assert.equal(players.length, 3);
  for (const a of players) assert.ok(!a.hasAttribute("controls"), "the grid's transport controls them");
  assert.ok(visible(root.querySelector(".rnb-g-transport")));
  const [a, b, c] = players.map((p, i) => mediaify(p, [2, 3, 2.5][i]));
  root.querySelector(".rnb-g-play").click();
  assert.ok(!a.paused && !b.paused && !c.paused, "all playing");
  a.currentTime = 1;
  b.currentTime = 1.5;
  c.currentTime = 0.5;
  fakes.tickIntervals();
  assert.equal(a.currentTime, 1.5, "followers are pulled to the longest (leading) voice");
  assert.equal(c.currentTime, 1.5);
  root.querySelector(".rnb-g-play").click();
  assert.ok(a.paused && b.paused && c.paused);
});

test("Grid: an audio cell shows its waveform and duration once the kernel decoded it", () => {
  const { el, model } = mountGrid();
  const player = el.querySelector("audio");
  const svgs = () => el.querySelectorAll(".rnb-g-wave").flatMap((w) => w.querySelectorAll("svg"));
  assert.equal(svgs().length, 0);
  assert.deepEqual(el.querySelectorAll(".rnb-g-duration").map((n) => n.textContent), ["audio", "audio", "audio"]);
  model.update({ cells: [0, 1, 2].map((i) => audioCell(i, { waveforms: [WAVE] })) });
  assert.equal(el.querySelector("audio"), player, "the player stays (and stays in the group)");
  assert.equal(svgs().length, 3);
  assert.equal(el.querySelector(".rnb-g-duration").textContent, "4.2 s");
});

test("Grid: enlarging an audio cell shows a player with controls and its waveform", () => {
  const { el, model, root } = mountGrid();
  model.update({ cells: [0, 1, 2].map((i) => audioCell(i, { waveforms: [WAVE] })) });
  el.querySelectorAll(".rnb-g-frame")[1].click();
  const focus = root.querySelector(".rnb-g-focus");
  assert.ok(visible(focus));
  const audio = focus.querySelector("audio");
  assert.ok(audio.hasAttribute("controls"));
  assert.equal(audio.getAttribute("src"), "http://127.0.0.1:9999/_sim/outputs/t1/0.mp3");
  assert.equal(focus.querySelector("svg").getAttribute("aria-label"), "Waveform, 4.2 s");
});

// ------------------------------------------------------------------ SyncGroup
test("SyncGroup drives any HTMLMediaElement: play, follow, seek, loop", () => {
  const d = new Disposer();
  const ticks = [];
  const group = new SyncGroup({ disposer: d, onTick: (t, total, playing) => ticks.push([t, total, playing]) });
  const long = new FakeMedia(6);
  const short = new FakeMedia(3);
  group.add("a", long);
  group.add("b", short);
  assert.equal(long.loop, false);
  assert.ok(!long.attributes.has("loop"), "the group loops its members");
  assert.equal(group.total(), 6);
  group.play();
  assert.ok(!long.paused && !short.paused);
  long.currentTime = 4;
  group.tick();
  assert.equal(short.currentTime, 2.95, "past its end, a shorter member waits at its end");
  assert.ok(short.paused);
  group.seek(1);
  assert.equal(long.currentTime, 1);
  assert.equal(short.currentTime, 1);
  long.currentTime = 6;
  long.ended = true;
  group.tick();
  assert.equal(long.currentTime, 0, "looped");
  assert.deepEqual(ticks.at(-1), [0, 6, true]);
  group.setLoop(false);
  long.currentTime = 6;
  group.tick();
  assert.ok(long.paused && !group.playing);
  // a member that gets its metadata later is aligned to the group's time
  const late = new FakeMedia(NaN);
  group.add("c", late);
  late.duration = 5;
  group.seek(2);
  assert.equal(late.currentTime, 2);
  d.dispose();
  assert.equal(long.listeners.get("loadedmetadata").size, 0, "listeners removed on dispose");
});
