//! `toondb`: ToonDB's command-line tool. Each subcommand lives in its own
//! module; this file only parses the command line and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod sql;
mod toon;

/// ToonDB: an embedded document database for AI applications and agents.
#[derive(Debug, Parser)]
#[command(name = "toondb", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert between JSON and TOON (Token-Oriented Object Notation).
    Toon(toon::ToonArgs),
    /// Run SQL: an interactive shell, or statements from `-c`, `-f` or standard input.
    Sql(sql::SqlArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Toon(args) => toon::run(args),
        Command::Sql(args) => sql::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("toondb: {error:#}");
            ExitCode::FAILURE
        }
    }
}
