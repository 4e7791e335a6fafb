//! `toondb sql --db DIR`: the SQL shell.
//!
//! - `-c "SQL; SQL"` / `-f file.sql` run statements in order and stop at the first
//!   error (exit code 1, the message on standard error).
//! - Without either, standard input is read: interactively (line editing, history,
//!   timing, errors reported and the shell goes on) when it is a terminal, otherwise
//!   as a script, statement by statement as lines arrive, stopping at the first error.
//!
//! Statements run in one [`Session`], so `BEGIN` / `COMMIT` / `ROLLBACK` span
//! statements. Statements are split on `;` outside string literals, quoted
//! identifiers and comments (see [`split_statements`]).

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use clap::{Args, ValueEnum};
use serde_json::Value as Json;
use toondb::Database;
use toondb::sql::{ObjectKind, SchemaObject, Session, SqlResult, Value};
use toondb::toon::EncodeOptions;

/// `toondb sql ...`
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Database directory (created when missing).
    #[arg(long, value_name = "DIR")]
    db: PathBuf,
    /// Run these statements (separated by `;`) and exit.
    #[arg(
        short = 'c',
        long = "command",
        value_name = "SQL",
        conflicts_with = "file"
    )]
    command: Option<String>,
    /// Run the statements in this file and exit.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Output format of query results. INSERT/UPDATE/DELETE report the rows they
    /// changed in the table, JSON and TOON formats; other statements print nothing.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Aligned text table.
    Table,
    /// One JSON document per statement: an array of row objects, or
    /// `{"rows_affected": n}`.
    Json,
    /// TOON: `rows[N]{col,...}:` followed by one line per row.
    Toon,
    /// CSV with a header line; NULL is an empty field; result sets are separated by a
    /// blank line.
    Csv,
}

/// Runs `toondb sql`.
pub fn run(args: SqlArgs) -> Result<()> {
    let db = Database::open(&args.db)
        .map_err(|e| anyhow!("{}", describe(&e)))
        .with_context(|| format!("cannot open database {}", args.db.display()))?;
    let session = db
        .sql_engine()
        .map_err(|e| anyhow!("{}", describe(&e)))?
        .session();
    let mut shell = Shell {
        session,
        format: args.format,
        out: io::stdout().lock(),
        results_written: 0,
    };
    if let Some(sql) = &args.command {
        return shell.run_script(sql);
    }
    if let Some(path) = &args.file {
        let sql = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return shell.run_script(&sql);
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        shell.interactive()
    } else {
        shell.run_lines(stdin.lock())
    }
}

/// The error message, its code name and what to do about it.
fn describe(e: &toondb::Error) -> String {
    format!(
        "{e} [{}]\nhint: {}",
        e.code().as_str(),
        e.code().remediation()
    )
}

