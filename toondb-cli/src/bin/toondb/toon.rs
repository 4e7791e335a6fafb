//! `toondb toon encode|decode`: JSON to TOON and back.

use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;
use toondb::toon::{self, DecodeOptions, Delimiter, EncodeOptions};

/// `toondb toon ...`
#[derive(Debug, Args)]
pub struct ToonArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Read JSON (a file, or standard input) and write TOON to standard output.
    Encode(EncodeArgs),
    /// Read TOON (a file, or standard input) and write JSON to standard output.
    Decode(DecodeArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DelimiterArg {
    Comma,
    Tab,
    Pipe,
}

impl From<DelimiterArg> for Delimiter {
    fn from(d: DelimiterArg) -> Self {
        match d {
            DelimiterArg::Comma => Delimiter::Comma,
            DelimiterArg::Tab => Delimiter::Tab,
            DelimiterArg::Pipe => Delimiter::Pipe,
        }
    }
}

#[derive(Debug, Args)]
struct EncodeArgs {
    /// JSON file to read; standard input when absent or `-`.
    file: Option<PathBuf>,
    /// Delimiter of inline arrays and table rows.
    #[arg(long, value_enum, default_value_t = DelimiterArg::Comma)]
    delimiter: DelimiterArg,
    /// Spaces per indentation level.
    #[arg(long, default_value_t = toon::DEFAULT_INDENT, value_parser = parse_indent)]
    indent: usize,
    /// Check the output: decode it strictly and compare with the input
    /// (`--strict=false` skips the check, the default).
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set)]
    strict: bool,
    /// Print token counts (o200k_base and cl100k_base) before and after to
    /// standard error.
    #[arg(long)]
    stats: bool,
}

#[derive(Debug, Args)]
struct DecodeArgs {
    /// TOON file to read; standard input when absent or `-`.
    file: Option<PathBuf>,
    /// Spaces per indentation level the input uses.
    #[arg(long, default_value_t = toon::DEFAULT_INDENT, value_parser = parse_indent)]
    indent: usize,
    /// Strict validation (lengths, indentation, blank lines, duplicate keys);
    /// `--strict=false` applies the specification's lenient recoveries.
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    strict: bool,
    /// Accepted for symmetry with `encode`; a TOON document declares its
    /// delimiters in its array headers, so decoding needs none.
    #[arg(long, value_enum, hide = true)]
    delimiter: Option<DelimiterArg>,
    /// Write JSON on one line instead of indented.
    #[arg(long)]
    compact: bool,
    /// Print token counts (o200k_base and cl100k_base) before and after to
    /// standard error.
    #[arg(long)]
    stats: bool,
}

/// `--indent`: 1 to 16 spaces.
fn parse_indent(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ 1..=16) => Ok(n),
        _ => Err(format!("{s:?} is not an indent of 1 to 16 spaces")),
    }
}

/// Runs `toondb toon ...`.
pub fn run(args: ToonArgs) -> Result<()> {
    match args.action {
        Action::Encode(a) => encode(a),
        Action::Decode(a) => decode(a),
    }
}

fn read_input(file: Option<&Path>) -> Result<(String, String)> {
    let mut text = String::new();
    match file {
        None => {
            io::stdin()
                .read_to_string(&mut text)
                .context("cannot read standard input")?;
            Ok(("<stdin>".to_string(), text))
        }
        Some(p) if p == Path::new("-") => read_input(None),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Ok((p.display().to_string(), text))
        }
    }
}

/// Writes to standard output; a closed pipe (`| head`) ends quietly.
fn write_stdout(write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = write(&mut out).and_then(|()| out.flush().map_err(Into::into));
    match result {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<toon::Error>().is_some_and(
                |t| matches!(t, toon::Error::Io(io) if io.kind() == io::ErrorKind::BrokenPipe),
            )
    })
}

fn encode(args: EncodeArgs) -> Result<()> {
    let (name, input) = read_input(args.file.as_deref())?;
    let value: Value = serde_json::from_str(&input)
        .map_err(|e| anyhow!("{name}:{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
    let options = EncodeOptions::new()
        .indent(args.indent)
        .delimiter(args.delimiter.into());
    let needs_text = args.stats || args.strict;
    let toon_text = if needs_text {
        Some(toon::encode_value(&value, &options)?)
    } else {
        None
    };
    if args.strict
        && let Some(text) = &toon_text
    {
        let back = toon::decode_value(text, &DecodeOptions::new().indent(args.indent))
            .context("--strict: the TOON output does not decode")?;
        if !same(&back, &value) {
            return Err(anyhow!(
                "--strict: the TOON output decodes to a different value"
            ));
        }
    }
    write_stdout(|out| {
        match &toon_text {
            Some(text) => out.write_all(text.as_bytes())?,
            None => toon::encode_value_to_writer(&mut *out, &value, &options)?,
        }
        out.write_all(b"\n")?;
        Ok(())
    })?;
    if args.stats
        && let Some(text) = &toon_text
    {
        let compact = serde_json::to_string(&value)?;
        let pretty = serde_json::to_string_pretty(&value)?;
        print_stats(
            &[
                ("JSON input", input.as_str()),
                ("JSON compact", &compact),
                ("JSON pretty", &pretty),
            ],
            ("TOON output", text),
        );
    }
    Ok(())
}

fn decode(args: DecodeArgs) -> Result<()> {
    let (name, input) = read_input(args.file.as_deref())?;
    let options = DecodeOptions::new().indent(args.indent).strict(args.strict);
    let value = toon::decode_value(&input, &options).map_err(|e| match e {
        toon::Error::Syntax {
            line,
            column,
            message,
            expected,
        } => anyhow!("{name}:{line}:{column}: {message} (expected {expected})"),
        other => anyhow!("{name}: {other}"),
    })?;
    let json = if args.compact {
        serde_json::to_string(&value)?
    } else {
        serde_json::to_string_pretty(&value)?
    };
    write_stdout(|out| {
        out.write_all(json.as_bytes())?;
        out.write_all(b"\n")?;
        Ok(())
    })?;
    if args.stats {
        let other = if args.compact {
            serde_json::to_string_pretty(&value)?
        } else {
            serde_json::to_string(&value)?
        };
        let (c, p) = if args.compact {
            (&json, &other)
        } else {
            (&other, &json)
        };
        print_stats(
            &[("JSON compact", c.as_str()), ("JSON pretty", p.as_str())],
            ("TOON input", &input),
        );
    }
    Ok(())
}

/// Numbers compare by value: TOON writes `3.0` as `3`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i128(), y.as_i128()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Token counts of each JSON form and of the TOON text, with the TOON
/// reduction against each, on standard error.
fn print_stats(json_forms: &[(&str, &str)], toon_form: (&str, &str)) {
    let tokenizers = [
        ("o200k_base", tiktoken_rs::o200k_base_singleton()),
        ("cl100k_base", tiktoken_rs::cl100k_base_singleton()),
    ];
    for (tok_name, bpe) in tokenizers {
        let toon_tokens = bpe.encode_with_special_tokens(toon_form.1).len();
        eprintln!("tokens ({tok_name}): {} {toon_tokens}", toon_form.0);
        for (form, text) in json_forms {
            let n = bpe.encode_with_special_tokens(text).len();
            let saved = if n == 0 {
                0.0
            } else {
                100.0 * (n as f64 - toon_tokens as f64) / n as f64
            };
            eprintln!("tokens ({tok_name}): {form} {n} -> TOON {toon_tokens} ({saved:.1}% fewer)");
        }
    }
}
