// Panel form front end: one generation's options, Generate, and the history. The kernel owns
// validation (runway_nb/notebook/widgets/_panel.py checks every change against the catalog) and
// tells this view `valid` and `reason`; the view disables Generate and shows the reason. Form
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
// Keyboard: Generate is the primary action; the ratio picker is one WAI-ARIA radio group (one tab
// stop, arrow keys move the choice); a file input is visually hidden behind its "Choose …" label,
// so it keeps the focus and the keyboard while looking like the other buttons; files drop too.
import { Disposer, asList, asRecord, badgeClass, h, mount, safeUrl, show } from "./common.js";

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
  const ratios = h("div", { class: "rnb-p-ratios", role: "radiogroup", "aria-label": "Aspect ratio" });
  const durSel = h("select", { class: "rnb-p-duration", "aria-label": "Duration (seconds)" });
  const voiceSel = h("select", { class: "rnb-p-voice", "aria-label": "Voice" });
  const langSel = h("select", { class: "rnb-p-language", "aria-label": "Target language" });
  const routerSel = h("select", { class: "rnb-p-router", "aria-label": "Router" });
  const routerReload = h("button", { class: "rnb-btn rnb-p-router-reload", type: "button",
                                     title: "List the routers again", "aria-label": "Reload routers" }, "Reload");
  const routerNote = h("span", { class: "rnb-p-router-note", "aria-live": "polite" });
  const seedRandom = h("input", { type: "radio", name: `${uid}-seed`, value: "random", class: "rnb-p-seed-random" });
  const seedFixed = h("input", { type: "radio", name: `${uid}-seed`, value: "fixed", class: "rnb-p-seed-fixed" });
  const seedInput = h("input", { type: "number", min: "0", max: "4294967295", step: "1", class: "rnb-p-seed",
                                 "aria-label": "Seed", placeholder: "seed" });
  const seedBox = h("div", { class: "rnb-p-seedbox" }, [
    h("span", { class: "rnb-p-seedmodes", role: "radiogroup", "aria-label": "Seed" }, [
      h("label", {}, [seedRandom, " random"]), h("label", {}, [seedFixed, " fixed"]),
    ]),
    seedInput,
  ]);
  const prompt = h("textarea", { class: "rnb-p-prompt", rows: "3", "aria-label": "Prompt",
                                 placeholder: "Describe the shot…" });
  const count = h("div", { class: "rnb-p-count", "aria-live": "polite" });
  const slots = h("div", { class: "rnb-p-slots" });
  const fields = h("div", { class: "rnb-p-fields" });
  const submit = h("button", { class: "rnb-btn rnb-btn-primary rnb-p-submit", type: "button" }, "Generate");
  const reason = h("span", { class: "rnb-p-reason", role: "status" });
  const estimate = h("span", { class: "rnb-p-estimate" });
  const error = h("div", { class: "rnb-p-error", role: "alert" });
  const magic = h("pre", { class: "rnb-p-magic" });
  const magicBox = h("details", { class: "rnb-p-magicbox" }, [h("summary", {}, "As a %%runway cell"), magic]);
  const history = h("ul", { class: "rnb-p-history" });
  const historyBox = h("div", { class: "rnb-p-historybox" }, [h("div", { class: "rnb-p-h" }, "History"), history]);
  const ratioRow = row("Aspect ratio", ratios);
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
  return { uid, root, typeSel, modelSel, voiceSel, langSel, voiceRow, langRow, routerSel, routerReload, routerNote,
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
  const buttons = [...ui.ratios.children];
  const checked = buttons.findIndex((b) => b.getAttribute("data-ratio") === current);
  buttons.forEach((button, i) => {
    const on = i === checked;
    button.setAttribute("aria-checked", on ? "true" : "false");
    button.classList.toggle("rnb-p-on", on);
    // one tab stop: the chosen ratio (the first when none is)
    button.setAttribute("tabindex", i === Math.max(0, checked) ? "0" : "-1");
  });
  show(ui.ratioRow, list.length > 0);
}

const NEXT_KEYS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

/**
 * Arrow keys in the ratio group move the choice (wrapping), Home/End go to the first/last: the
 * WAI-ARIA radio group pattern. The moved-to ratio is chosen and focused.
 * @param {Parts} ui
 * @param {Disposer} d
 * @param {Setter} set
 */
