// Front-end tests of the form panel against a mock model and a strict fake DOM.
// Run: cd js && node --test
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";

import { installFakes, MockModel, FakeEvent, flush } from "./fake_dom.js";
import widget from "../src/panel.js";

const HOSTILE = "<img src=x onerror=alert(1)>";

let fakes;
beforeEach(() => {
  fakes = installFakes();
});
afterEach(() => {
  fakes.restore();
});

function state(extra) {
  return {
    endpoints: [["text_to_video", "Text to video"], ["image_to_video", "Image to video"]],
    models: [["gen4.5", "gen4.5"], ["veo3.1", "veo3.1"]],
    ratios: [{ ratio: "1280:720", width: 1280, height: 720 }, { ratio: "720:1280", width: 720, height: 1280 }],
    durations: [2, 5, 10], slots: [], prompt_max: 20, takes_prompt: true, takes_seed: true,
    endpoint: "text_to_video", model: "gen4.5", ratio: "1280:720", duration: 5, seed_mode: "random", seed: null,
    prompt: "", urls: {}, uploads: {}, valid: false, reason: "Prompt: write a prompt (this model needs one).",
    prompt_count: 0, estimate: null, magic: "", history: [], error: "", ...extra,
  };
}

function mount(extra) {
  const model = new MockModel(state(extra));
  const el = document.createElement("div");
  const cleanup = widget.render({ model, el });
  return { model, el, cleanup, root: el.querySelector(".rnb-panel") };
}

/** The kernel's answer to the latest change: it checked revision `client_rev`. */
const ack = (model, extra) => model.update({ ...extra, checked_rev: model.get("client_rev") });
const visible = (node) => node && !node.hidden && !node.hasAttribute("hidden");
const rowOf = (node) => node.parentNode;

test("type and model selects come from the kernel's lists", () => {
  const { root } = mount();
  const type = root.querySelector(".rnb-p-type");
  assert.deepEqual(type.querySelectorAll("option").map((o) => o.getAttribute("value")),
    ["text_to_video", "image_to_video"]);
  assert.equal(type.value, "text_to_video");
  const model = root.querySelector(".rnb-p-model");
  assert.deepEqual(model.querySelectorAll("option").map((o) => o.textContent), ["gen4.5", "veo3.1"]);
  assert.equal(model.value, "gen4.5");
});

test("choosing a type or model sets the trait and saves it", () => {
  const { root, model } = mount();
  const type = root.querySelector(".rnb-p-type");
  type.value = "image_to_video";
  type.dispatchEvent(new FakeEvent("change"));
  assert.equal(model.get("endpoint"), "image_to_video");
  assert.equal(model.saved, 1);
  const sel = root.querySelector(".rnb-p-model");
  sel.value = "veo3.1";
  sel.dispatchEvent(new FakeEvent("change"));
  assert.equal(model.get("model"), "veo3.1");
});

test("the ratio picker draws each of the model's ratios as its shape", () => {
  const { root, model } = mount();
  const buttons = root.querySelectorAll(".rnb-p-ratio");
  assert.equal(buttons.length, 2);
  const shapes = root.querySelectorAll(".rnb-p-shape");
  assert.deepEqual([shapes[0].style.width, shapes[0].style.height], ["34px", "19px"]);
  assert.deepEqual([shapes[1].style.width, shapes[1].style.height], ["19px", "34px"]);
  assert.equal(buttons[0].getAttribute("aria-checked"), "true");
  buttons[1].click();
  assert.equal(model.get("ratio"), "720:1280");
  assert.equal(buttons[1].getAttribute("aria-checked"), "true");
  assert.equal(buttons[0].getAttribute("aria-checked"), "false");
  model.update({ ratios: [], ratio: "" });
  assert.ok(!visible(rowOf(root.querySelector(".rnb-p-ratios"))), "no ratio row for a model without ratios");
});

test("duration offers the model's values only", () => {
  const { root, model } = mount();
  const dur = root.querySelector(".rnb-p-duration");
  assert.deepEqual(dur.querySelectorAll("option").map((o) => o.textContent), ["2", "5", "10"]);
  assert.equal(dur.value, "5");
  dur.value = "10";
  dur.dispatchEvent(new FakeEvent("change"));
  assert.equal(model.get("duration"), 10);
  model.update({ durations: [], duration: null });
  assert.ok(!visible(rowOf(rowOf(dur))));
});

