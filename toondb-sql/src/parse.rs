//! Parsing SQL text: sqlparser with the SQLite dialect, plus SQLite's `expr [NOT] IN table`
//! shorthand, which sqlparser does not accept.
//!
//! SQLite lets the right side of `IN` be a bare table (or view) name, meaning
//! `expr IN (SELECT * FROM name)`. Only when the text fails to parse is it tokenized (by
//! sqlparser's own tokenizer, so string literals, quoted names and comments are recognized
//! as such) and each `IN name` / `IN schema.name` that is not followed by `(` rewritten to
//! `IN (SELECT * FROM name)`; the rewritten text is parsed instead. The rewrite only inserts
//! text, and every insertion is remembered, so that line/column positions in errors can be
//! mapped back to the text the user wrote ([`Parsed::map_error`]).

use sqlparser::ast;
use sqlparser::dialect::SQLiteDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, Location, Result};

/// What the IN-table rewrite inserts before the table name.
const IN_PREFIX: &str = "(SELECT * FROM ";
/// What it inserts after the table name.
const IN_SUFFIX: &str = ")";

/// Text inserted by the rewrite at a position (line, column: 1-based, in characters) of the
/// original text. Inserted text never contains a line break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insertion {
    line: u64,
    column: u64,
    len: u64,
}

/// Parsed statements, and the insertions the IN-table rewrite made (none on the common
/// path).
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) ast: Vec<ast::Statement>,
    insertions: Vec<Insertion>,
}

impl Parsed {
    /// Maps the positions in `e` (which are positions in the parsed, possibly rewritten,
    /// text) back to positions in the original text.
    pub(crate) fn map_error(&self, e: Error) -> Error {
        map_error(e, &self.insertions)
    }
}

/// Parses `sql` (one or more statements). The IN-table rewrite is tried only when the text
/// does not parse as written.
pub(crate) fn parse(sql: &str) -> Result<Parsed> {
    let first = match Parser::parse_sql(&SQLiteDialect {}, sql) {
        Ok(ast) => {
            return Ok(Parsed {
                ast,
                insertions: Vec::new(),
            });
        }
        Err(e) => e,
    };
    let Some((text, insertions)) = rewrite_in_table(sql) else {
        return Err(syntax_error(first));
    };
    match Parser::parse_sql(&SQLiteDialect {}, &text) {
        Ok(ast) => Ok(Parsed { ast, insertions }),
        // The rewritten text fixed the IN-table spots; what still fails is reported at
        // its position in the original text.
        Err(e) => Err(map_error(syntax_error(e), &insertions)),
    }
}

/// Turns a sqlparser error into [`Error::Syntax`], moving the position out of the message.
pub(crate) fn syntax_error(e: ParserError) -> Error {
    let msg = match e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
        ParserError::RecursionLimitExceeded => "expression nested too deeply".to_string(),
    };
    let (message, location) = match msg.rfind(" at Line: ") {
        Some(p) => {
            let tail = &msg[p + " at Line: ".len()..];
            let mut parts = tail.split(", Column: ");
            let line = parts.next().and_then(|l| l.trim().parse().ok());
            let col = parts.next().and_then(|c| c.trim().parse().ok());
            match (line, col) {
                (Some(line), Some(column)) => {
                    (msg[..p].to_string(), Some(Location { line, column }))
                }
                _ => (msg.clone(), None),
            }
        }
        None => (msg, None),
    };
    Error::Syntax { message, location }
}

fn map_error(e: Error, ins: &[Insertion]) -> Error {
    if ins.is_empty() {
        return e;
    }
    let fix = |l: Option<Location>| l.map(|l| original_location(l, ins));
    match e {
        Error::Syntax { message, location } => Error::Syntax {
            message,
            location: fix(location),
        },
        Error::UnknownTable { table, location } => Error::UnknownTable {
            table,
            location: fix(location),
        },
        Error::UnknownColumn {
            column,
            table,
            location,
        } => Error::UnknownColumn {
            column,
            table,
            location: fix(location),
        },
        Error::AmbiguousColumn {
            column,
            tables,
            location,
        } => Error::AmbiguousColumn {
            column,
            tables,
            location: fix(location),
        },
        other => other,
    }
}