function ratioKeys(ui, d, set) {
  d.listen(ui.ratios, "keydown", (/** @type {KeyboardEvent} */ event) => {
    const buttons = /** @type {HTMLElement[]} */ ([...ui.ratios.children]);
    if (buttons.length === 0) return;
    const at = buttons.findIndex((b) => b === document.activeElement);
    const from = at >= 0 ? at : Math.max(0, buttons.findIndex((b) => b.getAttribute("aria-checked") === "true"));
    /** @type {number | null} */
    let to = null;
    if (event.key in NEXT_KEYS) {
      const step = NEXT_KEYS[/** @type {keyof typeof NEXT_KEYS} */ (event.key)];
      to = (from + step + buttons.length) % buttons.length;
    } else if (event.key === "Home") to = 0;
    else if (event.key === "End") to = buttons.length - 1;
    if (to === null) return;
    event.preventDefault();
    event.stopPropagation(); // JupyterLab would move between cells on arrow keys
    const target = buttons[to];
    for (const b of buttons) b.setAttribute("tabindex", b === target ? "0" : "-1");
    target.focus();
    set("ratio", String(target.getAttribute("data-ratio")));
  });
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
 * "Choose image…", "Choose audio or video…": the words of a slot's file button.
 * @param {unknown} label
 */
function chooseText(label) {
  const noun = String(label || "file").replace(/\s*\(([^)]*)\)\s*$/, " or $1").replace(/ or or /, " or ");
  return `Choose ${noun.charAt(0).toLowerCase()}${noun.slice(1)}…`;
}

/**
 * The media inputs of the model: a URL/path field or an upload each. The upload is a file input
 * hidden visually behind a label drawn as a button (the input keeps the focus and the keyboard);
 * a file dropped on the row is uploaded too.
 * @param {Parts} ui
 * @param {Read} read
 * @param {Disposer} d
 * @param {{ set: Setter, upload: (slot: string, file: File | null | undefined) => void,
 *           clear: (slot: string) => void }} on
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
    const fileId = `${ui.uid}-file-${ui.slots.children.length}`;
    const file = h("input", { type: "file", id: fileId, class: "rnb-p-file rnb-visually-hidden", "data-slot": name,
                              accept: String(s.accept || "") });
    const choose = h("label", { class: "rnb-btn rnb-p-choose", for: fileId }, chooseText(s.label));
    const uploaded = h("span", { class: "rnb-p-uploaded", "aria-live": "polite" });
    const clear = h("button", { class: "rnb-btn rnb-p-clear", type: "button", "aria-label": `Remove ${s.label}` },
      "Remove");
    d.listen(url, "input", () => on.set("urls", { ...asRecord(read("urls", {})), [name]: url.value }));
    d.listen(file, "change", () => {
      on.upload(name, file.files && file.files[0]);
      file.value = "";
    });
    d.listen(clear, "click", () => on.clear(name));
    const label = `${s.label}${s.required ? "" : " (optional)"}`;
    const box = h("div", { class: "rnb-p-input", "data-slot": name },
      [url, h("span", { class: "rnb-p-or" }, "or"), file, choose, uploaded, clear]);
    d.listen(box, "dragover", (/** @type {DragEvent} */ event) => {
      event.preventDefault();
      box.classList.add("rnb-p-drop");
    });
    d.listen(box, "dragleave", () => box.classList.remove("rnb-p-drop"));
    d.listen(box, "drop", (/** @type {DragEvent} */ event) => {
      event.preventDefault();
      box.classList.remove("rnb-p-drop");
      on.upload(name, event.dataTransfer && event.dataTransfer.files[0]);
    });
    ui.slots.appendChild(row(label, box));
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
 * One history line: the result's thumbnail (a blank box until there is one), the prompt
 * (clipped, in full in its title), the status badge, the model and options it ran with; Re-run, Edit and one way to
 * copy (Copy as cell: the %%runway text, shown once copied so it can be selected where the
 * clipboard is not allowed); the task id small, last.
 * @param {Record<string, any>} entry
 * @param {Disposer} d
 * @param {Channel} channel
 * @param {string} said what Copy as cell said on this line before the list was rebuilt
 * @param {(n: number, text: string) => void} say tells the line (as it is then) what copying did
 */