test("seed: random or fixed", () => {
  const { root, model } = mount();
  const input = root.querySelector(".rnb-p-seed");
  assert.equal(root.querySelector(".rnb-p-seed-random").checked, true);
  assert.equal(input.disabled, true);
  root.querySelector(".rnb-p-seed-fixed").dispatchEvent(new FakeEvent("change"));
  assert.equal(model.get("seed_mode"), "fixed");
  assert.equal(typeof model.get("seed"), "number", "a seed to start from");
  assert.equal(input.disabled, false);
  input.value = "42";
  input.dispatchEvent(new FakeEvent("input"));
  assert.equal(model.get("seed"), 42);
  input.value = "-3";
  input.dispatchEvent(new FakeEvent("input"));
  assert.equal(model.get("seed"), null, "not a seed: the kernel says why");
  model.update({ takes_seed: false });
  assert.ok(!visible(rowOf(root.querySelector(".rnb-p-seedbox"))));
});

test("the prompt counts characters live against the model's limit and blocks Submit over it", () => {
  const { root, model } = mount({ valid: true, reason: "" });
  const prompt = root.querySelector(".rnb-p-prompt");
  const submit = root.querySelector(".rnb-p-submit");
  prompt.value = "a fox";
  prompt.dispatchEvent(new FakeEvent("input"));
  assert.equal(model.get("prompt"), "a fox");
  assert.equal(model.get("client_rev"), 1, "the change carries its revision");
  assert.equal(root.querySelector(".rnb-p-count").textContent, "5 / 20");
  assert.equal(submit.disabled, true, "until the kernel checked this revision");
  assert.equal(root.querySelector(".rnb-p-reason").textContent, "Checking…");
  ack(model);
  assert.equal(submit.disabled, false);
  assert.equal(root.querySelector(".rnb-p-reason").textContent, "");
  prompt.value = "a fox running through the snow";
  prompt.dispatchEvent(new FakeEvent("input"));
  assert.equal(root.querySelector(".rnb-p-count").textContent, "30 / 20");
  assert.ok(root.querySelector(".rnb-p-count").classList.contains("rnb-p-over"));
  assert.equal(submit.disabled, true, "disabled at once, before the kernel answers");
  assert.match(root.querySelector(".rnb-p-reason").textContent, /30 characters; gen4.5 takes at most 20/);
  model.update({ prompt_max: 1000 });
  assert.equal(submit.disabled, true, "the kernel has not checked the long prompt yet");
  ack(model);
  assert.equal(submit.disabled, false);
});

test("Generate is disabled with the kernel's reason while the form is invalid", () => {
  const { root, model } = mount();
  const submit = root.querySelector(".rnb-p-submit");
  assert.equal(submit.disabled, true);
  assert.equal(root.querySelector(".rnb-p-reason").textContent, "Prompt: write a prompt (this model needs one).");
  submit.click();
  assert.equal(model.calls("submit").length, 0, "a disabled button sends nothing");
  model.update({ valid: true, reason: "", estimate: 50, magic: "%%runway -m gen4.5\na fox" });
  assert.equal(submit.disabled, false);
  assert.equal(root.querySelector(".rnb-p-estimate").textContent, "~50 credits");
  assert.equal(root.querySelector(".rnb-p-magicbox").querySelector(".rnb-p-magic").textContent, "%%runway -m gen4.5\na fox");
  submit.click();
  assert.deepEqual(model.sent.at(-1).content, { kind: "rnb:call", id: model.calls("submit")[0].id, method: "submit",
    args: {} });
  assert.equal(submit.disabled, true, "no double submit while it is sent");
  model.update({ history: [{ n: 1, id: "t1", title: "text to video · gen4.5", magic: "%%runway\nx", note: "" }] });
  assert.equal(submit.disabled, false);
});