/// Maps a position in the rewritten text to the original text; a position inside inserted
/// text maps to the point of insertion. `ins` is sorted by (line, column).
fn original_location(l: Location, ins: &[Insertion]) -> Location {
    let mut shift = 0;
    for i in ins.iter().filter(|i| i.line == l.line) {
        let start = i.column + shift;
        if l.column < start {
            break;
        }
        if l.column < start + i.len {
            return Location {
                line: l.line,
                column: i.column,
            };
        }
        shift += i.len;
    }
    Location {
        line: l.line,
        column: l.column.saturating_sub(shift).max(1),
    }
}

/// Byte offset of each line's start.
fn line_starts(sql: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// Byte offset of a tokenizer position (1-based line, 1-based column counted in chars).
fn byte_offset(sql: &str, starts: &[usize], line: u64, column: u64) -> Option<usize> {
    let start = *starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let col = usize::try_from(column).ok()?.checked_sub(1)?;
    sql.get(start..)?
        .char_indices()
        .map(|(i, _)| start + i)
        .chain(std::iter::once(sql.len()))
        .nth(col)
}

/// Words that cannot be a bare table name after IN (unquoted).
fn not_a_table_name(k: Keyword) -> bool {
    matches!(
        k,
        Keyword::SELECT
            | Keyword::VALUES
            | Keyword::WITH
            | Keyword::NULL
            | Keyword::NOT
            | Keyword::EXISTS
            | Keyword::CASE
            | Keyword::CAST
            | Keyword::TRUE
            | Keyword::FALSE
    )
}

fn is_name(t: &TokenWithSpan) -> bool {
    match &t.token {
        Token::Word(w) => w.quote_style.is_some() || !not_a_table_name(w.keyword),
        _ => false,
    }
}

/// Rewrites every `IN name` / `IN schema.name` not followed by `(` to
/// `IN (SELECT * FROM name)`. Returns `None` when there is nothing to rewrite (or the text
/// does not tokenize). Everything outside the rewritten spots is copied unchanged.
fn rewrite_in_table(sql: &str) -> Option<(String, Vec<Insertion>)> {
    let tokens = Tokenizer::new(&SQLiteDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let sig: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    // (byte offset, text, original position) of each insertion, in text order.
    let mut edits: Vec<(usize, &str, Insertion)> = Vec::new();
    let starts = line_starts(sql);
    let mut k = 0;
    while k < sig.len() {
        let is_in = matches!(&sig[k].token, Token::Word(w) if w.keyword == Keyword::IN && w.quote_style.is_none());
        if !is_in || !sig.get(k + 1).is_some_and(|t| is_name(t)) {
            k += 1;
            continue;
        }
        let first = k + 1;
        let mut last = first;
        if sig.get(first + 1).is_some_and(|t| t.token == Token::Period)
            && sig.get(first + 2).is_some_and(|t| is_name(t))
        {
            last = first + 2;
        }
        let followed_by = sig.get(last + 1).map(|t| &t.token);
        if matches!(followed_by, Some(Token::LParen | Token::Period)) {
            k = last + 1;
            continue;
        }
        let (s, e) = (sig[first].span.start, sig[last].span.end);
        let so = byte_offset(sql, &starts, s.line, s.column)?;
        let eo = byte_offset(sql, &starts, e.line, e.column)?;
        edits.push((
            so,
            IN_PREFIX,
            Insertion {
                line: s.line,
                column: s.column,
                len: IN_PREFIX.chars().count() as u64,
            },
        ));
        edits.push((
            eo,
            IN_SUFFIX,
            Insertion {
                line: e.line,
                column: e.column,
                len: IN_SUFFIX.chars().count() as u64,
            },
        ));
        k = last + 1;
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + edits.len() * 8);
    let mut at = 0;
    for (off, text, _) in &edits {
        out.push_str(sql.get(at..*off)?);
        out.push_str(text);
        at = *off;
    }
    out.push_str(sql.get(at..)?);
    let mut insertions: Vec<Insertion> = edits.into_iter().map(|(_, _, i)| i).collect();
    insertions.sort_by_key(|i| (i.line, i.column));
    Some((out, insertions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(sql: &str) -> Option<String> {
        rewrite_in_table(sql).map(|(s, _)| s)
    }

    #[test]
    fn rewrites_only_bare_names_after_in() {
        assert_eq!(
            rw("SELECT 1 IN t1").as_deref(),
            Some("SELECT 1 IN (SELECT * FROM t1)")
        );
        assert_eq!(
            rw("SELECT x NOT IN t1, y in \"my t\" FROM t2").as_deref(),
            Some("SELECT x NOT IN (SELECT * FROM t1), y in (SELECT * FROM \"my t\") FROM t2")
        );
        assert_eq!(
            rw("SELECT 1 IN main.t1").as_deref(),
            Some("SELECT 1 IN (SELECT * FROM main.t1)")
        );
        assert_eq!(
            rw("SELECT 1 IN [t 1] -- IN t2\n").as_deref(),
            Some("SELECT 1 IN (SELECT * FROM [t 1]) -- IN t2\n")
        );
        // Strings, comments, parenthesized lists and function-like names stay as written.
        assert_eq!(rw("SELECT 'a IN t1', \"IN t\" /* IN t3 */"), None);
        assert_eq!(rw("SELECT 1 IN (1, 2)"), None);
        assert_eq!(rw("SELECT 1 IN f(2)"), None);
        assert_eq!(rw("SELECT 1 IN (SELECT 1)"), None);
        assert_eq!(rw("SELECT 1 IN SELECT"), None);
        assert_eq!(
            rw("SELECT 'it''s IN t', 1 IN t").as_deref(),
            Some("SELECT 'it''s IN t', 1 IN (SELECT * FROM t)")
        );
        // Non-ASCII text before the spot keeps its bytes.
        assert_eq!(
            rw("SELECT 'é→', 2 IN t").as_deref(),
            Some("SELECT 'é→', 2 IN (SELECT * FROM t)")
        );
    }

    #[test]
    fn parse_uses_the_rewrite_only_when_needed() {
        let p = parse("SELECT 1 IN (SELECT 2)").unwrap();
        assert!(p.insertions.is_empty());
        let p = parse("SELECT 1 IN t1").unwrap();
        assert_eq!(p.ast[0].to_string(), "SELECT 1 IN (SELECT * FROM t1)");
        assert_eq!(p.insertions.len(), 2);
        // Errors that are not about IN are reported as they were.
        let e = parse("SELEC 1").unwrap_err();
        assert!(matches!(e, Error::Syntax { .. }), "{e}");
    }

    #[test]
    fn error_positions_refer_to_the_original_text() {
        // The rewritten text still fails after the IN-table spot: the position is mapped
        // back past the insertions.
        let e = parse("SELECT 1 IN t1 AND )").unwrap_err();
        let Error::Syntax {
            location: Some(l), ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!((l.line, l.column), (1, 20));
        // On a later line nothing shifts.
        let e = parse("SELECT 1 IN t1\nAND )").unwrap_err();
        let Error::Syntax {
            location: Some(l), ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!((l.line, l.column), (2, 5));
        let ins = [
            Insertion {
                line: 1,
                column: 13,
                len: 15,
            },
            Insertion {
                line: 1,
                column: 15,
                len: 1,
            },
        ];
        let at = |c| original_location(Location { line: 1, column: c }, &ins);
        assert_eq!(at(5).column, 5);
        assert_eq!(at(13).column, 13); // inside the prefix
        assert_eq!(at(28).column, 13); // `t1` itself
        assert_eq!(at(30).column, 15); // inside the suffix
        assert_eq!(at(32).column, 16);
    }
}
