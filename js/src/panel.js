// Panel form front end: one generation's options, Submit, and the history. The kernel owns
// validation (runway_nb/notebook/widgets/_panel.py checks every change against the catalog) and
// tells this view `valid` and `reason`; the view disables Submit and shows the reason. Form
// fields are synced traits (endpoint, model, ratio, duration, seed_mode, seed, voice,
// target_language, router, prompt, urls, values); the catalog facts for the current choice arrive
// as traits too (models, ratios, durations, voices, languages, routers, slots, fields, prompt_max,
// takes_prompt, takes_seed, takes_router): the voice, language and router pickers show only for
// operations that have them. `fields` are the generic inputs of the model's required fields that no
// control here covers (key = the dotted request path, kind select/text/number/checkbox/json); their
// values go in the `values` dict (media ones are slots). The channel (createChannel in common.js)
// carries requests, view -> kernel: invoke "submit", "rerun" {n}, "load" {n}, "routers" (list
// them again), "clear_upload" {slot}, "upload" {slot, name, mime, size} + one buffer (the file's bytes).
// Everything is built with textContent/setAttribute (h() in common.js).
import { Disposer, asList, asRecord, h, mount, show } from "./common.js";

/** @typedef {import("@anywidget/types").AnyModel} AnyModel */
/** @typedef {import("./common.js").Channel} Channel */
/** @typedef {(name: string, fallback?: any) => any} Read */
/** @typedef {ReturnType<typeof skeleton>} Parts */
/** @typedef {(name: string, value: unknown) => void} Setter */

const MAX_UPLOAD = 50 * 1024 * 1024;
let panelIds = 0;

/**
 * The shape of a ratio, fitted in a `size` x `size` box.
 * @param {unknown} width
 * @param {unknown} height
 * @param {number} size
 */
function ratioShape(width, height, size) {
  const w = Number(width) > 0 ? Number(width) : 16;
  const hh = Number(height) > 0 ? Number(height) : 9;
  if (w >= hh) return { width: size, height: Math.max(4, Math.round((size * hh) / w)) };
  return { width: Math.max(4, Math.round((size * w) / hh)), height: size };
}

/**
 * @param {HTMLSelectElement} select
 * @param {unknown[]} options
 * @param {unknown} value
 */
function setOptions(select, options, value) {
  const key = JSON.stringify(options);
  if (select.getAttribute("data-key") !== key) {
    select.textContent = "";
    for (const opt of options) {
      const [v, label] = Array.isArray(opt) ? opt : [opt, opt];
      select.appendChild(h("option", { value: String(v) }, String(label)));
    }
    select.setAttribute("data-key", key);
  }
  select.value = value === null || value === undefined ? "" : String(value);
}

/**
 * @param {string} label
 * @param {HTMLElement} control
 */
function row(label, control) {
  return h("div", { class: "rnb-p-row" }, [h("label", { class: "rnb-p-label" }, label), control]);
}

/**
 * @param {string} uid
 * @param {HTMLElement} problem
 */