test("inputs by URL or upload; the upload's bytes go over the comm, never in a trait", async () => {
  const { root, model } = mount({ slots: [{ name: "image", label: "Image", accept: "image/*", required: true }] });
  const url = root.querySelector(".rnb-p-url");
  const file = root.querySelector(".rnb-p-file");
  assert.equal(file.getAttribute("accept"), "image/*");
  url.value = "https://example.com/kite.png";
  url.dispatchEvent(new FakeEvent("input"));
  assert.deepEqual(model.get("urls"), { image: "https://example.com/kite.png" });
  const bytes = new Uint8Array([137, 80, 78, 71]).buffer;
  file.files = [{ name: "kite.png", type: "image/png", size: 4, arrayBuffer: async () => bytes }];
  file.dispatchEvent(new FakeEvent("change"));
  await new Promise((r) => setImmediate(r));
  const sent = model.sent.find((m) => m.content.method === "upload");
  assert.deepEqual(sent.content.args, { slot: "image", name: "kite.png", mime: "image/png", size: 4 });
  assert.equal(sent.buffers[0], bytes);
  assert.ok(!Object.values(model.state).some((v) => v === bytes));
  model.update({ uploads: { image: { name: "kite.png", size: 4096 } } });
  assert.equal(root.querySelector(".rnb-p-uploaded").textContent, "kite.png (4 KB)");
  assert.equal(url.disabled, true);
  root.querySelector(".rnb-p-clear").click();
  assert.deepEqual(model.calls("clear_upload").map((c) => c.args), [{ slot: "image" }]);
});

test("history: re-run, edit and copy as %%runway", async () => {
  const magic = "%%runway -m gen4.5 -r 1280:720 -d 5 --seed 7\na {{fox}}";
  const { root, model } = mount({ history: [
    { n: 1, id: "t1", title: "text to video · gen4.5", magic: "%%runway -m gen4.5\nfirst", note: "" },
    { n: 2, id: "t2", title: "text to video · gen4.5 · seed 7", magic, note: "" },
  ] });
  const entries = root.querySelectorAll(".rnb-p-entry");
  assert.deepEqual(entries.map((e) => e.getAttribute("data-n")), ["2", "1"], "newest first");
  entries[0].querySelector(".rnb-p-rerun").click();
  assert.deepEqual(model.calls("rerun").map((c) => c.args), [{ n: 2 }]);
  entries[1].querySelector(".rnb-p-edit").click();
  assert.deepEqual(model.calls("load").map((c) => c.args), [{ n: 1 }]);
  const copied = [];
  const saved = Object.getOwnPropertyDescriptor(globalThis, "navigator");
  Object.defineProperty(globalThis, "navigator", { configurable: true, value: { clipboard: {
    writeText: async (text) => copied.push(text) } } });
  try {
    entries[0].querySelector(".rnb-p-copy").click();
    await new Promise((r) => setImmediate(r));
  } finally {
    if (saved) Object.defineProperty(globalThis, "navigator", saved);
    else delete globalThis.navigator;
  }
  assert.deepEqual(copied, [magic]);
  assert.equal(entries[0].querySelector(".rnb-p-copied").textContent, "copied");
  assert.equal(entries[0].querySelector("pre").textContent, magic);
  // a status change rebuilds the list: the line still says it was copied, its cell still shown
  model.update({ history: [
    { n: 1, id: "t1", title: "text to video · gen4.5", magic: "%%runway -m gen4.5\nfirst", note: "" },
    { n: 2, id: "t2", title: "text to video · gen4.5 · seed 7", magic, note: "", status: "SUCCEEDED" },
  ] });
  const rebuilt = root.querySelectorAll(".rnb-p-entry");
  assert.notEqual(rebuilt[0], entries[0], "rebuilt");
  assert.equal(rebuilt[0].querySelector(".rnb-p-copied").textContent, "copied");
  assert.equal(rebuilt[1].querySelector(".rnb-p-copied").textContent, "");
  assert.ok(visible(rebuilt[0].querySelector("pre")));
});

