// The realtime channel (/api/v1/ws): one WebSocket per tab while logged in.
// - Reconnects by itself with exponential backoff (0.5 s .. 15 s, with jitter).
// - Remembers what the page watches (thing -> point ids) and subscribes it again
//   after every reconnect (subscriptions do not survive a reconnect on the server);
//   a thing the server reports deleted (`thing_removed`) is forgotten.
// - control() sends a `control` with a fresh `ref` and resolves with the
//   matching `control_result` or `error`.

const MAX_IDS_PER_MESSAGE = 500;   // keeps each frame well under the 64 KiB limit
const CONTROL_CLIENT_TIMEOUT_MS = 20000;  // server times out after 10 s itself

export class Realtime {
  constructor() {
    this.ws = null;
    this.state = 'closed';       // closed | connecting | open
    this.wanted = new Map();     // thing -> Set(point_id) the page watches
    this.valueListeners = new Set();
    this.stateListeners = new Set();
    this.messageListeners = new Set();
    this.pending = new Map();    // ref -> {resolve, timer}
    this.backoff = 500;
    this.timer = null;
    this.running = false;
    this.refSeq = 0;
    this.beforeReconnect = null; // async () => boolean: false stops reconnecting
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.backoff = 500;
    this.connect();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close(1000, 'logout');
    }
    this.failPending('closed');
    this.setState('closed');
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.setState('connecting');
    ws.onopen = () => {
      this.backoff = 500;
      this.setState('open');
      for (const [thing, ids] of this.wanted) this.sendIds('subscribe', thing, [...ids]);
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      this.handle(msg);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      this.failPending('closed');
      this.setState('closed');
      if (this.running) this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    if (!this.running || this.timer) return;
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, 15000);
    this.setState('closed');
    this.timer = setTimeout(async () => {
      this.timer = null;
      if (!this.running) return;
      // A failed upgrade does not tell us why; if the session is gone, the check
      // sends the user to the login page and we stop here.
      if (this.beforeReconnect && !(await this.beforeReconnect())) return;
      if (this.running) this.connect();
    }, delay);
  }

  /** Makes the next reconnect attempt happen now (e.g. when the tab is shown again). */
  kick() {
    if (this.running && !this.ws) { this.backoff = 500; this.connect(); }
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    for (const fn of this.stateListeners) fn(s);
  }

  send(obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  sendIds(type, thing, ids) {
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_MESSAGE) {
      this.send({ type, thing, point_ids: ids.slice(i, i + MAX_IDS_PER_MESSAGE) });
    }
  }

  /** Replaces what is watched: Map(thing -> array of point ids). */
  watch(byThing) {
    const next = new Map([...byThing].map(([t, ids]) => [t, new Set(ids)]));
    for (const [thing, old] of this.wanted) {
      const keep = next.get(thing) || new Set();
      const gone = [...old].filter((id) => !keep.has(id));
      if (gone.length) this.sendIds('unsubscribe', thing, gone);
    }
    for (const [thing, ids] of next) {
      const old = this.wanted.get(thing) || new Set();
      const added = [...ids].filter((id) => !old.has(id));
      if (added.length) this.sendIds('subscribe', thing, added);
    }
    this.wanted = next;
  }

  unwatchAll() { this.watch(new Map()); }

  onValues(fn) { this.valueListeners.add(fn); return () => this.valueListeners.delete(fn); }
  onState(fn) { this.stateListeners.add(fn); return () => this.stateListeners.delete(fn); }
  onMessage(fn) { this.messageListeners.add(fn); return () => this.messageListeners.delete(fn); }

  handle(msg) {
    // The thing was deleted and the server dropped its watches: neither the
    // page's listeners (which stop watching it) nor a reconnect may ask for it
    // again (it would be refused as not found).
    if (msg.type === 'thing_removed') this.wanted.delete(msg.thing);
    for (const fn of this.messageListeners) fn(msg);
    if (msg.type === 'values') {
      // One frame carries the pending values of every watched thing.
      for (const update of msg.updates || []) {
        for (const fn of this.valueListeners) fn(update);
      }
    } else if ((msg.type === 'control_result' || msg.type === 'error') && msg.ref && this.pending.has(msg.ref)) {
      const p = this.pending.get(msg.ref);
      this.pending.delete(msg.ref);
      clearTimeout(p.timer);
      p.resolve(msg);
    }
  }

  failPending(why) {
    for (const [ref, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ type: 'error', ref, code: why, message: '' });
    }
    this.pending.clear();
  }

  /** Sends a control; resolves with the `control_result` or `error` message. */
  control({ thing, point_id, value, priority }) {
    const ref = `c${Date.now().toString(36)}-${++this.refSeq}`;
    return new Promise((resolve) => {
      const msg = { type: 'control', ref, thing, point_id, value };
      if (priority !== undefined && priority !== null) msg.priority = priority;
      if (!this.send(msg)) {
        resolve({ type: 'error', ref, code: 'disconnected', message: '' });
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        resolve({ type: 'control_result', ref, status: 'timeout', value: null, message: '' });
      }, CONTROL_CLIENT_TIMEOUT_MS);
      this.pending.set(ref, { resolve, timer });
    });
  }
}

export const realtime = new Realtime();
