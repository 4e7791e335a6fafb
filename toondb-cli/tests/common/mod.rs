//! Helpers shared by the end-to-end tests of the `toondb` binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `toondb ARGS`, feeding `stdin` (when given) and closing it; history is disabled so
/// interactive paths never touch the user's home.
pub fn toondb(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_toondb"))
        .args(args)
        .env("TOONDB_HISTORY", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn toondb");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            // A usage error exits before reading: a closed pipe is fine.
            if let Err(e) = input.write_all(text.as_bytes()) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
            }
        }
    }
    child.wait_with_output().expect("wait for toondb")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}
