// Panel form front end: one generation's options, Submit, and the history. The kernel owns
// validation (runway_nb/widgets/_panel.py checks every change against the catalog) and tells
// this view `valid` and `reason`; the view disables Submit and shows the reason. Form fields
// are synced traits (endpoint, model, ratio, duration, seed_mode, seed, prompt, urls); the
// catalog facts for the current choice arrive as traits too (models, ratios, durations, slots,
// prompt_max, takes_prompt, takes_seed). Custom messages, view -> kernel:
//   {type:"submit"}, {type:"rerun", n}, {type:"load", n}, {type:"clear_upload", slot},
//   {type:"upload", slot, name, mime, size} + one buffer (the file's bytes)
// Everything is built with textContent/setAttribute (h() in common.js).
import { h, Disposer } from "./common.js";

const PANEL_MAX_UPLOAD = 50 * 1024 * 1024;
let panelIds = 0;

function panelShow(node, visible) {
  node.hidden = !visible;
  if (visible) node.removeAttribute("hidden");
  else node.setAttribute("hidden", "");
}

/** The shape of a ratio, fitted in a `size` x `size` box. */
function ratioShape(width, height, size) {
  const w = Number(width) > 0 ? Number(width) : 16;
  const hh = Number(height) > 0 ? Number(height) : 9;
  if (w >= hh) return { width: size, height: Math.max(4, Math.round((size * hh) / w)) };
  return { width: Math.max(4, Math.round((size * w) / hh)), height: size };
}

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

function row(label, control, extra) {
  return h("div", { class: "rnb-p-row" }, [h("label", { class: "rnb-p-label" }, label), control, extra || null]);
}