test("hostile strings are text everywhere", () => {
  const { el, model } = mount({
    endpoints: [[HOSTILE, HOSTILE]], models: [[HOSTILE, HOSTILE]], reason: HOSTILE, error: HOSTILE,
    slots: [{ name: HOSTILE, label: HOSTILE, accept: HOSTILE, required: false }],
    history: [{ n: 1, id: HOSTILE, title: HOSTILE, magic: HOSTILE, note: HOSTILE }],
  });
  model.update({ magic: HOSTILE, valid: false });
  assert.equal(el.querySelectorAll("img").length, 0);
  assert.equal(fakes.doc.eventHandlerAttributes.length, 0);
  assert.equal(fakes.doc.urlWrites.length, 0);
  assert.ok(el.serialize().includes("&lt;img src=x onerror=alert(1)&gt;"));
});

test("cleanup removes listeners and the DOM", () => {
  const { el, model, root, cleanup } = mount();
  const button = root.querySelector(".rnb-p-submit");
  assert.ok(model.handlerCount() > 0 && button.listenerCount() > 0);
  cleanup();
  assert.equal(model.handlerCount(), 0);
  assert.equal(button.listenerCount(), 0);
  assert.equal(el.children.length, 0);
  assert.equal(fakes.timers.timeouts.size, 0);
});

test("the voice and language pickers show only for models that have them", () => {
  const { root, model } = mount({ voices: ["Maya", "Arjun"], voice: "Maya" });
  const voice = root.querySelector(".rnb-p-voice");
  assert.deepEqual(voice.querySelectorAll("option").map((o) => o.getAttribute("value")), ["Maya", "Arjun"]);
  assert.equal(voice.value, "Maya");
  assert.ok(visible(rowOf(voice)));
  assert.ok(!visible(rowOf(root.querySelector(".rnb-p-language"))), "no language row without languages");
  voice.value = "Arjun";
  voice.dispatchEvent(new FakeEvent("change"));
  assert.equal(model.get("voice"), "Arjun");
  model.update({ voices: [], voice: "", languages: ["es", "fr"], target_language: "es" });
  assert.ok(!visible(rowOf(voice)), "no voice row for a model without preset voices");
  const lang = root.querySelector(".rnb-p-language");
  assert.ok(visible(rowOf(lang)));
  lang.value = "fr";
  lang.dispatchEvent(new FakeEvent("change"));
  assert.equal(model.get("target_language"), "fr");
});

test("the router picker shows for routed operations; choosing or reloading goes to the kernel", () => {
  const { root, model } = mount();
  const router = root.querySelector(".rnb-p-router");
  assert.ok(!visible(rowOf(rowOf(router))), "no router row for an operation without a router");
  model.update({ takes_router: true, routers: [], router: "", routers_note: "loading routers…" });
  assert.ok(visible(rowOf(rowOf(router))));
  assert.equal(root.querySelector(".rnb-p-router-note").textContent, "loading routers…");
  model.update({ routers: [["default", "default (Default router)"], ["fast", "fast"]], router: "default",
                 routers_note: "" });
  assert.deepEqual(router.querySelectorAll("option").map((o) => o.getAttribute("value")), ["default", "fast"]);
  assert.equal(router.value, "default");
  router.value = "fast";
  router.dispatchEvent(new FakeEvent("change"));
  assert.equal(model.get("router"), "fast");
  root.querySelector(".rnb-p-router-reload").click();
  assert.equal(model.calls("routers").length, 1);
});

/** The generic input of request path `key`. */
const field = (root, key) => root.querySelectorAll(".rnb-p-field").find((n) => n.getAttribute("data-field") === key);

