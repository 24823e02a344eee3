//! Writing a binary WebSocket frame straight to a plain-TCP client's socket from the room's
//! thread, while the connection's task is idle.
//!
//! Why: on a loaded server most of a snapshot's cost outside the kernel was the hand-off, not
//! the write: wake the connection's task, schedule and poll it, copy the frame into
//! tungstenite's buffer, go through hyper's upgraded-IO wrapper, then the one `send`. A
//! non-blocking `send` of header and payload from the thread that built the frame does the
//! same system call and none of the rest. It never waits: a socket that cannot take the whole
//! frame at once takes what it can, and the rest (a [`Written::Part`]) goes to the connection's
//! task, which waits for the socket as before.
//!
//! Only the frame layout lives here; who may write when is the outbox's rule
//! (`net::outbox`): a direct write happens only while the task has nothing of its own to send.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

thread_local! {
    /// Where a frame's header and payload are put together before the write.
    static FRAME: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A larger frame buffer is given back after use (a full snapshot of a big world, rarely).
const KEEP_CAPACITY: usize = 64 * 1024;

/// A second handle on a connection's TCP socket (a `dup` of its descriptor, so it stays valid
/// as long as this handle lives, whatever the connection's own stream does).
#[derive(Debug, Clone)]
pub struct DirectSocket(Arc<TcpStream>);

/// How much of a frame the socket took.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    All,
    /// The socket took the beginning; this is the rest, which must go out before anything else.
    Part(Bytes),
}

/// Something a producer can write a binary frame to without waiting: a [`DirectSocket`], or in
/// the outbox's model checks a recorder.
pub trait WriteFrame: std::fmt::Debug + Send + Sync {
    /// Writes `payload` as one binary frame if the socket takes it, or its beginning.
    fn try_write_binary(&self, payload: &Bytes) -> io::Result<Written>;
}

impl WriteFrame for DirectSocket {
    fn try_write_binary(&self, payload: &Bytes) -> io::Result<Written> {
        DirectSocket::try_write_binary(self, payload)
    }
}

impl DirectSocket {
    /// A second handle on `tcp`, which must already be non-blocking (tokio's sockets are: the
    /// flag belongs to the socket, so the copy shares it).
    #[cfg(unix)]
    pub fn of(tcp: &tokio::net::TcpStream) -> io::Result<DirectSocket> {
        use std::os::fd::AsFd;
        let fd = tcp.as_fd().try_clone_to_owned()?;
        Ok(DirectSocket(Arc::new(TcpStream::from(fd))))
    }

    /// Elsewhere frames always go through the connection's task.
    #[cfg(not(unix))]
    pub fn of(_tcp: &tokio::net::TcpStream) -> io::Result<DirectSocket> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "direct writes need a Unix socket",
        ))
    }

    /// Writes `payload` as one unmasked binary frame, without waiting. `WouldBlock` when the
    /// socket took nothing (the caller queues the frame for the task instead).
    pub fn try_write_binary(&self, payload: &Bytes) -> io::Result<Written> {
        let (header, header_len) = binary_header(payload.len());
        let header = &header[..header_len];
        // One contiguous buffer and `send`: measured cheaper in the kernel than `writev` of
        // header and payload (the copy is a few hundred bytes).
        let n = FRAME.with_borrow_mut(|frame| {
            frame.clear();
            frame.extend_from_slice(header);
            frame.extend_from_slice(payload);
            let n = (&*self.0).write(frame);
            if frame.capacity() > KEEP_CAPACITY {
                *frame = Vec::new();
            }
            n
        })?;
        let total = header_len + payload.len();
        if n == 0 && total > 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        Ok(match n {
            n if n >= total => Written::All,
            n if n >= header_len => Written::Part(payload.slice(n - header_len..)),
            n => {
                let mut rest = Vec::with_capacity(total - n);
                rest.extend_from_slice(&header[n..]);
                rest.extend_from_slice(payload);
                Written::Part(Bytes::from(rest))
            }
        })
    }

    /// Writes the rest of a frame a direct write began, waiting for the socket up to `limit`.
    /// Runs on the connection's task; rare (the socket's buffer was full mid-frame).
    pub async fn finish(&self, rest: &[u8], limit: Duration) -> io::Result<()> {
        // A third handle, registered with tokio only while it waits.
        let copy = self.0.try_clone()?;
        let mut stream = tokio::net::TcpStream::from_std(copy)?;
        tokio::time::timeout(limit, stream.write_all(rest))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
    }
}

/// RFC 6455 section 5.2: FIN and the binary opcode, then the payload length in 7 bits, or 126
/// and 16 bits, or 127 and 64 bits (network order). A server's frames are not masked.
fn binary_header(len: usize) -> ([u8; 10], usize) {
    let mut h = [0u8; 10];
    h[0] = 0x82;
    if len < 126 {
        h[1] = len as u8;
        (h, 2)
    } else if len <= usize::from(u16::MAX) {
        h[1] = 126;
        h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        (h, 4)
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        (h, 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_use_the_shortest_length_form() {
        assert_eq!(binary_header(0).0[..2], [0x82, 0]);
        assert_eq!(binary_header(125).0[..2], [0x82, 125]);
        assert_eq!(binary_header(126).0[..4], [0x82, 126, 0, 126]);
        assert_eq!(binary_header(65_535).0[..4], [0x82, 126, 0xff, 0xff]);
        let (h, n) = binary_header(65_536);
        assert_eq!((h, n), ([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0], 10));
    }
}