function render({ model, el }) {
  const d = new Disposer();
  const uid = `rnb-p-${++panelIds}`;
  const get = (name, fallback) => {
    const v = model.get(name);
    return v === undefined || v === null ? fallback : v;
  };
  // Every change carries a revision number; the kernel's verdict (valid, reason) says which
  // revision it checked. Until it checked the latest, Submit waits: no click on a stale verdict.
  let rev = 0;
  const set = (name, value) => {
    rev = Math.max(rev, Number(get("client_rev", 0)) || 0) + 1;
    model.set(name, value);
    model.set("client_rev", rev);
    model.save_changes();
  };
  const checking = () => rev > (Number(get("checked_rev", 0)) || 0);

  // ---------------------------------------------------------------- controls
  const typeSel = h("select", { class: "rnb-p-type", "aria-label": "Task type" });
  const modelSel = h("select", { class: "rnb-p-model", "aria-label": "Model" });
  const ratios = h("div", { class: "rnb-p-ratios", role: "radiogroup", "aria-label": "Ratio" });
  const durSel = h("select", { class: "rnb-p-duration", "aria-label": "Duration (seconds)" });
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
  const promptRow = row("Prompt", h("div", { class: "rnb-p-promptbox" }, [prompt, count]));
  const root = h("div", { class: "rnb-panel" }, [
    row("Type", typeSel), row("Model", modelSel), ratioRow, durRow, seedRow, promptRow, slots,
    h("div", { class: "rnb-p-foot" }, [submit, reason, estimate]), error, magicBox, historyBox,
  ]);
  el.appendChild(root);

  // ---------------------------------------------------------------- rendering
  function renderChoices() {
    setOptions(typeSel, get("endpoints", []), get("endpoint", ""));
    setOptions(modelSel, get("models", []), get("model", ""));

    const list = get("ratios", []);
    const current = String(get("ratio", ""));
    const key = JSON.stringify(list);
    if (ratios.getAttribute("data-key") !== key) {
      ratios.textContent = "";
      for (const r of list) {
        const { width, height } = ratioShape(r.width, r.height, 34);
        const shape = h("span", { class: "rnb-p-shape" });
        shape.style.width = `${width}px`;
        shape.style.height = `${height}px`;
        const button = h("button", { class: "rnb-p-ratio", type: "button", role: "radio",
                                     "data-ratio": String(r.ratio), title: `${r.ratio} (${r.width}×${r.height})` },
        [h("span", { class: "rnb-p-shapebox" }, shape), h("span", { class: "rnb-p-ratiolabel" }, String(r.ratio))]);
        d.listen(button, "click", () => set("ratio", String(r.ratio)));
        ratios.appendChild(button);
      }
      ratios.setAttribute("data-key", key);
    }
    for (const button of ratios.children) {
      const on = button.getAttribute("data-ratio") === current;
      button.setAttribute("aria-checked", on ? "true" : "false");
      button.classList.toggle("rnb-p-on", on);
    }
    panelShow(ratioRow, list.length > 0);

    const durations = get("durations", []);
    setOptions(durSel, durations, get("duration", ""));
    panelShow(durRow, durations.length > 0);

    const mode = String(get("seed_mode", "random"));
    seedRandom.checked = mode !== "fixed";
    seedFixed.checked = mode === "fixed";
    seedInput.disabled = mode !== "fixed";
    const seed = model.get("seed");
    if (seedInput.value !== String(seed ?? "") && document.activeElement !== seedInput) {
      seedInput.value = seed === null || seed === undefined ? "" : String(seed);
    }
    panelShow(seedRow, !!get("takes_seed", true));

    if (prompt.value !== get("prompt", "") && document.activeElement !== prompt) prompt.value = get("prompt", "");
    panelShow(promptRow, !!get("takes_prompt", true));
    renderSlots();
    renderVerdict();
  }

  let slotsKey = null;
  const slotViews = new Map();
  function renderSlots() {
    const list = get("slots", []);
    const key = JSON.stringify(list);
    if (key !== slotsKey) {
      slotsKey = key;
      slots.textContent = "";
      slotViews.clear();
      for (const s of list) {
        const name = String(s.name);
        const url = h("input", { type: "text", class: "rnb-p-url", "data-slot": name,
                                 placeholder: "https://… URL or a file path", "aria-label": `${s.label} URL or path` });
        const file = h("input", { type: "file", class: "rnb-p-file", "data-slot": name,
                                  accept: String(s.accept || ""), "aria-label": `Upload ${s.label}` });
        const uploaded = h("span", { class: "rnb-p-uploaded" });
        const clear = h("button", { class: "rnb-btn rnb-p-clear", type: "button" }, "Remove");
        d.listen(url, "input", () => set("urls", { ...get("urls", {}), [name]: url.value }));
        d.listen(file, "change", () => upload(name, file));
        d.listen(clear, "click", () => model.send({ type: "clear_upload", slot: name }));
        const label = `${s.label}${s.required ? "" : " (optional)"}`;
        slots.appendChild(row(label, h("div", { class: "rnb-p-input", "data-slot": name },
          [url, h("span", { class: "rnb-p-or" }, "or"), file, uploaded, clear])));
        slotViews.set(name, { url, file, uploaded, clear });
      }
    }
    const urls = get("urls", {});
    const uploads = get("uploads", {});
    for (const [name, v] of slotViews) {
      const up = uploads[name];
      if (document.activeElement !== v.url) v.url.value = String(urls[name] || "");
      v.url.disabled = !!up;
      v.uploaded.textContent = up ? `${up.name} (${Math.round(Number(up.size || 0) / 1024)} KB)` : "";
      panelShow(v.clear, !!up);
    }
  }

  function localProblem() {
    const max = model.get("prompt_max");
    const n = prompt.value.trim().length; // UTF-16 code units, as Runway counts
    if (get("takes_prompt", true) && typeof max === "number" && n > max) {
      return `Prompt: ${n} characters; ${get("model", "this model")} takes at most ${max}.`;
    }
    return "";
  }

  function renderCount() {
    const max = model.get("prompt_max");
    const n = prompt.value.trim().length;
    count.textContent = typeof max === "number" ? `${n} / ${max}` : `${n}`;
    count.classList.toggle("rnb-p-over", typeof max === "number" && n > max);
  }

  function renderVerdict() {
    renderCount();
    const local = localProblem();
    const pending = checking();
    const valid = !!get("valid", false) && !local && !busy && !pending;
    submit.disabled = !valid;
    const why = local || (get("valid", false) ? "" : String(get("reason", "")));
    reason.textContent = busy ? "Submitting…" : why || (pending ? "Checking…" : "");
    root.setAttribute("data-valid", valid ? "true" : "false");
    const est = model.get("estimate");
    estimate.textContent = valid && typeof est === "number" ? `~${est} credits` : "";
    const text = String(get("magic", ""));
    magic.textContent = text;
    panelShow(magicBox, text.length > 0);
    const err = String(get("error", ""));
    error.textContent = err;
    panelShow(error, err.length > 0);
  }

  let historyKey = null;
  function renderHistory() {
    const list = get("history", []);
    const key = JSON.stringify(list);
    if (key === historyKey) return;
    historyKey = key;
    history.textContent = "";
    for (const entry of [...list].reverse()) {
      const n = Number(entry.n);
      const text = String(entry.magic || "");
      const pre = h("pre", { class: "rnb-p-magic" }, text);
      const copied = h("span", { class: "rnb-p-copied" });
      const rerun = h("button", { class: "rnb-btn rnb-p-rerun", type: "button" }, "Re-run");
      const edit = h("button", { class: "rnb-btn rnb-p-edit", type: "button",
                                 title: "Put these options back in the form" }, "Edit");
      const copy = h("button", { class: "rnb-btn rnb-p-copy", type: "button" }, "Copy as %%runway");
      const details = h("details", { class: "rnb-p-cell" }, [h("summary", {}, "%%runway cell"), pre]);
      d.listen(rerun, "click", () => model.send({ type: "rerun", n }));
      d.listen(edit, "click", () => model.send({ type: "load", n }));
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
      history.appendChild(h("li", { class: "rnb-p-entry", "data-n": String(n), "data-task": String(entry.id || "") }, [
        h("span", { class: "rnb-p-title" }, `#${n} ${String(entry.title || "")} — task ${String(entry.id || "")}`),
        rerun, edit, copy, copied,
        entry.note ? h("div", { class: "rnb-p-note" }, String(entry.note)) : null,
        details,
      ]));
    }
    panelShow(historyBox, list.length > 0);
  }

  // ---------------------------------------------------------------- uploads, submit
  let busy = false;
  function upload(name, input) {
    const file = input.files && input.files[0];
    if (!file) return;
    if (file.size > PANEL_MAX_UPLOAD) {
      error.textContent = `${file.name} is too large to upload through the panel (over 50 MB): give a path or URL.`;
      panelShow(error, true);
      return;
    }
    file.arrayBuffer().then((buffer) => {
      if (d.disposed) return;
      model.send({ type: "upload", slot: name, name: file.name, mime: file.type, size: file.size },
        undefined, [buffer]);
      input.value = "";
    });
  }

  d.listen(typeSel, "change", () => set("endpoint", typeSel.value));
  d.listen(modelSel, "change", () => set("model", modelSel.value));
  d.listen(durSel, "change", () => set("duration", Number(durSel.value)));
  d.listen(seedRandom, "change", () => set("seed_mode", "random"));
  d.listen(seedFixed, "change", () => {
    if (model.get("seed") === null || model.get("seed") === undefined) {
      model.set("seed", Math.floor(Math.random() * 4294967296));
    }
    set("seed_mode", "fixed");
  });
  d.listen(seedInput, "input", () => {
    const v = seedInput.value.trim();
    const n = /^\d+$/.test(v) ? Number(v) : null;
    set("seed", n !== null && n <= 4294967295 ? n : null);
  });
  d.listen(prompt, "input", () => {
    renderVerdict();
    set("prompt", prompt.value);
  });
  d.listen(submit, "click", () => {
    if (submit.disabled) return;
    busy = true;
    renderVerdict();
    model.send({ type: "submit" });
    d.timeout(() => {
      busy = false;
      renderVerdict();
    }, 1500);
  });

  for (const name of ["endpoints", "endpoint", "models", "model", "ratios", "ratio", "durations", "duration",
                      "seed_mode", "seed", "takes_seed", "takes_prompt", "prompt", "slots", "urls", "uploads"]) {
    d.modelOn(model, `change:${name}`, renderChoices);
  }
  for (const name of ["valid", "reason", "prompt_max", "estimate", "magic", "error", "checked_rev"]) {
    d.modelOn(model, `change:${name}`, renderVerdict);
  }
  d.modelOn(model, "change:history", () => {
    busy = false;
    renderHistory();
    renderVerdict();
  });

  renderChoices();
  renderHistory();

  return () => {
    d.dispose();
    root.remove();
  };
}

export default { render };
