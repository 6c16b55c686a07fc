//! Graceful shutdown: on SIGTERM (what an orchestrator sends before it
//! replaces an instance) the server stops accepting connections but lets a
//! request already under way finish, then exits cleanly.

use crate::helpers::{fresh_database, start_binary};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn sigterm_lets_a_request_under_way_finish_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let (mut child, addr) = start_binary(&dir, &url, &[("RUST_LOG", "warn")], false);
    let started = Instant::now();
    let ready = loop {
        if let Ok(mut s) = TcpStream::connect(&addr) {
            let _ = s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                break true;
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ready, "the server started");

    // A request under way: the head and half of the body sent.
    let body = br#"{"login":"nobody","password":"not-the-password"}"#;
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(500));

    // New connections are no longer accepted...
    let refused = TcpStream::connect(&addr).is_err();
    // ...but the request under way is answered.
    stream.write_all(rest).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "the request under way got its answer: {answer:?}"
    );
    assert!(refused, "no new connection after SIGTERM");

    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let exit = exit.expect("the server exits after SIGTERM");
    assert!(exit.success(), "clean exit: {exit:?}");
}