test("generic inputs follow their kind and write into values under the request path", () => {
  const fields = [
    { key: "avatar.type", label: "avatar.type", kind: "select", options: ["runway-preset", "custom"] },
    { key: "speech.text", label: "speech.text", kind: "text", options: [] },
    { key: "outputCount", label: "outputCount", kind: "number", options: [], minimum: 1, maximum: 4, integer: true },
    { key: "audio", label: "audio", kind: "checkbox", options: [] },
    { key: "shots", label: "shots", kind: "json", options: [] },
  ];
  const { root, model } = mount({ fields, values: { "avatar.type": "runway-preset", "speech.text": "Hi", audio: true } });
  const select = field(root, "avatar.type");
  assert.deepEqual(select.querySelectorAll("option").map((o) => o.getAttribute("value")), ["runway-preset", "custom"]);
  assert.equal(select.value, "runway-preset");
  assert.equal(field(root, "speech.text").value, "Hi");
  const count = field(root, "outputCount");
  assert.deepEqual([count.getAttribute("type"), count.getAttribute("min"), count.getAttribute("max"),
    count.getAttribute("step")], ["number", "1", "4", "1"]);
  assert.equal(field(root, "audio").checked, true);
  assert.equal(field(root, "shots").tagName.toLowerCase(), "textarea");
  select.value = "custom";
  select.dispatchEvent(new FakeEvent("change"));
  assert.equal(model.get("values")["avatar.type"], "custom");
  count.value = "3";
  count.dispatchEvent(new FakeEvent("input"));
  assert.equal(model.get("values").outputCount, 3);
  const box = field(root, "audio");
  box.checked = false;
  box.dispatchEvent(new FakeEvent("change"));
  assert.equal(model.get("values").audio, false);
  assert.equal(model.get("values")["speech.text"], "Hi", "the other values are kept");
  model.update({ fields: [], values: {} });
  assert.equal(root.querySelectorAll(".rnb-p-field").length, 0);
});

test("Generate is the primary action, apart from the secondary buttons", () => {
  const { root } = mount({ valid: true, reason: "", history: [
    { n: 1, id: "t1", title: "text to video", prompt: "a fox", short: "a fox", model: "gen4.5", status: "RUNNING",
      thumb: "", magic: "%%runway\na fox", note: "" }] });
  const submit = root.querySelector(".rnb-p-submit");
  assert.equal(submit.textContent, "Generate");
  assert.ok(submit.classList.contains("rnb-btn-primary"));
  for (const cls of [".rnb-p-rerun", ".rnb-p-edit", ".rnb-p-copy", ".rnb-p-router-reload"]) {
    for (const b of root.querySelectorAll(cls)) assert.ok(!b.classList.contains("rnb-btn-primary"), cls);
  }
});

test("the ratio picker is one radio group named Aspect ratio: one tab stop, arrow keys move the choice", () => {
  const three = [{ ratio: "1280:720", width: 1280, height: 720 }, { ratio: "960:960", width: 960, height: 960 },
                 { ratio: "720:1280", width: 720, height: 1280 }];
  const { root, model } = mount({ ratios: three, ratio: "960:960" });
  const group = root.querySelector(".rnb-p-ratios");
  assert.equal(group.getAttribute("role"), "radiogroup");
  assert.equal(group.getAttribute("aria-label"), "Aspect ratio");
  const buttons = root.querySelectorAll(".rnb-p-ratio");
  const stops = () => buttons.map((b) => b.getAttribute("tabindex"));
  assert.deepEqual(stops(), ["-1", "0", "-1"], "only the chosen ratio is a tab stop");
  assert.ok(buttons.every((b) => b.getAttribute("role") === "radio"));
  for (const b of buttons) b.focus = () => { document.activeElement = b; };
  const key = (name) => {
    const event = new FakeEvent("keydown");
    Object.assign(event, { key: name, prevented: false, preventDefault() { this.prevented = true; },
                           stopPropagation() {} });
    group.dispatchEvent(event);
    return event;
  };
  try {
    document.activeElement = buttons[1];
    assert.ok(key("ArrowRight").prevented);
    assert.equal(model.get("ratio"), "720:1280");
    assert.equal(document.activeElement, buttons[2]);
    assert.deepEqual(stops(), ["-1", "-1", "0"]);
    assert.equal(buttons[2].getAttribute("aria-checked"), "true");
    key("ArrowDown");
    assert.equal(model.get("ratio"), "1280:720", "wraps around");
    key("ArrowLeft");
    assert.equal(model.get("ratio"), "720:1280");
    key("Home");
    assert.equal(model.get("ratio"), "1280:720");
    key("End");
    assert.equal(model.get("ratio"), "720:1280");
    assert.equal(key("a").prevented, false, "other keys are left alone");
  } finally {
    delete document.activeElement;
  }
  assert.equal(root.querySelector(".rnb-p-seedmodes").getAttribute("role"), "radiogroup", "the seed mode too");
});