function skeleton(uid, problem) {
  const typeSel = h("select", { class: "rnb-p-type", "aria-label": "Task type" });
  const modelSel = h("select", { class: "rnb-p-model", "aria-label": "Model" });
  const ratios = h("div", { class: "rnb-p-ratios", role: "radiogroup", "aria-label": "Ratio" });
  const durSel = h("select", { class: "rnb-p-duration", "aria-label": "Duration (seconds)" });
  const voiceSel = h("select", { class: "rnb-p-voice", "aria-label": "Voice" });
  const langSel = h("select", { class: "rnb-p-language", "aria-label": "Target language" });
  const routerSel = h("select", { class: "rnb-p-router", "aria-label": "Router" });
  const routerReload = h("button", { class: "rnb-btn rnb-p-router-reload", type: "button",
                                     title: "List the routers again" }, "Reload");
  const routerNote = h("span", { class: "rnb-p-router-note", "aria-live": "polite" });
  const seedRandom = h("input", { type: "radio", name: `${uid}-seed`, value: "random", class: "rnb-p-seed-random" });
  const seedFixed = h("input", { type: "radio", name: `${uid}-seed`, value: "fixed", class: "rnb-p-seed-fixed" });
  const seedInput = h("input", { type: "number", min: "0", max: "4294967295", step: "1", class: "rnb-p-seed",
                                 "aria-label": "Seed", placeholder: "seed" });
  const seedBox = h("div", { class: "rnb-p-seedbox" }, [
    h("label", {}, [seedRandom, " random"]), h("label", {}, [seedFixed, " fixed"]), seedInput,
  ]);
  const prompt = h("textarea", { class: "rnb-p-prompt", rows: "3", "aria-label": "Prompt",
                                 placeholder: "Describe the shot…" });
  const count = h("div", { class: "rnb-p-count", "aria-live": "polite" });
  const slots = h("div", { class: "rnb-p-slots" });
  const fields = h("div", { class: "rnb-p-fields" });
  const submit = h("button", { class: "rnb-btn rnb-p-submit", type: "button" }, "Submit");
  const reason = h("span", { class: "rnb-p-reason", role: "status" });
  const estimate = h("span", { class: "rnb-p-estimate" });
  const error = h("div", { class: "rnb-p-error", role: "alert" });
  const magic = h("pre", { class: "rnb-p-magic" });
  const magicBox = h("details", { class: "rnb-p-magicbox" }, [h("summary", {}, "As a %%runway cell"), magic]);
  const history = h("ul", { class: "rnb-p-history" });
  const historyBox = h("div", { class: "rnb-p-historybox" }, [h("div", { class: "rnb-p-h" }, "History"), history]);
  const ratioRow = row("Ratio", ratios);
  const durRow = row("Duration", h("div", { class: "rnb-p-inline" }, [
    durSel, h("span", { class: "rnb-p-unit" }, "seconds"),
  ]));
  const seedRow = row("Seed", seedBox);
  const voiceRow = row("Voice", voiceSel);
  const langRow = row("Language", langSel);
  const routerRow = row("Router", h("div", { class: "rnb-p-inline" }, [routerSel, routerReload, routerNote]));
  const promptRow = row("Prompt", h("div", { class: "rnb-p-promptbox" }, [prompt, count]));
  const root = h("div", { class: "rnb-panel" }, [
    row("Type", typeSel), row("Model", modelSel), routerRow, voiceRow, langRow, ratioRow, durRow, seedRow, promptRow,
    fields, slots,
    h("div", { class: "rnb-p-foot" }, [submit, reason, estimate]), error, problem, magicBox, historyBox,
  ]);
  return { root, typeSel, modelSel, voiceSel, langSel, voiceRow, langRow, routerSel, routerReload, routerNote,
           routerRow, fields, ratios, durSel, seedRandom, seedFixed, seedInput, prompt, count, slots, submit,
           reason, estimate, error, magic, magicBox, history, historyBox, ratioRow, durRow, seedRow, promptRow };
}

/**
 * The ratio picker: one button per ratio, drawn as its shape.
 * @param {Parts} ui
 * @param {Read} read
 * @param {Disposer} d
 * @param {Setter} set
 */
function renderRatios(ui, read, d, set) {
  const list = asList(read("ratios", []));
  const current = String(read("ratio", ""));
  const key = JSON.stringify(list);
  if (ui.ratios.getAttribute("data-key") !== key) {
    ui.ratios.textContent = "";
    for (const r of list.map(asRecord)) {
      const { width, height } = ratioShape(r.width, r.height, 34);
      const shape = h("span", { class: "rnb-p-shape" });
      shape.style.width = `${width}px`;
      shape.style.height = `${height}px`;
      const button = h("button", { class: "rnb-p-ratio", type: "button", role: "radio",
                                   "data-ratio": String(r.ratio), title: `${r.ratio} (${r.width}×${r.height})` },
      [h("span", { class: "rnb-p-shapebox" }, shape), h("span", { class: "rnb-p-ratiolabel" }, String(r.ratio))]);
      d.listen(button, "click", () => set("ratio", String(r.ratio)));
      ui.ratios.appendChild(button);
    }
    ui.ratios.setAttribute("data-key", key);
  }
  for (const button of ui.ratios.children) {
    const on = button.getAttribute("data-ratio") === current;
    button.setAttribute("aria-checked", on ? "true" : "false");
    button.classList.toggle("rnb-p-on", on);
  }
  show(ui.ratioRow, list.length > 0);
}

