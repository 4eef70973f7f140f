// A small, strict fake DOM for node's test runner: enough for the widgets, and loud where a
// widget would do something unsafe (innerHTML/outerHTML/insertAdjacentHTML throw).

export class FakeEvent {
  constructor(type) {
    this.type = type;
  }
}

class Node {
  constructor(ownerDocument) {
    this.ownerDocument = ownerDocument;
    this.parentNode = null;
    this.childNodes = [];
  }
  get firstChild() {
    return this.childNodes[0] ?? null;
  }
  appendChild(child) {
    if (!(child instanceof Node)) throw new TypeError("appendChild needs a Node");
    if (child.parentNode) child.parentNode.removeChild(child);
    child.parentNode = this;
    this.childNodes.push(child);
    return child;
  }
  removeChild(child) {
    const i = this.childNodes.indexOf(child);
    if (i < 0) throw new Error("not a child");
    this.childNodes.splice(i, 1);
    child.parentNode = null;
    return child;
  }
  remove() {
    if (this.parentNode) this.parentNode.removeChild(this);
  }
  get textContent() {
    return this.childNodes.map((c) => c.textContent).join("");
  }
  set textContent(value) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    if (value !== "" && value !== null && value !== undefined) {
      this.appendChild(this.ownerDocument.createTextNode(String(value)));
    }
  }
}

export class Text extends Node {
  constructor(doc, data) {
    super(doc);
    this.data = String(data);
  }
  get textContent() {
    return this.data;
  }
  set textContent(v) {
    this.data = String(v);
  }
}

const URL_PROPS = new Set(["src", "href"]);

