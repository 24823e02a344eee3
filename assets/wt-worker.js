// One WebTransport session, in a worker of its own (started by assets/transport.js): a page
// whose main thread is busy drawing, or whose browser is short of CPU, was handed its
// datagrams seconds late when it read them itself; here they are read on a thread that does
// nothing else, and passed to the page as messages, as a WebSocket's are.
//
// From the page: {op: "open", url} (the game's ws:// or wss:// URL), {op: "send", data}
// (one client message), {op: "close", code, reason}. To the page: {ev: "open"},
// {ev: "message", data} (one server message, an ArrayBuffer), {ev: "close", code, reason},
// {ev: "fail", why} (no session within 2 s, refused or not offered: the page uses WebSocket).
//
// Framing and rules: PROTOCOL.md, "WebTransport".
"use strict";
const FALLBACK_MS = 2000;
const TAG_MESSAGE = 0, TAG_CLOSE = 1;

let wt = null, writer = null, datagrams = null;
let closed = false, ended = false;
// The session stream brought its first message (the Welcome or Resumed): a datagram that
// overtook it is dropped.
let streamed = false;

function hexBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

function message(bytes) {
  // A copy with its own buffer, handed over (not copied again) to the page.
  const buffer = new Uint8Array(bytes).buffer;
  postMessage({ ev: "message", data: buffer }, [buffer]);
}

function end(code, reason) {
  if (ended) return;
  ended = true;
  postMessage({ ev: "close", code, reason });
}

async function open(wsUrl) {
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
  // The host and port the page reached the server at: a proxy on one port number carries
  // both transports.
  wt = new WebTransport("https://" + url.host + offer.path + url.search, options);
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
  // Chrome keeps very few received datagrams that have not been read yet and drops the rest;
  // a second's worth may wait instead (the client drops what is stale itself).
  try {
    wt.datagrams.incomingHighWaterMark = 64;
    wt.datagrams.incomingMaxAge = 1000;
  } catch (_) {}
  const stream = await wt.createBidirectionalStream();
  writer = stream.writable.getWriter();
  datagrams = wt.datagrams.writable.getWriter();
  readStream(stream.readable.getReader());
  readDatagrams(wt.datagrams.readable.getReader());
  wt.closed.then(() => end(1006, ""), () => end(1006, ""));
  if (closed) {
    // Closed while it opened (the page moved on): nobody wants this session.
    try { wt.close(); } catch (_) {}
    return;
  }
  postMessage({ ev: "open" });
}

async function readStream(reader) {
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
          streamed = true;
          message(body);
        } else if (tag === TAG_CLOSE && body.length >= 2) {
          const code = body[0] | (body[1] << 8);
          end(code, new TextDecoder().decode(body.subarray(2)));
          // Read: the server may end the session now (it waits for this, or 2 s).
          try { wt.close(); } catch (_) {}
        }
        buf = buf.subarray(4 + len);
      }
    }
  } catch (_) {}
  end(1006, "");
}

async function readDatagrams(reader) {
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      if (streamed) message(value);
    }
  } catch (_) {}
}

function send(data) {
  if (!writer) return;
  const bytes = new Uint8Array(data);
  if (bytes[0] === 0) {
    // The Hello: on the session stream.
    const frame = new Uint8Array(5 + bytes.length);
    new DataView(frame.buffer).setUint32(0, bytes.length + 1, true);
    frame[4] = TAG_MESSAGE;
    frame.set(bytes, 5);
    writer.write(frame).catch(() => {});
  } else {
    // Everything else as it is, one datagram each: inputs come as `Inputs` already, each
    // with the unacknowledged ones before it (the client knows which those are).
    datagrams.write(bytes).catch(() => {});
  }
}

function close(code, reason) {
  closed = true;
  if (!wt) return;
  if (writer) {
    const words = new TextEncoder().encode(reason || "").subarray(0, 123);
    const frame = new Uint8Array(7 + words.length);
    const view = new DataView(frame.buffer);
    view.setUint32(0, words.length + 3, true);
    frame[4] = TAG_CLOSE;
    view.setUint16(5, code || 1000, true);
    frame.set(words, 7);
    writer.write(frame).then(() => writer.close()).catch(() => {})
      .finally(() => { try { wt.close({ closeCode: code || 1000, reason: reason || "" }); } catch (_) {} });
  } else {
    try { wt.close(); } catch (_) {}
  }
}

onmessage = (e) => {
  const m = e.data;
  if (m.op === "send") send(m.data);
  else if (m.op === "open") open(m.url).catch((err) => { if (!closed) postMessage({ ev: "fail", why: String(err) }); });
  else if (m.op === "close") close(m.code, m.reason);
};