/**
 * Seed (random or fixed) and prompt; a field being edited is left alone.
 * @param {Parts} ui
 * @param {Read} read
 */
function renderSeedAndPrompt(ui, read) {
  const mode = String(read("seed_mode", "random"));
  ui.seedRandom.checked = mode !== "fixed";
  ui.seedFixed.checked = mode === "fixed";
  ui.seedInput.disabled = mode !== "fixed";
  const seed = read("seed");
  if (ui.seedInput.value !== String(seed ?? "") && document.activeElement !== ui.seedInput) {
    ui.seedInput.value = seed === undefined ? "" : String(seed);
  }
  show(ui.seedRow, !!read("takes_seed", true));
  const prompt = String(read("prompt", ""));
  if (ui.prompt.value !== prompt && document.activeElement !== ui.prompt) ui.prompt.value = prompt;
  show(ui.promptRow, !!read("takes_prompt", true));
}

/**
 * The media inputs of the model: a URL/path field or an upload each.
 * @param {Parts} ui
 * @param {Read} read
 * @param {Disposer} d
 * @param {{ set: Setter, upload: (slot: string, input: HTMLInputElement) => void, clear: (slot: string) => void }} on
 */
function createSlots(ui, read, d, on) {
  /** @type {string | null} */
  let key = null;
  /** @type {Map<string, { url: HTMLInputElement, uploaded: HTMLSpanElement, clear: HTMLButtonElement }>} */
  const views = new Map();

  /** @param {Record<string, any>} s */
  const build = (s) => {
    const name = String(s.name);
    const url = h("input", { type: "text", class: "rnb-p-url", "data-slot": name,
                             placeholder: "https://… URL or a file path", "aria-label": `${s.label} URL or path` });
    const file = h("input", { type: "file", class: "rnb-p-file", "data-slot": name,
                              accept: String(s.accept || ""), "aria-label": `Upload ${s.label}` });
    const uploaded = h("span", { class: "rnb-p-uploaded" });
    const clear = h("button", { class: "rnb-btn rnb-p-clear", type: "button" }, "Remove");
    d.listen(url, "input", () => on.set("urls", { ...asRecord(read("urls", {})), [name]: url.value }));
    d.listen(file, "change", () => on.upload(name, file));
    d.listen(clear, "click", () => on.clear(name));
    const label = `${s.label}${s.required ? "" : " (optional)"}`;
    ui.slots.appendChild(row(label, h("div", { class: "rnb-p-input", "data-slot": name },
      [url, h("span", { class: "rnb-p-or" }, "or"), file, uploaded, clear])));
    views.set(name, { url, uploaded, clear });
  };

  return function update() {
    const list = asList(read("slots", []));
    const next = JSON.stringify(list);
    if (next !== key) {
      key = next;
      ui.slots.textContent = "";
      views.clear();
      list.map(asRecord).forEach(build);
    }
    const urls = asRecord(read("urls", {}));
    const uploads = asRecord(read("uploads", {}));
    for (const [name, v] of views) {
      const up = uploads[name] ? asRecord(uploads[name]) : null;
      if (document.activeElement !== v.url) v.url.value = String(urls[name] || "");
      v.url.disabled = !!up;
      v.uploaded.textContent = up ? `${up.name} (${Math.round(Number(up.size || 0) / 1024)} KB)` : "";
      show(v.clear, !!up);
    }
  };
}

/**
 * The control of one generic input, by its kind.
 * @param {Record<string, any>} f
 * @returns {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement}
 */
