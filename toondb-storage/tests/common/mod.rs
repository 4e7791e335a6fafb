//! Helpers shared by the storage integration tests.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};

/// Re-runs this test binary as a child process that executes only the test `name`,
/// with `TOONDB_CHILD` set to `arg`. The child test reads its argument with [`child_arg`].
pub fn spawn_child(name: &str, arg: &str) -> Child {
    let exe = std::env::current_exe().expect("test binary path");
    Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("TOONDB_CHILD", arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child test process")
}

/// The argument given to a child started by [`spawn_child`], or `None` when the test
/// runs normally (then the child test does nothing).
pub fn child_arg() -> Option<String> {
    std::env::var("TOONDB_CHILD").ok()
}