const HELP: &str = "\
Statements end with `;` and may span lines; BEGIN / COMMIT / ROLLBACK span statements.
Commands:
  .help            this text
  .format FORMAT   output format: table, json, toon or csv
  .timer on|off    print the time each statement takes
  .tables          list the tables and views
  .schema [TABLE]  the statements that create every table, index and view (or TABLE's)
  .quit / .exit    leave (Ctrl-D too); Ctrl-C cancels the current input
";

struct Shell<W: Write> {
    session: Session,
    format: Format,
    out: W,
    /// Result sets written so far (CSV separates them by a blank line).
    results_written: usize,
}

/// What a dot-command asks the caller to do next.
enum DotOutcome {
    Continue,
    Quit,
}

impl<W: Write> Shell<W> {
    /// Runs every statement of `sql` in order, stopping at the first error.
    fn run_script(&mut self, sql: &str) -> Result<()> {
        let split = split_statements(sql);
        let mut stmts = split.statements;
        stmts.extend(split.rest);
        for (n, stmt) in stmts.iter().enumerate() {
            self.run_batch_statement(stmt, n + 1)?;
        }
        self.finish()
    }

    /// Reads a script line by line from a non-terminal input, running each statement
    /// as soon as it is complete; dot-commands are accepted between statements.
    fn run_lines(&mut self, input: impl BufRead) -> Result<()> {
        let mut buffer = String::new();
        let mut count = 0;
        let mut line_no = 0usize;
        let mut buffer_line = 1usize;
        for line in input.lines() {
            let line = line.context("cannot read standard input")?;
            line_no += 1;
            if !has_content(&buffer) && line.trim_start().starts_with('.') {
                match self.dot_command(line.trim(), &mut None) {
                    Ok(DotOutcome::Continue) => {
                        buffer.clear();
                        continue;
                    }
                    Ok(DotOutcome::Quit) => return self.finish(),
                    Err(e) => return Err(e.context(format!("line {line_no}"))),
                }
            }
            if !has_content(&buffer) {
                buffer.clear();
                buffer_line = line_no;
            }
            buffer.push_str(&line);
            buffer.push('\n');
            let split = split_statements(&buffer);
            for mut stmt in split.statements {
                count += 1;
                stmt.line += buffer_line - 1;
                self.run_batch_statement(&stmt, count)?;
            }
            buffer = match split.rest {
                Some(rest) => {
                    buffer_line += buffer[..rest.offset].matches('\n').count();
                    buffer[rest.offset..].to_string()
                }
                None => String::new(),
            };
        }
        let split = split_statements(&buffer);
        for mut stmt in split.statements.into_iter().chain(split.rest) {
            count += 1;
            stmt.line += buffer_line - 1;
            self.run_batch_statement(&stmt, count)?;
        }
        self.finish()
    }

    fn run_batch_statement(&mut self, stmt: &Statement, n: usize) -> Result<()> {
        match self.session.execute(&stmt.text) {
            Ok(result) => self.write_result(stmt, &result),
            Err(e) => {
                let _ = self.out.flush();
                let rolled_back = if self.session.in_transaction() {
                    "\n(the open transaction was rolled back)"
                } else {
                    ""
                };
                Err(anyhow!(
                    "statement {n} (line {}): {}{rolled_back}",
                    stmt.line,
                    describe(&toondb::Error::from(e))
                ))
            }
        }
    }

    /// Flushes the output; a session left inside `BEGIN` is rolled back (and said so).
    fn finish(&mut self) -> Result<()> {
        self.out.flush().context("cannot write output")?;
        if self.session.in_transaction() {
            eprintln!("toondb: warning: the open transaction was rolled back (no COMMIT)");
        }
        Ok(())
    }

    /// The interactive shell on a terminal.
    fn interactive(&mut self) -> Result<()> {
        use rustyline::error::ReadlineError;

        let mut editor = rustyline::DefaultEditor::new().context("cannot start line editor")?;
        let history = history_path();
        if let Some(path) = &history {
            // A missing or unreadable history file only means no history.
            let _ = editor.load_history(path);
        }
        eprintln!("ToonDB SQL shell. Statements end with `;`. `.help` for help, `.quit` to leave.");
        let mut timer = Some(true);
        let mut buffer = String::new();
        loop {
            let prompt = match (has_content(&buffer), self.session.in_transaction()) {
                (false, false) => "toondb> ",
                (false, true) => "toondb*> ",
                (true, false) => "   ...> ",
                (true, true) => "   ...*> ",
            };
            let line = match editor.readline(prompt) {
                Ok(line) => line,
                Err(ReadlineError::Interrupted) => {
                    buffer.clear();
                    continue;
                }
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e).context("cannot read input"),
            };
            if !line.trim().is_empty() {
                let _ = editor.add_history_entry(line.as_str());
            }
            if !has_content(&buffer) && line.trim_start().starts_with('.') {
                buffer.clear();
                match self.dot_command(line.trim(), &mut timer) {
                    Ok(DotOutcome::Continue) => continue,
                    Ok(DotOutcome::Quit) => break,
                    Err(e) => {
                        eprintln!("Error: {e:#}");
                        continue;
                    }
                }
            }
            buffer.push_str(&line);
            buffer.push('\n');
            let split = split_statements(&buffer);
            for stmt in &split.statements {
                self.interactive_statement(stmt, timer == Some(true));
            }
            buffer = match split.rest {
                Some(rest) => buffer[rest.offset..].to_string(),
                None => String::new(),
            };
        }
        if let Some(path) = &history {
            let _ = editor.save_history(path);
        }
        self.finish()
    }

    fn interactive_statement(&mut self, stmt: &Statement, timer: bool) {
        let start = Instant::now();
        let result = self.session.execute(&stmt.text);
        let elapsed = start.elapsed();
        match result {
            Ok(result) => {
                let written = if self.format == Format::Table && !result_has_output(stmt, &result) {
                    writeln!(self.out, "OK").map_err(anyhow::Error::from)
                } else {
                    self.write_result(stmt, &result)
                };
                if let Err(e) = written {
                    eprintln!("Error: {e:#}");
                }
            }
            Err(e) => eprintln!("Error: {}", describe(&toondb::Error::from(e))),
        }
        if timer {
            let _ = writeln!(self.out, "Time: {}", format_duration(elapsed));
        }
        let _ = self.out.flush();
    }

    /// Runs a `.command`. `timer` is `None` where timing is not offered (scripts).
    fn dot_command(&mut self, line: &str, timer: &mut Option<bool>) -> Result<DotOutcome> {
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or_default();
        let arg = words.next();
        if words.next().is_some() {
            return Err(anyhow!("too many arguments to {cmd}; see .help"));
        }
        match (cmd, arg) {
            (".quit" | ".exit" | ".q", None) => Ok(DotOutcome::Quit),
            (".help", None) => {
                self.out.write_all(HELP.as_bytes())?;
                self.out.flush()?;
                Ok(DotOutcome::Continue)
            }
            (".format" | ".mode", Some(name)) => {
                self.format = Format::from_str(name, true).map_err(|_| {
                    anyhow!("unknown format {name:?}: use table, json, toon or csv")
                })?;
                self.results_written = 0;
                Ok(DotOutcome::Continue)
            }
            (".timer", Some(v)) if timer.is_some() => {
                *timer = Some(match v {
                    "on" => true,
                    "off" => false,
                    _ => return Err(anyhow!(".timer takes on or off")),
                });
                Ok(DotOutcome::Continue)
            }
            (".tables", None) => {
                for o in self.session.schema()? {
                    if matches!(o.kind, ObjectKind::Table | ObjectKind::View) {
                        writeln!(self.out, "{}", o.name)?;
                    }
                }
                self.out.flush()?;
                Ok(DotOutcome::Continue)
            }
            (".schema", table) => {
                let schema = self.session.schema()?;
                let wanted =
                    |o: &SchemaObject| table.is_none_or(|t| o.table.eq_ignore_ascii_case(t));
                if let Some(t) = table
                    && !schema.iter().any(wanted)
                {
                    return Err(anyhow!("no such table: {t}"));
                }
                for o in schema.iter().filter(|o| wanted(o)) {
                    if let Some(sql) = &o.sql {
                        writeln!(self.out, "{sql};")?;
                    }
                }
                self.out.flush()?;
                Ok(DotOutcome::Continue)
            }
            _ => Err(anyhow!("unknown or malformed command {line:?}; see .help")),
        }
    }

    /// Writes one statement's result in the current format.
    fn write_result(&mut self, stmt: &Statement, result: &SqlResult) -> Result<()> {
        if !result_has_output(stmt, result) {
            return Ok(());
        }
        let out = &mut self.out;
        if result.columns.is_empty() {
            let n = result.rows_affected;
            match self.format {
                Format::Table => writeln!(out, "({n} row{} affected)", plural(n))?,
                Format::Json => writeln!(out, "{}", serde_json::json!({ "rows_affected": n }))?,
                Format::Toon => writeln!(out, "rows_affected: {n}")?,
                Format::Csv => {}
            }
            return Ok(());
        }
        match self.format {
            Format::Table => out.write_all(result.to_table_string().as_bytes())?,
            Format::Json => {
                let rows = Json::Array(result.rows_json());
                writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
            }
            Format::Toon => {
                result
                    .write_toon(&mut *out, "rows", &EncodeOptions::new())
                    .map_err(|e| anyhow!("cannot write TOON: {e}"))?;
                writeln!(out)?;
            }
            Format::Csv => {
                if self.results_written > 0 {
                    writeln!(out)?;
                }
                write_csv(out, result)?;
            }
        }
        self.results_written += 1;
        Ok(())
    }
}

