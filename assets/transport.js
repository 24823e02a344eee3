// The game's connection, opened by the client (client-wasm/src/web) through
// `window.snapwireSocket(url)`: with `?transport=webtransport` in the page's address,
// WebTransport when the server offers it and this browser has it (snapshots and inputs as
// datagrams: a lost packet costs one snapshot, not a stall), else WebSocket. What it returns
// behaves as a WebSocket does for the client: `open`, `message` (an ArrayBuffer per message)
// and `close` (code, reason) events, `send`, `close`, `readyState`, `binaryType`; and
// `transport` says which it is.
//
// WebSocket stays the default: with four headless Chromium pages on this 2-core machine, a
// WebTransport page was handed its datagrams up to 2 s apart (its own handling of them took
// under 150 ms in all), while QUIC's acknowledgements showed a 3-5 ms round trip at the
// server: the delay is inside the browser, between its network stack and the page. The
// server's flow control then held the page (its acks seconds late) and the page starved.
// Alone, or on WebSocket under the same load, pages play at 60 a second.
//
// WebTransport framing and rules: PROTOCOL.md, "WebTransport". A session that is not ready
// within 2 s, refused, or not offered falls back to WebSocket (and says so in the console).
(() => {
  "use strict";
  const FALLBACK_MS = 2000;
  // Inputs one datagram carries at most: the new one and three before it (ClientMsg::Inputs).
  const INPUTS_PER_DATAGRAM = 4;
  const INPUT_INDEX = 1, INPUTS_INDEX = 3, INPUT_BODY = 12;
  const TAG_MESSAGE = 0, TAG_CLOSE = 1;

  function hexBytes(hex) {
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
    return out;
  }

  class WtSocket extends EventTarget {
    constructor(wsUrl) {
      super();
      this.readyState = 0;
      this.binaryType = "arraybuffer";
      this.transport = "webtransport";
      this.recent = [];
      this.closed = false;
      // The session stream brought its first message (the Welcome or Resumed): a datagram
      // that overtook it is dropped (PROTOCOL.md, "WebTransport").
      this.streamed = false;
      this.open(wsUrl).catch((e) => {
        if (this.closed) return;
        console.info("WebTransport unavailable (" + e + "): using WebSocket");
        this.fallBack(wsUrl);
      });
    }

    async open(wsUrl) {
      const url = new URL(wsUrl);
      const http = (url.protocol === "wss:" ? "https://" : "http://") + url.host;
      const offer = await (await fetch(http + "/webtransport")).json();
      if (!offer.enabled) throw new Error("the server does not offer it");
      const options = {};
      if (offer.self_signed) {
        options.serverCertificateHashes = offer.certificate_hashes.map((h) => ({
          algorithm: h.algorithm,
          value: hexBytes(h.value),
        }));
      }
      // The host and port this page reached the server at: a proxy on one port number
      // carries both transports.
      const wt = new WebTransport("https://" + url.host + offer.path + url.search, options);
      this.wt = wt;
      let timer;
      const late = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("not ready within 2 s")), FALLBACK_MS);
      });
      try {
        await Promise.race([wt.ready, late]);
      } catch (e) {
        try { wt.close(); } catch (_) {}
        throw e;
      } finally {
        clearTimeout(timer);
      }
      // Chrome keeps very few received datagrams for a page that has not read them yet and
      // drops the rest: a busy page (a slow phone, a loaded machine) then lost most snapshots.
      // A second's worth waits instead; the client drops what is stale itself.
      try {
        wt.datagrams.incomingHighWaterMark = 64;
        wt.datagrams.incomingMaxAge = 1000;
      } catch (_) {}
      const stream = await wt.createBidirectionalStream();
      this.writer = stream.writable.getWriter();
      this.datagrams = wt.datagrams.writable.getWriter();
      this.readStream(stream.readable.getReader());
      this.readDatagrams(wt.datagrams.readable.getReader());
      wt.closed.then(() => this.ended(1006, ""), () => this.ended(1006, ""));
      if (this.closed) {
        // Closed while it opened (the page moved on): nobody wants this session.
        try { wt.close(); } catch (_) {}
        return;
      }
      this.readyState = 1;
      this.dispatchEvent(new Event("open"));
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

    message(bytes) {
      // A copy with its own buffer, as a WebSocket's message is.
      this.dispatchEvent(new MessageEvent("message", { data: new Uint8Array(bytes).buffer }));
    }

    ended(code, reason) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.dispatchEvent(new CloseEvent("close", { code, reason, wasClean: code !== 1006 }));
    }

    async readStream(reader) {
      let buf = new Uint8Array(0);
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const joined = new Uint8Array(buf.length + value.length);
          joined.set(buf);
          joined.set(value, buf.length);
          buf = joined;
          while (buf.length >= 4) {
            const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0, true);
            if (buf.length < 4 + len) break;
            const tag = buf[4], body = buf.subarray(5, 4 + len);
            if (tag === TAG_MESSAGE) {
              this.streamed = true;
              this.message(body);
            } else if (tag === TAG_CLOSE && body.length >= 2) {
              const code = body[0] | (body[1] << 8);
              this.ended(code, new TextDecoder().decode(body.subarray(2)));
            }
            buf = buf.subarray(4 + len);
          }
        }
      } catch (_) {}
      this.ended(1006, "");
    }

    async readDatagrams(reader) {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          if (this.streamed) this.message(value);
        }
      } catch (_) {}
    }

    send(data) {
      if (this.ws) return this.ws.send(data);
      if (this.readyState !== 1) return;
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
      if (bytes[0] === 0) {
        // The Hello: on the session stream.
        const frame = new Uint8Array(5 + bytes.length);
        new DataView(frame.buffer).setUint32(0, bytes.length + 1, true);
        frame[4] = TAG_MESSAGE;
        frame.set(bytes, 5);
        this.writer.write(frame).catch(() => {});
      } else if (bytes[0] === INPUT_INDEX && bytes.length === 1 + INPUT_BODY) {
        // Each input rides with the ones before it: a lost datagram loses none (the server
        // takes each sequence number once).
        this.recent.push(bytes.slice(1));
        if (this.recent.length > INPUTS_PER_DATAGRAM) this.recent.shift();
        const out = new Uint8Array(2 + this.recent.length * INPUT_BODY);
        out[0] = INPUTS_INDEX;
        out[1] = this.recent.length;
        this.recent.forEach((body, i) => out.set(body, 2 + i * INPUT_BODY));
        this.datagrams.write(out).catch(() => {});
      } else {
        this.datagrams.write(bytes.slice()).catch(() => {});
      }
    }

    close(code, reason) {
      this.closed = true;
      if (this.ws) return this.ws.close(code, reason);
      if (!this.wt) return;
      if (this.writer) {
        const words = new TextEncoder().encode(reason || "").subarray(0, 123);
        const frame = new Uint8Array(7 + words.length);
        const view = new DataView(frame.buffer);
        view.setUint32(0, words.length + 3, true);
        frame[4] = TAG_CLOSE;
        view.setUint16(5, code || 1000, true);
        frame.set(words, 7);
        this.writer.write(frame).then(() => this.writer.close()).catch(() => {})
          .finally(() => { try { this.wt.close({ closeCode: code || 1000, reason: reason || "" }); } catch (_) {} });
      } else {
        try { this.wt.close(); } catch (_) {}
      }
      this.readyState = 3;
    }
  }

  window.snapwireSocket = function (url) {
    const asked = new URLSearchParams(location.search).get("transport");
    if (asked !== "webtransport" || typeof WebTransport === "undefined") {
      const ws = new WebSocket(url);
      ws.transport = "websocket";
      return ws;
    }
    return new WtSocket(url);
  };
})();
