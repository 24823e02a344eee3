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
// WebTransport framing and rules: PROTOCOL.md, "WebTransport". A session refused or not
// offered falls back to WebSocket (and says so in the console); one not open within a second
// gets a WebSocket opened beside it, and whichever opens first carries the game.
(() => {
  "use strict";

  // How long WebTransport has alone before a WebSocket is opened beside it; whichever opens
  // first carries the game. A session takes three round trips to open (0.6 s on a 200 ms
  // path), so a working one usually wins; a blocked one costs a second, not the worker's 2 s.
  const HEAD_START_MS = 1000;

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
          if (this.readyState !== 0) return this.stopWorker();
          clearTimeout(this.spare);
          if (this.ws) {
            // Opened beside it but not yet open: not needed.
            this.ws.onopen = this.ws.onclose = null;
            try { this.ws.close(1000); } catch (_) {}
            this.ws = null;
          }
          this.readyState = 1;
          this.dispatchEvent(new Event("open"));
        } else if (m.ev === "close") {
          this.ended(m.code, m.reason);
        } else if (m.ev === "fail") {
          this.stopWorker();
          if (this.closed || this.readyState !== 0) return;
          console.info("WebTransport unavailable (" + m.why + "): using WebSocket");
          this.fallBack(wsUrl);
        }
      };
      worker.onerror = () => worker.onmessage({ data: { ev: "fail", why: "its worker failed" } });
      worker.postMessage({ op: "open", url: wsUrl });
      this.spare = setTimeout(() => this.fallBack(wsUrl), HEAD_START_MS);
    }

    stopWorker() {
      if (this.worker) {
        this.worker.terminate();
        this.worker = null;
      }
    }

    // Opens the WebSocket (once): it carries the game if it opens before WebTransport does.
    fallBack(wsUrl) {
      clearTimeout(this.spare);
      if (this.ws || this.closed || this.readyState !== 0) return;
      const ws = new WebSocket(wsUrl);
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      ws.onopen = () => {
        if (this.readyState !== 0) return;
        this.stopWorker();
        this.transport = "websocket";
        this.readyState = 1;
        this.dispatchEvent(new Event("open"));
      };
      ws.onmessage = (e) => this.dispatchEvent(new MessageEvent("message", { data: e.data }));
      ws.onclose = (e) => {
        if (this.transport !== "websocket" && this.worker) {
          // It failed while WebTransport may still open: leave it to that.
          this.ws = null;
          return;
        }
        this.readyState = 3;
        this.dispatchEvent(new CloseEvent("close", { code: e.code, reason: e.reason, wasClean: e.wasClean }));
      };
      ws.onerror = () => {
        if (this.transport === "websocket") this.dispatchEvent(new Event("error"));
      };
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
      if (this.transport === "websocket") return this.ws && this.ws.send(data);
      if (this.readyState !== 1 || !this.worker) return;
      const bytes = data instanceof Uint8Array ? data.slice() : new Uint8Array(data).slice();
      this.worker.postMessage({ op: "send", data: bytes.buffer }, [bytes.buffer]);
    }

    close(code, reason) {
      this.closed = true;
      clearTimeout(this.spare);
      if (this.transport === "websocket") return this.ws && this.ws.close(code, reason);
      if (this.ws) {
        this.ws.onopen = this.ws.onclose = null;
        try { this.ws.close(1000); } catch (_) {}
        this.ws = null;
      }
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