function fieldControl(f) {
  const key = String(f.key);
  const attrs = { class: `rnb-p-field rnb-p-field-${String(f.kind)}`, "data-field": key, "aria-label": key };
  if (f.kind === "select") {
    const select = h("select", attrs);
    setOptions(select, asList(f.options), "");
    return select;
  }
  if (f.kind === "checkbox") return h("input", { ...attrs, type: "checkbox" });
  if (f.kind === "number") {
    /** @type {Record<string, string>} */
    const bounds = { type: "number", step: f.integer ? "1" : "any" };
    if (typeof f.minimum === "number") bounds.min = String(f.minimum);
    if (typeof f.maximum === "number") bounds.max = String(f.maximum);
    return h("input", { ...attrs, ...bounds });
  }
  if (f.kind === "json") return h("textarea", { ...attrs, rows: "2", placeholder: "JSON" });
  return h("input", { ...attrs, type: "text" });
}

/**
 * The generic inputs (`fields`): rebuilt when the list changes, refilled from `values`
 * (a field being edited is left alone).
 * @param {Parts} ui
 * @param {Read} read
 * @param {Disposer} d
 * @param {Setter} set
 */
function createFields(ui, read, d, set) {
  /** @type {string | null} */
  let key = null;
  /** @type {Map<string, { control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, kind: string }>} */
  const views = new Map();

  /**
   * @param {string} name
   * @param {unknown} value
   */
  const setValue = (name, value) => set("values", { ...asRecord(read("values", {})), [name]: value });

  /** @param {Record<string, any>} f */
  const build = (f) => {
    const name = String(f.key);
    const kind = String(f.kind);
    const control = fieldControl(f);
    if (kind === "checkbox") {
      d.listen(control, "change", () => setValue(name, /** @type {HTMLInputElement} */ (control).checked));
    } else if (kind === "select") {
      d.listen(control, "change", () => setValue(name, control.value));
    } else if (kind === "number") {
      d.listen(control, "input", () => {
        const text = control.value.trim();
        setValue(name, text === "" || Number.isNaN(Number(text)) ? null : Number(text));
      });
    } else {
      d.listen(control, "input", () => setValue(name, control.value));
    }
    ui.fields.appendChild(row(String(f.label || name), control));
    views.set(name, { control, kind });
  };

  return function update() {
    const list = asList(read("fields", []));
    const next = JSON.stringify(list);
    if (next !== key) {
      key = next;
      ui.fields.textContent = "";
      views.clear();
      list.map(asRecord).forEach(build);
    }
    const values = asRecord(read("values", {}));
    for (const [name, v] of views) {
      const value = values[name];
      if (v.kind === "checkbox") {
        /** @type {HTMLInputElement} */ (v.control).checked = !!value;
      } else if (document.activeElement !== v.control) {
        v.control.value = value === null || value === undefined ? "" : String(value);
      }
    }
    show(ui.fields, list.length > 0);
  };
}

/**
 * One history entry: Re-run, Edit, Copy as %%runway.
 * @param {Record<string, any>} entry
 * @param {Disposer} d
 * @param {Channel} channel
 */
function historyEntry(entry, d, channel) {
  const n = Number(entry.n);
  const text = String(entry.magic || "");
  const pre = h("pre", { class: "rnb-p-magic" }, text);
  const copied = h("span", { class: "rnb-p-copied" });
  const rerun = h("button", { class: "rnb-btn rnb-p-rerun", type: "button" }, "Re-run");
  const edit = h("button", { class: "rnb-btn rnb-p-edit", type: "button",
                             title: "Put these options back in the form" }, "Edit");
  const copy = h("button", { class: "rnb-btn rnb-p-copy", type: "button" }, "Copy as %%runway");
  const details = h("details", { class: "rnb-p-cell" }, [h("summary", {}, "%%runway cell"), pre]);
  d.listen(rerun, "click", () => channel.act("rerun", { n }));
  d.listen(edit, "click", () => channel.act("load", { n }));
  d.listen(copy, "click", async () => {
    details.open = true;
    details.setAttribute("open", "");
    try {
      await navigator.clipboard.writeText(text);
      copied.textContent = "copied";
    } catch (err) {
      copied.textContent = "select the text below to copy it";
    }
  });
  return h("li", { class: "rnb-p-entry", "data-n": String(n), "data-task": String(entry.id || "") }, [
    h("span", { class: "rnb-p-title" }, `#${n} ${String(entry.title || "")} — task ${String(entry.id || "")}`),
    rerun, edit, copy, copied,
    entry.note ? h("div", { class: "rnb-p-note" }, String(entry.note)) : null,
    details,
  ]);
}