test("a file input is hidden behind a Choose button label; the chosen file's name shows; files drop", async () => {
  const { root, model } = mount({ slots: [{ name: "image", label: "Image", accept: "image/*", required: true }] });
  const file = root.querySelector(".rnb-p-file");
  const choose = root.querySelector(".rnb-p-choose");
  assert.ok(file.classList.contains("rnb-visually-hidden"), "hidden visually, still in the tab order");
  assert.equal(choose.tagName, "LABEL");
  assert.equal(choose.getAttribute("for"), file.getAttribute("id"), "the label names the input and opens it");
  assert.equal(choose.textContent, "Choose image…");
  model.update({ uploads: { image: { name: "kite.png", size: 2048 } } });
  assert.equal(root.querySelector(".rnb-p-uploaded").textContent, "kite.png (2 KB)");
  const box = root.querySelector(".rnb-p-input");
  const bytes = new Uint8Array([1, 2, 3]).buffer;
  const drop = new FakeEvent("drop");
  Object.assign(drop, { preventDefault() {}, dataTransfer: { files: [
    { name: "dune.jpg", type: "image/jpeg", size: 3, arrayBuffer: async () => bytes }] } });
  box.dispatchEvent(drop);
  await flush();
  const [upload] = model.calls("upload");
  assert.deepEqual(upload.args, { slot: "image", name: "dune.jpg", mime: "image/jpeg", size: 3 });
});

test("a history line: thumbnail, clipped prompt (full in its title), status badge, model, one copy, id last", () => {
  const long = "A slow dolly shot through a rain-soaked neon market at night, steam rising from the food stalls";
  const { root, model } = mount({ history: [
    { n: 1, id: "task-1", title: "text to video · gen4.5 · 1280:720", prompt: long, short: "A slow dolly shot…",
      model: "gen4.5", options: "gen4.5 · 1280:720 · 5 s", status: "RUNNING", thumb: "", magic: "%%runway -m gen4.5\nx",
      note: "" }] });
  let line = root.querySelector(".rnb-p-entry");
  const prompt = line.querySelector(".rnb-p-entry-prompt");
  assert.equal(prompt.textContent, "#1 A slow dolly shot…");
  assert.equal(prompt.getAttribute("title"), long);
  assert.equal(line.querySelector(".rnb-badge").textContent, "RUNNING");
  assert.ok(line.querySelector(".rnb-badge").classList.contains("rnb-s-running"));
  assert.equal(line.querySelector(".rnb-p-entry-model").textContent, "gen4.5 · 1280:720 · 5 s");
  assert.equal(line.querySelector(".rnb-p-entry-id").textContent, "task task-1");
  assert.ok(line.querySelector(".rnb-p-thumb-empty"), "a blank box until there is a result");
  assert.equal(line.querySelectorAll("img").length, 0);
  const buttons = line.querySelectorAll("button");
  assert.deepEqual(buttons.map((b) => b.textContent), ["Re-run", "Edit", "Copy as cell"], "one way to copy");
  assert.deepEqual(buttons.map((b) => b.getAttribute("aria-label")), ["Re-run #1", "Edit #1", "Copy #1 as cell"]);
  assert.equal(line.querySelectorAll("details").length, 0);
  assert.ok(!visible(line.querySelector(".rnb-p-cell")), "the cell text shows once copied");

  const poster = "data:image/jpeg;base64,/9j/4AAQ";
  model.update({ history: [{ ...model.get("history")[0], status: "SUCCEEDED", thumb: poster }] });
  line = root.querySelector(".rnb-p-entry");
  assert.equal(line.querySelector(".rnb-badge").textContent, "SUCCEEDED");
  const img = line.querySelector("img");
  assert.equal(img.getAttribute("src"), poster);
  assert.equal(img.getAttribute("alt"), "", "decorative: the prompt names the line");

  model.update({ history: [{ ...model.get("history")[0], thumb: "javascript:alert(1)" }] });
  assert.equal(root.querySelector(".rnb-p-entry").querySelectorAll("img").length, 0, "only a data: image is drawn");
});