function historyEntry(entry, d, channel, said, say) {
  const n = Number(entry.n);
  const text = String(entry.magic || "");
  const status = String(entry.status || "PENDING");
  const prompt = String(entry.prompt || "");
  const title = String(entry.title || "");
  const pre = h("pre", { class: "rnb-p-magic rnb-p-cell", "aria-label": `%%runway cell of #${n}` }, text);
  show(pre, false);
  const copied = h("span", { class: "rnb-p-copied", role: "status" }, said);
  const rerun = h("button", { class: "rnb-btn rnb-p-rerun", type: "button", "aria-label": `Re-run #${n}` }, "Re-run");
  const edit = h("button", { class: "rnb-btn rnb-p-edit", type: "button", "aria-label": `Edit #${n}`,
                             title: "Put these options back in the form" }, "Edit");
  const copy = h("button", { class: "rnb-btn rnb-p-copy", type: "button", "aria-label": `Copy #${n} as cell`,
                             title: "Copy the %%runway cell that makes this again" }, "Copy as cell");
  d.listen(rerun, "click", () => channel.act("rerun", { n }));
  d.listen(edit, "click", () => channel.act("load", { n }));
  d.listen(copy, "click", async () => {
    show(pre, true);
    try {
      await navigator.clipboard.writeText(text);
      say(n, "copied");
    } catch (err) {
      say(n, "select the text below to copy it");
    }
  });
  const poster = safeUrl(entry.thumb);
  const thumb = poster && /^data:image\//i.test(poster)
    ? h("img", { class: "rnb-p-thumb", src: poster, alt: "" })
    : h("span", { class: "rnb-p-thumb rnb-p-thumb-empty", "aria-hidden": "true" });
  return h("li", { class: "rnb-p-entry", "data-n": String(n), "data-task": String(entry.id || "") }, [
    thumb,
    h("div", { class: "rnb-p-entry-main" }, [
      h("div", { class: "rnb-p-entry-prompt", title: prompt || title },
        `#${n} ${String(entry.short || "") || title}`),
      h("div", { class: "rnb-p-entry-meta" }, [
        h("span", { class: badgeClass(status) }, status),
        h("span", { class: "rnb-p-entry-model", title }, String(entry.options || entry.model || "")),
        h("span", { class: "rnb-p-entry-id" }, `task ${String(entry.id || "")}`),
      ]),
      entry.note ? h("div", { class: "rnb-p-note" }, String(entry.note)) : null,
      pre,
    ]),
    h("div", { class: "rnb-p-entry-actions" }, [rerun, edit, copy, copied]),
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
  // What Copy as cell said on each line: the list is rebuilt when a status changes, maybe
  // while the clipboard is still answering, and the note belongs to the line, not to one build.
  /** @type {Map<number, string>} */
  const copiedNotes = new Map();
  /** @param {number} n @param {string} text */
  const say = (n, text) => {
    copiedNotes.set(n, text);
    const li = [...ui.history.children].find((node) => node.getAttribute("data-n") === String(n));
    const span = li && li.querySelector(".rnb-p-copied");
    if (span) span.textContent = text;
  };
  return function update() {
    const list = asList(read("history", []));
    const next = JSON.stringify(list);
    if (next === key) return;
    key = next;
    // Statuses change while someone may be on a line's button: focus, and a shown cell, stay.
    const active = document.activeElement;
    /** @type {[string | null, string] | null} */
    let where = null;
    /** @type {Set<string | null>} */
    const open = new Set();
    for (const li of ui.history.children) {
      for (const b of li.querySelectorAll("button")) if (b === active) where = [li.getAttribute("data-n"), b.className];
      const pre = li.querySelector(".rnb-p-cell");
      if (pre && !pre.hasAttribute("hidden")) open.add(li.getAttribute("data-n"));
    }
    ui.history.textContent = "";
    for (const entry of [...list].reverse()) {
      const record = asRecord(entry);
      const li = historyEntry(record, d, channel, copiedNotes.get(Number(record.n)) || "", say);
      const pre = /** @type {HTMLElement | null} */ (li.querySelector(".rnb-p-cell"));
      if (pre && open.has(li.getAttribute("data-n"))) show(pre, true);
      ui.history.appendChild(li);
    }
    if (where) {
      const [n, cls] = where;
      const li = [...ui.history.children].find((node) => node.getAttribute("data-n") === n);
      const again = li && [...li.querySelectorAll("button")].find((b) => b.className === cls);
      if (again) again.focus();
    }
    show(ui.historyBox, list.length > 0);
  };
}

/**
 * Generate's state: enabled only on the kernel's verdict about the latest change, no problem
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
  // revision it checked. Until it checked the latest, Generate waits: no click on a stale verdict.
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
   * @param {File | null | undefined} file
   */
  const upload = (slot, file) => {
    if (!file) return;
    if (file.size > MAX_UPLOAD) {
      ui.error.textContent = `${file.name} is too large to upload through the panel (over 50 MB): give a path or URL.`;
      show(ui.error, true);
      return;
    }
    file.arrayBuffer().then((buffer) => {
      if (d.disposed) return;
      channel.act("upload", { slot, name: file.name, mime: file.type, size: file.size }, [buffer]);
    });
  };
  const updateSlots = createSlots(ui, read, d, { set, upload, clear: (slot) => channel.act("clear_upload", { slot }) });
  const updateHistory = createHistory(ui, read, d, channel);
  const updateFields = createFields(ui, read, d, set);
  ratioKeys(ui, d, set);

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
