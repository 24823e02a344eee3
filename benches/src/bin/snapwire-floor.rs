//! `snapwire-floor`: the kernel's share of serving N clients, measured on the same machine in the
//! same run as the real server, so capacity figures can be quoted as a ratio to it.
//!
//! `snapwire-floor serve --clients N --tick-rate R --bytes B --inbound-every K` accepts N loopback
//! connections and, every tick, writes one WebSocket binary frame of B payload bytes to each (as
//! the server sends one snapshot per client per tick) and reads whatever the peers sent (epoll,
//! like tokio). `snapwire-floor peer ...` (run it pinned to another core) connects N sockets,
//! reads everything and sends one 24-byte masked frame per socket every K ticks (an input or an
//! ack). `serve` prints its CPU time per client-tick: no game, no runtime, no codec, only the
//! system calls a server of this shape cannot avoid.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

#[derive(Debug, Clone)]
struct Args {
    mode: String,
    addr: SocketAddr,
    clients: usize,
    tick_rate: u32,
    bytes: usize,
    inbound_every: u32,
    seconds: f64,
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    match args.mode.as_str() {
        "serve" => serve(&args),
        "peer" => peer(&args),
        other => bail!("unknown mode {other}: serve or peer"),
    }
}

fn parse_args() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        mode: it.next().unwrap_or_default(),
        addr: "127.0.0.1:18099".parse()?,
        clients: 100,
        tick_rate: 60,
        bytes: 100,
        inbound_every: 1,
        seconds: 10.0,
    };
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => a.addr = value.parse()?,
            "--clients" => a.clients = value.parse()?,
            "--tick-rate" => a.tick_rate = value.parse()?,
            "--bytes" => a.bytes = value.parse()?,
            "--inbound-every" => a.inbound_every = value.parse()?,
            "--seconds" => a.seconds = value.parse()?,
            _ => bail!("unknown flag {flag}"),
        }
    }
    anyhow::ensure!(a.tick_rate > 0 && a.clients > 0 && a.inbound_every > 0);
    Ok(a)
}

/// A WebSocket binary frame as a server sends it (unmasked).
fn server_frame(payload: usize) -> Vec<u8> {
    let mut f = vec![0x82];
    if payload < 126 {
        f.push(payload as u8);
    } else {
        f.push(126);
        f.extend_from_slice(&(payload.min(65_535) as u16).to_be_bytes());
    }
    f.resize(f.len() + payload.min(65_535), 0x55);
    f
}

/// A 24-byte masked binary frame, as a client sends an input.
fn client_frame() -> Vec<u8> {
    let mut f = vec![0x82, 0x80 | 24, 1, 2, 3, 4];
    f.resize(6 + 24, 0x33);
    f
}

fn serve(a: &Args) -> anyhow::Result<()> {
    let mut listener = TcpListener::bind(a.addr)?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, Token(usize::MAX), Interest::READABLE)?;
    let mut conns: Vec<TcpStream> = Vec::with_capacity(a.clients);
    let mut events = Events::with_capacity(1024);
    while conns.len() < a.clients {
        poll.poll(&mut events, Some(Duration::from_secs(30)))?;
        if events.is_empty() {
            bail!("only {} of {} peers connected", conns.len(), a.clients);
        }
        loop {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nodelay(true)?;
                    poll.registry()
                        .register(&mut s, Token(conns.len()), Interest::READABLE)?;
                    conns.push(s);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    let frame = server_frame(a.bytes);
    let period = Duration::from_secs(1) / a.tick_rate;
    let mut buf = vec![0u8; 4096];
    // Warm up for a second, then measure.
    let warmup = (a.tick_rate as u64).max(1);
    let total = warmup + (a.seconds * f64::from(a.tick_rate)) as u64;
    let (mut cpu0, mut t0) = (0.0, Instant::now());
    let mut next = Instant::now();
    let (mut full, mut reads) = (0u64, 0u64);
    for tick in 0..total {
        if tick == warmup {
            cpu0 = cpu_seconds()?;
            t0 = Instant::now();
        }
        for s in &mut conns {
            match s.write(&frame) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => full += 1,
                Err(e) => return Err(e.into()),
            }
        }
        next += period;
        reads += read_until(&mut poll, &mut events, &mut conns, &mut buf, next)?;
    }
    let cpu = cpu_seconds()? - cpu0;
    let wall = t0.elapsed().as_secs_f64();
    let client_ticks = a.clients as f64 * f64::from(a.tick_rate) * wall;
    println!(
        "{{\"clients\": {}, \"tick_rate\": {}, \"bytes\": {}, \"inbound_every\": {}, \"cpu_fraction\": {:.4}, \"us_per_client_tick\": {:.3}, \"reads\": {reads}, \"writes_would_block\": {full}}}",
        a.clients,
        a.tick_rate,
        a.bytes,
        a.inbound_every,
        cpu / wall,
        cpu * 1e6 / client_ticks
    );
    Ok(())
}

fn peer(a: &Args) -> anyhow::Result<()> {
    let mut poll = Poll::new()?;
    let mut conns = Vec::with_capacity(a.clients);
    for i in 0..a.clients {
        let std = std::net::TcpStream::connect(a.addr)
            .with_context(|| format!("connecting peer {i} to {}", a.addr))?;
        std.set_nodelay(true)?;
        std.set_nonblocking(true)?;
        let mut s = TcpStream::from_std(std);
        poll.registry()
            .register(&mut s, Token(i), Interest::READABLE)?;
        conns.push(s);
    }
    let frame = client_frame();
    let period = Duration::from_secs(1) / a.tick_rate;
    let mut buf = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(1024);
    let end = Instant::now() + Duration::from_secs_f64(a.seconds + 3.0);
    let mut next = Instant::now();
    let mut tick = 0u64;
    while Instant::now() < end {
        // Spread the sends: socket i sends on ticks where (tick + i) % K == 0.
        for (i, s) in conns.iter_mut().enumerate() {
            if (tick + i as u64).is_multiple_of(u64::from(a.inbound_every)) {
                match s.write(&frame) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => return Ok(()),
                }
            }
        }
        tick += 1;
        next += period;
        if read_until(&mut poll, &mut events, &mut conns, &mut buf, next).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads whatever arrives on `conns` until `deadline`; returns how many reads returned data.
fn read_until(
    poll: &mut Poll,
    events: &mut Events,
    conns: &mut [TcpStream],
    buf: &mut [u8],
    deadline: Instant,
) -> anyhow::Result<u64> {
    let mut reads = 0;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(reads);
        }
        poll.poll(events, Some(deadline - now))?;
        for ev in events.iter() {
            let Some(s) = conns.get_mut(ev.token().0) else {
                continue;
            };
            loop {
                match s.read(buf) {
                    Ok(0) => break,
                    Ok(_) => reads += 1,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}

/// This process's user + system CPU time, from /proc (Linux).
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|r| r.1)
        .context("bad /proc/self/stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        f.get(11).context("utime")?.parse::<f64>()? + f.get(12).context("stime")?.parse::<f64>()?;
    // USER_HZ is 100 on every Linux this runs on.
    Ok(ticks / 100.0)
}