/// Whether a statement prints anything: queries do, INSERT/UPDATE/DELETE/REPLACE
/// report their count; DDL and transaction control are silent.
fn result_has_output(stmt: &Statement, result: &SqlResult) -> bool {
    !result.columns.is_empty()
        || matches!(
            stmt.first_word.as_str(),
            "INSERT" | "UPDATE" | "DELETE" | "REPLACE"
        )
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn write_csv(out: &mut impl Write, result: &SqlResult) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(&result.columns)?;
    for row in &result.rows {
        w.write_record(row.values().iter().map(|v| match v {
            Value::Null => String::new(),
            other => other.to_string(),
        }))?;
    }
    w.flush()?;
    Ok(())
}

fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.3} ms")
    } else {
        format!("{:.3} s", ms / 1000.0)
    }
}

/// `~/.toondb_history` (or `$TOONDB_HISTORY` when set; empty disables history).
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TOONDB_HISTORY") {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    std::env::home_dir().map(|h| h.join(".toondb_history"))
}

/// One statement cut out of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    /// The statement text without its terminating `;`.
    text: String,
    /// 1-based line of the statement's first token in the text that was split.
    line: usize,
    /// Byte offset of the statement's start (after the previous `;`) in that text.
    offset: usize,
    /// The first keyword, upper-cased (`SELECT`, `INSERT`, ...).
    first_word: String,
}

