//! `folio serve`'s logs when stderr is not a terminal: no colour codes, and JSON lines with
//! `FOLIO_LOG_FORMAT=json`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Starts `folio serve` with stderr on a pipe, returns its stderr up to and including the
/// line that says it is listening, then stops it.
fn serve_until_listening(format: &str) -> String {
    serve_in(&tempfile::tempdir().expect("tempdir"), format)
}

/// As [`serve_until_listening`], with the database and credentials in `dir`.
fn serve_in(dir: &tempfile::TempDir, format: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // A terminal-like TERM, and no NO_COLOR: only the pipe may turn colour off.
        .env("TERM", "xterm-256color")
        .env("FOLIO_LISTEN", "127.0.0.1:0")
        .env("FOLIO_ADMIN_LISTEN", "127.0.0.1:0")
        .env(
            "FOLIO_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("folio.db").display()),
        )
        .env(
            "FOLIO_CREDENTIALS_PATH",
            dir.path().join("folio-credentials.json"),
        )
        .env("FOLIO_LOG", "info")
        .env("FOLIO_LOG_FORMAT", format)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start folio serve");
    let stderr = child.stderr.take().expect("stderr pipe");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut out = Vec::new();
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            out.extend_from_slice(&line);
            if String::from_utf8_lossy(&line).contains("folio is listening") {
                break;
            }
            line.clear();
        }
        let _ = tx.send(out);
    });
    let out = rx.recv_timeout(Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    let out = out.expect("folio serve logged nothing within a minute");
    String::from_utf8(out).expect("UTF-8 logs")
}

#[test]
fn logs_on_a_pipe_carry_no_colour_codes() {
    let logs = serve_until_listening("text");
    assert!(logs.contains("folio is listening"), "{logs}");
    assert!(logs.contains("INFO"), "{logs}");
    assert!(
        !logs.as_bytes().contains(&0x1b),
        "an escape byte in piped logs: {logs:?}"
    );
}

#[test]
fn json_logs_are_one_object_a_line() {
    let logs = serve_until_listening("json");
    let listening = logs
        .lines()
        .filter(|l| l.contains("folio is listening"))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"))
        })
        .next()
        .unwrap_or_else(|| panic!("no listening line in {logs}"));
    assert_eq!(listening["level"], "INFO");
    assert_eq!(listening["fields"]["message"], "folio is listening");
    assert!(!logs.as_bytes().contains(&0x1b), "{logs:?}");
}

/// Without App credentials the log says where the setup token is (the command, the file),
/// never the token: logs go to stores that more people read than the machine's files.
#[test]
fn the_setup_log_line_points_to_the_token_without_showing_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = serve_in(&dir, "json");
    let token_file = dir.path().join("folio-credentials.setup-token");
    let token = std::fs::read_to_string(&token_file).expect("the setup token file");
    assert_eq!(token.trim().len(), 64);
    assert!(
        !logs.contains(token.trim()),
        "the token is in the log: {logs}"
    );
    let setup = logs
        .lines()
        .find(|l| l.contains("setup-token"))
        .unwrap_or_else(|| panic!("no line names `folio setup-token` in {logs}"));
    let line: serde_json::Value = serde_json::from_str(setup).expect("JSON line");
    assert_eq!(
        line["fields"]["token_file"],
        token_file.display().to_string()
    );
    assert!(!logs.contains("?token="), "{logs}");
}
