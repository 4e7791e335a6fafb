//! Helpers shared by the façade's integration tests.
#![allow(dead_code)]

pub mod wiki_ir;

use std::process::{Child, Command, Stdio};

/// Re-runs this test binary as a child executing only test `name`, with
/// `TOONDB_CHILD=arg`.
pub fn spawn_child(name: &str, arg: &str) -> Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("TOONDB_CHILD", arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child test process")
}

/// The argument of a child started by [`spawn_child`]; `None` in a normal run.
pub fn child_arg() -> Option<String> {
    std::env::var("TOONDB_CHILD").ok()
}

/// A deterministic pseudo-random generator (xorshift), enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
    pub fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.unit()).collect()
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}