/// The statements of a script and the unterminated rest, if it holds anything.
#[derive(Debug, Default)]
struct Split {
    statements: Vec<Statement>,
    rest: Option<Statement>,
    /// The text ends inside a block comment, a string literal or a quoted identifier.
    open: bool,
}

/// Splits `text` on `;` outside `'strings'`, `"identifiers"`, `` `identifiers` ``,
/// `[identifiers]`, `-- line comments` and `/* block comments */`. Pieces holding only
/// whitespace and comments are dropped. The text after the last `;` is `rest` when it
/// has content (it may end inside an unterminated literal or comment).
fn split_statements(text: &str) -> Split {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Normal,
        Quoted(u8),
        LineComment,
        BlockComment,
    }
    let bytes = text.as_bytes();
    let mut split = Split::default();
    let mut state = State::Normal;
    let mut start = 0;
    // Where the current statement's first token is, if it has one yet.
    let mut first_token: Option<usize> = None;
    let mut line = 1;
    let mut token_line = 1;
    let mut i = 0;
    let piece = |start: usize, end: usize, first: Option<usize>, token_line: usize| {
        first.map(|f| Statement {
            text: text[start..end].to_string(),
            line: token_line,
            offset: start,
            first_word: text[f..end]
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect::<String>()
                .to_ascii_uppercase(),
        })
    };
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if b == b'\n' {
            line += 1;
        }
        match state {
            State::Normal => match b {
                b'-' if next == Some(b'-') => {
                    state = State::LineComment;
                    i += 1;
                }
                b'/' if next == Some(b'*') => {
                    state = State::BlockComment;
                    i += 1;
                }
                b';' => {
                    split
                        .statements
                        .extend(piece(start, i, first_token, token_line));
                    start = i + 1;
                    first_token = None;
                }
                _ if b.is_ascii_whitespace() => {}
                _ => {
                    if first_token.is_none() {
                        first_token = Some(i);
                        token_line = line;
                    }
                    match b {
                        b'\'' | b'"' | b'`' => state = State::Quoted(b),
                        b'[' => state = State::Quoted(b']'),
                        _ => {}
                    }
                }
            },
            // A doubled quote inside a literal closes and reopens it: same result.
            State::Quoted(close) => {
                if b == close {
                    state = State::Normal;
                }
            }
            State::LineComment => {
                if b == b'\n' {
                    state = State::Normal;
                }
            }
            State::BlockComment => {
                if b == b'*' && next == Some(b'/') {
                    state = State::Normal;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    split.rest = piece(start, text.len(), first_token, token_line);
    split.open = matches!(state, State::Quoted(_) | State::BlockComment);
    split
}

/// Whether `text` holds anything besides whitespace and comments (an unterminated
/// block comment counts as content: the statement is not finished).
fn has_content(text: &str) -> bool {
    if text.trim().is_empty() {
        return false;
    }
    let split = split_statements(text);
    !split.statements.is_empty() || split.rest.is_some() || split.open
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> (Vec<String>, Option<String>) {
        let s = split_statements(sql);
        (
            s.statements
                .into_iter()
                .map(|s| s.text.trim().to_string())
                .collect(),
            s.rest.map(|r| r.text.trim().to_string()),
        )
    }

    #[test]
    fn splits_on_semicolons_outside_literals_and_comments() {
        let (stmts, rest) = texts(
            "SELECT 'a;b'; SELECT \"x;y\" FROM t; -- c;\nSELECT [q;r] /* ; */ ; SELECT `k;`;SELECT 'it''s;'",
        );
        assert_eq!(
            stmts,
            [
                "SELECT 'a;b'",
                "SELECT \"x;y\" FROM t",
                "-- c;\nSELECT [q;r] /* ; */",
                "SELECT `k;`"
            ]
        );
        assert_eq!(rest.as_deref(), Some("SELECT 'it''s;'"));
    }

    #[test]
    fn empty_pieces_and_comments_only_are_dropped() {
        let (stmts, rest) = texts(";; -- nothing\n/* still ; nothing */ ;\n  ");
        assert!(stmts.is_empty());
        assert_eq!(rest, None);
        assert!(!has_content("  -- x\n/* y */ "));
        assert!(has_content("/* open comment"));
        assert!(has_content("SELECT 'open"));
        assert!(has_content("SELECT 1"));
    }

    #[test]
    fn unterminated_literal_or_comment_keeps_the_rest() {
        let (stmts, rest) = texts("SELECT 1; SELECT 'abc;\ndef");
        assert_eq!(stmts, ["SELECT 1"]);
        assert_eq!(rest.as_deref(), Some("SELECT 'abc;\ndef"));
        let (stmts, rest) = texts("SELECT 1 /* ; ");
        assert!(stmts.is_empty());
        assert_eq!(rest.as_deref(), Some("SELECT 1 /* ;"));
    }

    #[test]
    fn records_lines_offsets_and_first_words() {
        let sql = "\n-- intro\ninsert into t values (1);\n\n  /* c */ Select\n 2;";
        let s = split_statements(sql);
        assert_eq!(s.statements.len(), 2);
        assert_eq!(s.statements[0].line, 3);
        assert_eq!(s.statements[0].first_word, "INSERT");
        assert_eq!(s.statements[1].line, 5);
        assert_eq!(s.statements[1].first_word, "SELECT");
        assert_eq!(
            &sql[s.statements[1].offset..s.statements[1].offset + 1],
            "\n"
        );
    }

    #[test]
    fn multibyte_text_is_split_on_char_boundaries() {
        let (stmts, rest) = texts("SELECT 'é;ü'; SELECT '日本';");
        assert_eq!(stmts, ["SELECT 'é;ü'", "SELECT '日本'"]);
        assert_eq!(rest, None);
    }
}
