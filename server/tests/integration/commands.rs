//! The binary's subcommands as an operator runs them: `ticket` prints a ticket the server
//! accepts, and `replay FILE --verify` exits 0 on a good recording and non-zero, saying so,
//! on a tampered one.

use snapwire_server::ticket::{TicketKey, unix_now};

use crate::support::{root, server, stdout};

const SECRET: &str = "an operator's secret, long enough for HMAC-SHA256";

#[test]
fn ticket_prints_a_ticket_signed_with_the_secret_from_the_environment_or_a_file() {
    let key = TicketKey::new(SECRET).expect("a key");
    let out = server()
        .args(["ticket", "--player", "ann", "--room", "k7", "--ttl", "120"])
        .env("SNAPWIRE_TICKET_SECRET", SECRET)
        .output()
        .expect("runs");
    let text = stdout(&out).trim().to_owned();
    let ticket = key
        .verify(&text, unix_now())
        .expect("a ticket the server accepts");
    assert_eq!(
        (ticket.player.as_str(), ticket.room.as_str()),
        ("ann", "k7")
    );
    let left = ticket.expires - unix_now();
    assert!(
        (110..=120).contains(&left),
        "expires in {left} s, asked 120"
    );

    // The same from a file (with the newline `echo` leaves).
    let dir = std::env::temp_dir().join(format!("snapwire-commands-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("secret");
    std::fs::write(&file, format!("{SECRET}\n")).expect("write");
    let out = server()
        .args(["ticket", "--player", "bo", "--ticket-secret-file"])
        .arg(&file)
        .output()
        .expect("runs");
    let text = stdout(&out).trim().to_owned();
    let ticket = key
        .verify(&text, unix_now())
        .expect("signed with the file's secret");
    assert_eq!((ticket.player.as_str(), ticket.room.as_str()), ("bo", ""));

    // Without a secret: a non-zero exit that says where to put one.
    let out = server()
        .args(["ticket", "--player", "cy"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SNAPWIRE_TICKET_SECRET"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_verify_exits_non_zero_on_a_tampered_recording() {
    let good = root().join("tests/fixtures/arena-format2.snapwrec");
    let out = server()
        .args(["replay", "--verify"])
        .arg(&good)
        .output()
        .expect("runs");
    let said = stdout(&out);
    assert!(
        said.contains("598 ticks and 1018 inputs re-simulated, every checksum matches"),
        "{said}"
    );

    // One byte changed in the middle of the file (inside a block of ticks).
    let mut bytes = std::fs::read(&good).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    let dir = std::env::temp_dir().join(format!("snapwire-tamper-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let tampered = dir.join("tampered.snapwrec");
    std::fs::write(&tampered, &bytes).expect("write");
    let out = server()
        .args(["replay", "--verify"])
        .arg(&tampered)
        .output()
        .expect("runs");
    assert!(!out.status.success(), "a tampered file must fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tampered.snapwrec does not replay"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
