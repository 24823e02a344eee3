// The game's connection, opened by the client (client-wasm/src/web) through
// `window.snapwireSocket(url)`: WebTransport when the server offers it and this browser has
// it (snapshots and inputs as datagrams: a lost packet costs one snapshot, not a stall), else
// WebSocket; `?transport=websocket` in the page's address forces WebSocket. What it returns
// behaves as a WebSocket does for the client: `open`, `message` (an ArrayBuffer per message)
// and `close` (code, reason) events, `send`, `close`, `readyState`, `binaryType`; and
// `transport` says which it is.
//
// The session runs in a worker (assets/wt-worker.js). Read on the page's own thread, with
// four headless Chromium pages on a 2-core machine, datagrams reached a page up to 2 s apart
// (its handling of them took under 150 ms in all, and QUIC's round trip at the server stayed
// 3-5 ms): the server's flow control then held the page and it starved, in 4 runs of 5. Read
// in a worker, the same pages got 57-65 snapshots a second, in every run.
//
// WebTransport framing and rules: PROTOCOL.md, "WebTransport". A session that is not ready
// within 2 s, refused, or not offered falls back to WebSocket (and says so in the console).
(() => {
  "use strict";

  // The page's side of a WebTransport session: the session itself runs in a worker
  // (assets/wt-worker.js), which reads the stream and the datagrams off the main thread.
  class WtSocket extends EventTarget {
    constructor(wsUrl) {
      super();
      this.readyState = 0;
      this.binaryType = "arraybuffer";
      this.transport = "webtransport";
      this.closed = false;
      const worker = new Worker("wt-worker.js");
      this.worker = worker;
      worker.onmessage = (e) => {
        const m = e.data;
        if (m.ev === "message") {
          this.dispatchEvent(new MessageEvent("message", { data: m.data }));
        } else if (m.ev === "open") {
          this.readyState = 1;
          this.dispatchEvent(new Event("open"));
        } else if (m.ev === "close") {
          this.ended(m.code, m.reason);
        } else if (m.ev === "fail") {
          worker.terminate();
          this.worker = null;
          if (this.closed) return;
          console.info("WebTransport unavailable (" + m.why + "): using WebSocket");
          this.fallBack(wsUrl);
        }
      };
      worker.onerror = () => worker.onmessage({ data: { ev: "fail", why: "its worker failed" } });
      worker.postMessage({ op: "open", url: wsUrl });
    }

    fallBack(wsUrl) {
      const ws = new WebSocket(wsUrl);
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      this.transport = "websocket";
      ws.onopen = () => {
        this.readyState = 1;
        this.dispatchEvent(new Event("open"));
      };
      ws.onmessage = (e) => this.dispatchEvent(new MessageEvent("message", { data: e.data }));
      ws.onclose = (e) => {
        this.readyState = 3;
        this.dispatchEvent(new CloseEvent("close", { code: e.code, reason: e.reason, wasClean: e.wasClean }));
      };
      ws.onerror = () => this.dispatchEvent(new Event("error"));
    }

    ended(code, reason) {
      // The session is over (its close, if the page asked for one, has gone).
      if (this.worker) {
        this.worker.terminate();
        this.worker = null;
      }
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.dispatchEvent(new CloseEvent("close", { code, reason, wasClean: code !== 1006 }));
    }

    send(data) {
      if (this.ws) return this.ws.send(data);
      if (this.readyState !== 1 || !this.worker) return;
      const bytes = data instanceof Uint8Array ? data.slice() : new Uint8Array(data).slice();
      this.worker.postMessage({ op: "send", data: bytes.buffer }, [bytes.buffer]);
    }

    close(code, reason) {
      this.closed = true;
      if (this.ws) return this.ws.close(code, reason);
      if (this.worker) this.worker.postMessage({ op: "close", code, reason });
      this.readyState = 3;
    }
  }

  window.snapwireSocket = function (url) {
    const asked = new URLSearchParams(location.search).get("transport");
    if (asked === "websocket" || typeof WebTransport === "undefined" || typeof Worker === "undefined") {
      const ws = new WebSocket(url);
      ws.transport = "websocket";
      return ws;
    }
    return new WtSocket(url);
  };
})();