/**
 * @param {Parts} ui
 * @param {Read} read
 * @param {Disposer} d
 * @param {Channel} channel
 */
function createHistory(ui, read, d, channel) {
  /** @type {string | null} */
  let key = null;
  return function update() {
    const list = asList(read("history", []));
    const next = JSON.stringify(list);
    if (next === key) return;
    key = next;
    ui.history.textContent = "";
    for (const entry of [...list].reverse()) ui.history.appendChild(historyEntry(asRecord(entry), d, channel));
    show(ui.historyBox, list.length > 0);
  };
}

/**
 * Submit's state: enabled only on the kernel's verdict about the latest change, no problem
 * seen here (prompt too long) and no submission on its way.
 * @param {Parts} ui
 * @param {Read} read
 * @param {{ busy: boolean, checking: () => boolean }} state
 */
function renderVerdict(ui, read, state) {
  const max = read("prompt_max");
  const n = ui.prompt.value.trim().length; // UTF-16 code units, as Runway counts
  const over = typeof max === "number" && n > max;
  ui.count.textContent = typeof max === "number" ? `${n} / ${max}` : `${n}`;
  ui.count.classList.toggle("rnb-p-over", over);
  const local = read("takes_prompt", true) && over
    ? `Prompt: ${n} characters; ${read("model", "this model")} takes at most ${max}.` : "";
  const pending = state.checking();
  const valid = !!read("valid", false) && !local && !state.busy && !pending;
  ui.submit.disabled = !valid;
  const why = local || (read("valid", false) ? "" : String(read("reason", "")));
  ui.reason.textContent = state.busy ? "Submitting…" : why || (pending ? "Checking…" : "");
  ui.root.setAttribute("data-valid", valid ? "true" : "false");
  const est = read("estimate");
  ui.estimate.textContent = valid && typeof est === "number" ? `~${est} credits` : "";
  const text = String(read("magic", ""));
  ui.magic.textContent = text;
  show(ui.magicBox, text.length > 0);
  const err = String(read("error", ""));
  ui.error.textContent = err;
  show(ui.error, err.length > 0);
}

const CHOICE_TRAITS = ["endpoints", "endpoint", "models", "model", "ratios", "ratio", "durations", "duration",
                       "voices", "voice", "languages", "target_language", "routers", "router", "routers_note",
                       "takes_router", "seed_mode", "seed", "takes_seed", "takes_prompt", "prompt", "slots", "urls",
                       "uploads", "fields", "values"];
const VERDICT_TRAITS = ["valid", "reason", "prompt_max", "estimate", "magic", "error", "checked_rev"];