export class Element extends Node {
  constructor(doc, tagName, namespaceURI = null) {
    super(doc);
    // as in a browser: HTML tag names are upper case, SVG ones keep their case
    this.namespaceURI = namespaceURI;
    this.tagName = namespaceURI === null ? tagName.toUpperCase() : tagName;
    this.attributes = new Map();
    this.listeners = new Map();
    this.style = {};
    this.hidden = false;
    this.disabled = false;
    this.clicks = 0;
    const self = this;
    this.classList = {
      add: (...names) => self._setClasses([...self._classes(), ...names]),
      remove: (...names) => self._setClasses(self._classes().filter((c) => !names.includes(c))),
      contains: (name) => self._classes().includes(name),
      toggle: (name, on) => {
        const has = self._classes().includes(name);
        const want = on === undefined ? !has : on;
        if (want && !has) self.classList.add(name);
        if (!want && has) self.classList.remove(name);
        return want;
      },
    };
    // media element properties
    this.muted = false;
    this.readyState = 0;
  }
  _classes() {
    return (this.attributes.get("class") || "").split(/\s+/).filter(Boolean);
  }
  _setClasses(list) {
    this.attributes.set("class", [...new Set(list)].join(" "));
  }
  get className() {
    return this.attributes.get("class") || "";
  }
  set className(v) {
    this.attributes.set("class", String(v));
  }
  get children() {
    return this.childNodes.filter((c) => c instanceof Element);
  }
  setAttribute(name, value) {
    name = String(name).toLowerCase();
    if (/^on/.test(name)) this.ownerDocument.eventHandlerAttributes.push([this.tagName, name, value]);
    this.attributes.set(name, String(value));
    if (URL_PROPS.has(name)) this.ownerDocument.urlWrites.push([this.tagName, name, String(value)]);
  }
  getAttribute(name) {
    const v = this.attributes.get(String(name).toLowerCase());
    return v === undefined ? null : v;
  }
  hasAttribute(name) {
    return this.attributes.has(String(name).toLowerCase());
  }
  removeAttribute(name) {
    this.attributes.delete(String(name).toLowerCase());
  }
  get src() {
    return this.getAttribute("src") ?? "";
  }
  set src(v) {
    this.setAttribute("src", v);
  }
  get href() {
    return this.getAttribute("href") ?? "";
  }
  set href(v) {
    this.setAttribute("href", v);
  }
  set innerHTML(_) {
    throw new Error("innerHTML is forbidden in runway-nb widgets");
  }
  get innerHTML() {
    throw new Error("innerHTML is forbidden in runway-nb widgets");
  }
  set outerHTML(_) {
    throw new Error("outerHTML is forbidden in runway-nb widgets");
  }
  insertAdjacentHTML() {
    throw new Error("insertAdjacentHTML is forbidden in runway-nb widgets");
  }
  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
  }
  removeEventListener(type, fn) {
    this.listeners.get(type)?.delete(fn);
  }
  listenerCount() {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
  dispatchEvent(event) {
    for (const fn of [...(this.listeners.get(event.type) || [])]) fn(event);
    return true;
  }
  click() {
    this.clicks += 1;
    this.ownerDocument.clicked.push(this);
    if (!this.disabled) this.dispatchEvent(new FakeEvent("click"));
  }
  // selectors: "tag", ".class", "tag.class", "[attr]", "[attr=value]" and combinations thereof
  matches(selector) {
    const m = /^([a-z0-9]*)((?:\.[\w-]+)*)((?:\[[\w-]+(?:="?[^\]"]*"?)?\])*)$/i.exec(selector.trim());
    if (!m) throw new Error(`unsupported selector ${selector}`);
    if (m[1] && this.tagName.toUpperCase() !== m[1].toUpperCase()) return false;
    for (const cls of m[2].split(".").filter(Boolean)) if (!this._classes().includes(cls)) return false;
    for (const part of m[3].match(/\[[^\]]+\]/g) || []) {
      const [, name, value] = /^\[([\w-]+)(?:="?([^"]*)"?)?\]$/.exec(part);
      if (!this.hasAttribute(name)) return false;
      if (value !== undefined && this.getAttribute(name) !== value) return false;
    }
    return true;
  }
  querySelectorAll(selector) {
    const out = [];
    const walk = (node) => {
      for (const c of node.children) {
        if (c.matches(selector)) out.push(c);
        walk(c);
      }
    };
    walk(this);
    return out;
  }
  querySelector(selector) {
    return this.querySelectorAll(selector)[0] ?? null;
  }
  // A serialisation for assertions, escaping like a browser does.
  serialize() {
    const attrs = [...this.attributes].map(([k, v]) => ` ${k}="${v.replace(/&/g, "&amp;").replace(/"/g, "&quot;")}"`).join("");
    const inner = this.childNodes.map((c) => (c instanceof Element ? c.serialize()
      : c.data.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"))).join("");
    return `<${this.tagName.toLowerCase()}${attrs}>${inner}</${this.tagName.toLowerCase()}>`;
  }
}

export class Document {
  constructor() {
    this.created = [];
    this.urlWrites = [];
    this.eventHandlerAttributes = [];
    this.clicked = [];
  }
  createElement(tag) {
    const el = new Element(this, tag);
    this.created.push(el);
    return el;
  }
  createElementNS(namespaceURI, tag) {
    const el = new Element(this, tag, namespaceURI);
    this.created.push(el);
    return el;
  }
  createTextNode(data) {
    return new Text(this, data);
  }
}

/** A mock anywidget model: get/set/on/off/send/save_changes and "msg:custom". */
export class MockModel {
  constructor(state) {
    this.state = { ...state };
    this.handlers = new Map();
    this.sent = [];
    this.saved = 0;
  }
  get(name) {
    return this.state[name];
  }
  set(name, value) {
    this.state[name] = value;
    this.emit(`change:${name}`);
  }
  /** Set several traits like a kernel update, then fire their change events. */
  update(values) {
    Object.assign(this.state, values);
    for (const name of Object.keys(values)) this.emit(`change:${name}`);
  }
  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(fn);
  }
  off(event, fn) {
    if (fn === undefined) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(fn);
  }
  handlerCount() {
    let n = 0;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }
  emit(event, ...args) {
    for (const fn of [...(this.handlers.get(event) || [])]) fn(...args);
  }
  /** A custom message from the kernel. */
  receive(content, buffers = []) {
    this.emit("msg:custom", content, buffers);
  }
  send(content, callbacks, buffers) {
    this.sent.push({ content, buffers });
  }
  /** The requests and notifications the view sent through the channel for `method`. */
  calls(method) {
    return this.sent.map((m) => m.content).filter((c) => c && c.kind === "rnb:call" && c.method === method);
  }
  /** The kernel answers request `call` (an entry of calls()) with `result` and buffers. */
  reply(call, result = {}, buffers = []) {
    this.receive({ kind: "rnb:reply", id: call.id, ok: true, result }, buffers);
  }
  /** The kernel answers request `call` with an error. */
  replyError(call, error) {
    this.receive({ kind: "rnb:reply", id: call.id, ok: false, error });
  }
  save_changes() {
    this.saved += 1;
  }
}

/** Install the fake document, timers and URL blob functions on globalThis; returns a handle. */
export function installFakes() {
  const doc = new Document();
  const timers = { intervals: new Map(), timeouts: new Map(), next: 1 };
  const blobs = { created: [], revoked: [] };
  const saved = {
    document: globalThis.document, setInterval: globalThis.setInterval, clearInterval: globalThis.clearInterval,
    setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout,
    createObjectURL: URL.createObjectURL, revokeObjectURL: URL.revokeObjectURL, fetch: globalThis.fetch,
  };
  globalThis.document = doc;
  globalThis.setInterval = (fn, ms) => {
    const id = timers.next++;
    timers.intervals.set(id, { fn, ms });
    return id;
  };
  globalThis.clearInterval = (id) => timers.intervals.delete(id);
  globalThis.setTimeout = (fn, ms) => {
    const id = timers.next++;
    timers.timeouts.set(id, { fn, ms });
    return id;
  };
  globalThis.clearTimeout = (id) => timers.timeouts.delete(id);
  URL.createObjectURL = (blob) => {
    const url = `blob:http://localhost:8888/${blobs.created.length + 1}`;
    blobs.created.push({ url, blob });
    return url;
  };
  URL.revokeObjectURL = (url) => blobs.revoked.push(url);
  globalThis.fetch = async () => {
    throw new TypeError("Failed to fetch (fake: cross-origin)");
  };
  return {
    doc, timers, blobs,
    /** Run the pending timeouts (e.g. a request's deadline). */
    runTimeouts() {
      for (const [id, { fn }] of [...timers.timeouts]) {
        timers.timeouts.delete(id);
        fn();
      }
    },
    tickIntervals() {
      for (const { fn } of [...timers.intervals.values()]) fn();
    },
    restore() {
      globalThis.document = saved.document;
      globalThis.setInterval = saved.setInterval;
      globalThis.clearInterval = saved.clearInterval;
      globalThis.setTimeout = saved.setTimeout;
      globalThis.clearTimeout = saved.clearTimeout;
      URL.createObjectURL = saved.createObjectURL;
      URL.revokeObjectURL = saved.revokeObjectURL;
      globalThis.fetch = saved.fetch;
    },
  };
}

/** Let pending promise callbacks run (answers through the channel settle asynchronously). */
export const flush = () => new Promise((resolve) => setImmediate(resolve));
