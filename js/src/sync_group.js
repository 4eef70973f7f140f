// Synced playback of the comparison grid's videos and audio (see SyncGroup).

/** @typedef {import("./common.js").Disposer} Disposer */
/** @typedef {(time: number, total: number, playing: boolean) => void} Tick */
/** Seconds from a member's end where a shorter one holds its last frame (or falls silent). */
const SYNC_END = 0.05;
/** Drift (s) past which a member is seeked to the group's time (a seek stalls it briefly). */
const SYNC_DRIFT = 0.2;
/** Drift (s) past which a member's speed is nudged towards the group's time: half a frame at 24 fps. */
const SYNC_NUDGE = 0.02;
/** A nudged member makes up its drift over about this long (s), at most MAX_NUDGE faster or slower. */
const NUDGE_OVER = 0.5;
const MAX_NUDGE = 0.1;

/**
 * @param {HTMLMediaElement | null | undefined} media
 * @returns {number | null}
 */
function knownDuration(media) {
  const d = media ? media.duration : NaN;
  return typeof d === "number" && isFinite(d) && d > 0 ? d : null;
}

/**
 * @param {HTMLMediaElement} media
 * @param {number} rate
 */
function setRate(media, rate) {
  if (media.playbackRate !== rate) media.playbackRate = rate;
}

/** @param {HTMLMediaElement} media */
function playQuietly(media) {
  try {
    const p = media.play();
    if (p && typeof p.catch === "function") p.catch(() => {});
  } catch (err) {
    // a browser refusing to play (autoplay policy) is not an error of ours
  }
}

/**
 * Plays several media elements (videos, audio: any HTMLMediaElement) as one: play, pause, seek
 * and loop together.
 *
 * The group's time is in seconds and its length is the longest member's. The longest member
 * leads (its currentTime is the group's time); the others follow: one that drifts more than
 * SYNC_NUDGE plays slightly faster or slower until it is back in line, one that drifts more than
 * SYNC_DRIFT is seeked. A shorter video holds its last frame (a shorter sound stays silent) once
 * the group's time passes its end, until the group loops, when all restart together. Members get `loop = false` (the group
 * loops them). `onTick(time, total, playing)` is called on every change and while playing.
 */
export class SyncGroup {
  /** @param {{ disposer: Disposer, onTick?: Tick, tickMs?: number }} options */
  constructor({ disposer, onTick, tickMs }) {
    this.disposer = disposer;
    this.onTick = onTick || (() => {});
    this.tickMs = tickMs || 100;
    /** @type {Map<string, HTMLMediaElement>} */
    this.members = new Map();
    this.playing = false;
    this.loop = true;
    this.time = 0;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
  }

  /**
   * @param {string} key
   * @param {HTMLMediaElement} media
   */
  add(key, media) {
    media.loop = false;
    media.removeAttribute("loop");
    this.members.set(key, media);
    this.disposer.listen(media, "loadedmetadata", () => this.align());
    this.disposer.listen(media, "ended", () => this.tick());
    this.align();
  }

  /** @param {string} key */
  remove(key) {
    this.members.delete(key);
  }

  get size() {
    return this.members.size;
  }

  total() {
    let total = 0;
    for (const v of this.members.values()) total = Math.max(total, knownDuration(v) || 0);
    return total;
  }

  /** @returns {HTMLMediaElement | null} */
  leader() {
    /** @type {HTMLMediaElement | null} */
    let best = null;
    let bestDuration = 0;
    for (const v of this.members.values()) {
      const d = knownDuration(v) || 0;
      if (best === null || d > bestDuration) {
        best = v;
        bestDuration = d;
      }
    }
    return best;
  }

  currentTime() {
    const lead = this.leader();
    if (lead !== null && knownDuration(lead) !== null) return Number(lead.currentTime) || 0;
    return this.time;
  }

  /**
   * @param {HTMLMediaElement} media
   * @param {number} t
   */
  target(media, t) {
    const d = knownDuration(media);
    if (d === null) return t;
    return Math.max(0, Math.min(t, d - SYNC_END));
  }

  /** Put every member where the group's time says (after a member loaded, or a seek). */
  align() {
    const t = this.playing ? this.currentTime() : this.time;
    for (const v of this.members.values()) this.follow(v, t, true);
    this.onTick(t, this.total(), this.playing);
  }

  /**
   * @param {HTMLMediaElement} media
   * @param {number} t
   * @param {boolean} exact
   */
  follow(media, t, exact) {
    const d = knownDuration(media);
    if (d === null) return;
    const target = this.target(media, t);
    const past = t >= d - SYNC_END;
    const ahead = (Number(media.currentTime) || 0) - target;
    if (exact || Math.abs(ahead) > SYNC_DRIFT) {
      try {
        media.currentTime = target;
      } catch (err) {
        // not seekable yet: corrected on a later tick
      }
      setRate(media, 1);
    } else if (this.playing && !past && Math.abs(ahead) > SYNC_NUDGE) {
      // A small drift is played away (slightly slower or faster), not seeked: a seek stalls the
      // member for a moment, so under load seeking keeps it behind by about the stall.
      setRate(media, 1 - Math.max(-MAX_NUDGE, Math.min(MAX_NUDGE, ahead / NUDGE_OVER)));
    } else {
      setRate(media, 1);
    }
    if (this.playing && !past) {
      if (media.paused) playQuietly(media);
    } else if (!media.paused && typeof media.pause === "function") {
      media.pause();
    }
  }

  play() {
    const total = this.total();
    if (total > 0 && this.currentTime() >= total - SYNC_END) this.time = 0;
    else this.time = this.currentTime();
    this.playing = true;
    for (const v of this.members.values()) this.follow(v, this.time, true);
    if (this.timer === null) this.timer = this.disposer.interval(() => this.tick(), this.tickMs);
    this.onTick(this.time, total, true);
  }

  pause() {
    this.time = this.currentTime();
    this.playing = false;
    if (this.timer !== null) {
      this.disposer.clearInterval(this.timer);
      this.timer = null;
    }
    for (const v of this.members.values()) {
      if (!v.paused && typeof v.pause === "function") v.pause();
      setRate(v, 1);
    }
    this.onTick(this.time, this.total(), false);
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  /** @param {number} t */
  seek(t) {
    const total = this.total();
    this.time = Math.max(0, Math.min(Number(t) || 0, total));
    for (const v of this.members.values()) this.follow(v, this.time, true);
    this.onTick(this.time, total, this.playing);
  }

  /** @param {boolean} on */
  setLoop(on) {
    this.loop = !!on;
  }

  tick() {
    if (!this.playing) return;
    const lead = this.leader();
    const total = this.total();
    if (lead === null || total <= 0) return;
    const t = Number(lead.currentTime) || 0;
    if (lead.ended || t >= total - SYNC_END / 2) {
      if (this.loop) {
        this.time = 0;
        for (const v of this.members.values()) this.follow(v, 0, true);
        this.onTick(0, total, true);
      } else {
        this.time = total;
        this.pause();
      }
      return;
    }
    for (const v of this.members.values()) {
      if (v !== lead) this.follow(v, t, false);
    }
    if (lead.paused) playQuietly(lead);
    this.onTick(t, total, true);
  }
}