/** @type {import("@anywidget/types").Render} */
function render({ model, el }) {
  const id = `rnb-p-${++panelIds}`;
  const { d, read, channel, ui } = mount(model, el, (/** @type {HTMLElement} */ problem) => skeleton(id, problem));

  // Every change carries a revision number; the kernel's verdict (valid, reason) says which
  // revision it checked. Until it checked the latest, Submit waits: no click on a stale verdict.
  let rev = 0;
  const state = { busy: false, checking: () => rev > (Number(read("checked_rev", 0)) || 0) };
  /** @type {Setter} */
  const set = (name, value) => {
    rev = Math.max(rev, Number(read("client_rev", 0)) || 0) + 1;
    model.set(name, value);
    model.set("client_rev", rev);
    model.save_changes();
  };
  const verdict = () => renderVerdict(ui, read, state);

  /**
   * @param {string} slot
   * @param {HTMLInputElement} input
   */
  const upload = (slot, input) => {
    const file = input.files && input.files[0];
    if (!file) return;
    if (file.size > MAX_UPLOAD) {
      ui.error.textContent = `${file.name} is too large to upload through the panel (over 50 MB): give a path or URL.`;
      show(ui.error, true);
      return;
    }
    file.arrayBuffer().then((buffer) => {
      if (d.disposed) return;
      channel.act("upload", { slot, name: file.name, mime: file.type, size: file.size }, [buffer]);
      input.value = "";
    });
  };
  const updateSlots = createSlots(ui, read, d, { set, upload, clear: (slot) => channel.act("clear_upload", { slot }) });
  const updateHistory = createHistory(ui, read, d, channel);
  const updateFields = createFields(ui, read, d, set);

  const renderChoices = () => {
    setOptions(ui.typeSel, asList(read("endpoints", [])), read("endpoint", ""));
    setOptions(ui.modelSel, asList(read("models", [])), read("model", ""));
    renderRatios(ui, read, d, set);
    const durations = asList(read("durations", []));
    setOptions(ui.durSel, durations, read("duration", ""));
    show(ui.durRow, durations.length > 0);
    const voices = asList(read("voices", []));
    setOptions(ui.voiceSel, voices, read("voice", ""));
    show(ui.voiceRow, voices.length > 0);
    const languages = asList(read("languages", []));
    setOptions(ui.langSel, languages, read("target_language", ""));
    show(ui.langRow, languages.length > 0);
    setOptions(ui.routerSel, asList(read("routers", [])), read("router", ""));
    ui.routerNote.textContent = String(read("routers_note", ""));
    show(ui.routerRow, !!read("takes_router", false));
    renderSeedAndPrompt(ui, read);
    updateFields();
    updateSlots();
    verdict();
  };

  d.listen(ui.typeSel, "change", () => set("endpoint", ui.typeSel.value));
  d.listen(ui.modelSel, "change", () => set("model", ui.modelSel.value));
  d.listen(ui.durSel, "change", () => set("duration", Number(ui.durSel.value)));
  d.listen(ui.voiceSel, "change", () => set("voice", ui.voiceSel.value));
  d.listen(ui.langSel, "change", () => set("target_language", ui.langSel.value));
  d.listen(ui.routerSel, "change", () => set("router", ui.routerSel.value));
  d.listen(ui.routerReload, "click", () => channel.act("routers"));
  d.listen(ui.seedRandom, "change", () => set("seed_mode", "random"));
  d.listen(ui.seedFixed, "change", () => {
    if (read("seed") === undefined) model.set("seed", Math.floor(Math.random() * 4294967296));
    set("seed_mode", "fixed");
  });
  d.listen(ui.seedInput, "input", () => {
    const v = ui.seedInput.value.trim();
    const n = /^\d+$/.test(v) ? Number(v) : null;
    set("seed", n !== null && n <= 4294967295 ? n : null);
  });
  d.listen(ui.prompt, "input", () => {
    verdict();
    set("prompt", ui.prompt.value);
  });
  d.listen(ui.submit, "click", () => {
    if (ui.submit.disabled) return;
    state.busy = true;
    verdict();
    channel.act("submit").then(() => {
      state.busy = false;
      if (!d.disposed) verdict();
    });
  });

  for (const name of CHOICE_TRAITS) d.modelOn(model, `change:${name}`, renderChoices);
  for (const name of VERDICT_TRAITS) d.modelOn(model, `change:${name}`, verdict);
  d.modelOn(model, "change:history", () => {
    state.busy = false;
    updateHistory();
    verdict();
  });

  renderChoices();
  updateHistory();

  return () => {
    d.dispose();
    ui.root.remove();
  };
}

export default { render };
