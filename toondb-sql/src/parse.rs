//! Parsing SQL text: sqlparser with the SQLite dialect, plus three pieces of SQLite syntax
//! sqlparser does not accept there: the `expr [NOT] IN table` shorthand, the `INDEXED BY
//! index` / `NOT INDEXED` clauses after a table in FROM, UPDATE and DELETE, and the shift
//! operators `<<` and `>>`.
//!
//! Only when the text fails to parse is it tokenized (by sqlparser's own tokenizer, so
//! string literals, quoted names and comments are recognized as such) and rewritten:
//! each `IN name` / `IN schema.name` that is not followed by `(` becomes
//! `IN (SELECT * FROM name)`; each `INDEXED BY name` / `NOT INDEXED` that follows a name is
//! blanked out (replaced by as many spaces) and remembered as a [`TableHint`] on the table
//! whose name or alias precedes it; each `<<` / `>>` becomes `^ ` (which the dialect parses
//! as a binary operator of the same precedence, and which SQLite does not have) and is
//! remembered by position, so that the binder can tell which shift an `^` stands for
//! ([`Parsed::shift_between`]). The rewritten text is parsed instead. The rewrite only
//! inserts text or replaces it with as many characters, and every insertion is
//! remembered, so that line/column positions in errors can be mapped back to the text the
//! user wrote ([`Parsed::map_error`]).

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

/// An index hint written after a table: `INDEXED BY index` or `NOT INDEXED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IndexHint {
    /// Read the table through this index.
    IndexedBy(String),
    /// Use no index (the table's own key still serves lookups).
    NotIndexed,
}

/// An index hint and where the table reference it follows ends: the position (in the
/// original text) of that reference's last token, its alias or the last part of its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableHint {
    line: u64,
    column: u64,
    hint: IndexHint,
}

/// A shift operator the rewrite turned into `^`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shift {
    Left,
    Right,
}

/// What the rewrite did, for the binder and for error positions: the insertions it made,
/// the index hints it took out and the shift operators it replaced, by original position
/// (all empty on the common path).
#[derive(Debug, Clone, Default)]
pub(crate) struct Notes {
    insertions: Vec<Insertion>,
    hints: Vec<TableHint>,
    shifts: Vec<(Location, Shift)>,
}

/// Parsed statements, and what the rewrite did to the text (see [`Notes`]).
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) ast: Vec<ast::Statement>,
    pub(crate) notes: Notes,
}

impl Parsed {
    /// Maps the positions in `e` (which are positions in the parsed, possibly rewritten,
    /// text) back to positions in the original text.
    pub(crate) fn map_error(&self, e: Error) -> Error {
        map_error(e, &self.notes.insertions)
    }
}

impl Notes {
    /// The index hint written after the table reference whose last token (alias or last
    /// name part) is `last`.
    pub(crate) fn hint_after(&self, last: &ast::Ident) -> Option<&IndexHint> {
        if self.hints.is_empty() {
            return None;
        }
        let at = self.original(last.span.start);
        self.hints
            .iter()
            .find(|h| (h.line, h.column) == (at.line, at.column))
            .map(|h| &h.hint)
    }

    /// Whether the rewrite replaced any shift operator.
    pub(crate) fn has_shifts(&self) -> bool {
        !self.shifts.is_empty()
    }

    /// The operator of `left op right` as written: a `^` the rewrite put in for a shift
    /// (found by position between the operands) is that shift, anything else is `op`.
    pub(crate) fn operator(
        &self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
    ) -> ast::BinaryOperator {
        use sqlparser::ast::Spanned;
        if *op != ast::BinaryOperator::BitwiseXor || self.shifts.is_empty() {
            return op.clone();
        }
        let (left_end, right_start) = (left.span().end, right.span().start);
        if left_end.line == 0 || right_start.line == 0 {
            return op.clone();
        }
        let (lo, hi) = (self.original(left_end), self.original(right_start));
        let key = |l: &Location| (l.line, l.column);
        match self
            .shifts
            .iter()
            .find(|(at, _)| key(at) >= key(&lo) && key(at) < key(&hi))
        {
            Some((_, Shift::Left)) => ast::BinaryOperator::PGBitwiseShiftLeft,
            Some((_, Shift::Right)) => ast::BinaryOperator::PGBitwiseShiftRight,
            None => op.clone(),
        }
    }

    fn original(&self, l: sqlparser::tokenizer::Location) -> Location {
        original_location(
            Location {
                line: l.line,
                column: l.column,
            },
            &self.insertions,
        )
    }
}

/// Parses `sql` (one or more statements). The IN-table rewrite is tried only when the text
/// does not parse as written.
pub(crate) fn parse(sql: &str) -> Result<Parsed> {
    let first = match Parser::parse_sql(&SQLiteDialect {}, sql) {
        Ok(ast) => {
            return Ok(Parsed {
                ast,
                notes: Notes::default(),
            });
        }
        Err(e) => e,
    };
    let Some(Rewritten { text, notes }) = rewrite(sql) else {
        return Err(syntax_error(first));
    };
    match Parser::parse_sql(&SQLiteDialect {}, &text) {
        Ok(ast) => Ok(Parsed { ast, notes }),
        // The rewritten text fixed the spots above; what still fails is reported at its
        // position in the original text.
        Err(e) => Err(map_error(syntax_error(e), &notes.insertions)),
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

/// The rewritten text, and what the rewrite did to it.
struct Rewritten {
    text: String,
    notes: Notes,
}

/// Whether `t` is the unquoted word `word`.
fn is_word(t: Option<&&TokenWithSpan>, word: &str) -> bool {
    matches!(t.map(|t| &t.token), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// Finds the index hint starting at `sig[k]` (`NOT INDEXED`, or `INDEXED BY name`) after a
/// name: the hint and the index of its last token.
fn index_hint(sig: &[&TokenWithSpan], k: usize) -> Option<(IndexHint, usize)> {
    let after_name = k > 0
        && matches!(&sig[k - 1].token, Token::Word(w) if w.quote_style.is_some() || w.keyword == Keyword::NoKeyword);
    if !after_name {
        return None;
    }
    if is_word(sig.get(k), "NOT") && is_word(sig.get(k + 1), "INDEXED") {
        return Some((IndexHint::NotIndexed, k + 1));
    }
    if is_word(sig.get(k), "INDEXED")
        && is_word(sig.get(k + 1), "BY")
        && let Some(Token::Word(w)) = sig.get(k + 2).map(|t| &t.token)
    {
        return Some((IndexHint::IndexedBy(w.value.clone()), k + 2));
    }
    None
}

/// One change the rewrite makes to the text, at byte offsets of the original.
enum Edit {
    /// Inserts `text` at byte `at`.
    Insert {
        at: usize,
        text: &'static str,
        record: Insertion,
    },
    /// Replaces bytes `start..end` by `with` followed by spaces, as many characters as
    /// they hold (line breaks kept), so that no later position moves.
    Replace {
        start: usize,
        end: usize,
        with: &'static str,
    },
}

/// Rewrites every `IN name` / `IN schema.name` not followed by `(` to
/// `IN (SELECT * FROM name)`, blanks out every index hint after a name and turns every
/// `<<` / `>>` into `^ `. Returns `None` when there is nothing to rewrite (or the text does
/// not tokenize). Everything outside the rewritten spots is copied unchanged.
fn rewrite(sql: &str) -> Option<Rewritten> {
    let tokens = Tokenizer::new(&SQLiteDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let sig: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let starts = line_starts(sql);
    let offset = |l: sqlparser::tokenizer::Location| byte_offset(sql, &starts, l.line, l.column);
    let position = |l: sqlparser::tokenizer::Location| Location {
        line: l.line,
        column: l.column,
    };
    // The edits, in text order (each found after the ones before it).
    let mut edits: Vec<Edit> = Vec::new();
    let mut hints = Vec::new();
    let mut shifts = Vec::new();
    let mut k = 0;
    while k < sig.len() {
        if let Token::ShiftLeft | Token::ShiftRight = sig[k].token {
            let span = sig[k].span;
            edits.push(Edit::Replace {
                start: offset(span.start)?,
                end: offset(span.end)?,
                with: "^ ",
            });
            let shift = if sig[k].token == Token::ShiftLeft {
                Shift::Left
            } else {
                Shift::Right
            };
            shifts.push((position(span.start), shift));
            k += 1;
            continue;
        }
        if let Some((hint, last)) = index_hint(&sig, k) {
            edits.push(Edit::Replace {
                start: offset(sig[k].span.start)?,
                end: offset(sig[last].span.end)?,
                with: "",
            });
            let table = position(sig[k - 1].span.start);
            hints.push(TableHint {
                line: table.line,
                column: table.column,
                hint,
            });
            k = last + 1;
            continue;
        }
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
        for (at, text) in [
            (sig[first].span.start, IN_PREFIX),
            (sig[last].span.end, IN_SUFFIX),
        ] {
            edits.push(Edit::Insert {
                at: offset(at)?,
                text,
                record: Insertion {
                    line: at.line,
                    column: at.column,
                    len: text.chars().count() as u64,
                },
            });
        }
        k = last + 1;
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 32 * edits.len());
    let mut insertions = Vec::new();
    let mut at = 0;
    for edit in edits {
        match edit {
            Edit::Insert {
                at: off,
                text,
                record,
            } => {
                out.push_str(sql.get(at..off)?);
                out.push_str(text);
                insertions.push(record);
                at = off;
            }
            Edit::Replace { start, end, with } => {
                out.push_str(sql.get(at..start)?);
                let mut with = with.chars();
                out.extend(sql.get(start..end)?.chars().map(|c| match with.next() {
                    Some(w) => w,
                    None if c == '\n' => c,
                    None => ' ',
                }));
                at = end;
            }
        }
    }
    out.push_str(sql.get(at..)?);
    insertions.sort_by_key(|i| (i.line, i.column));
    Some(Rewritten {
        text: out,
        notes: Notes {
            insertions,
            hints,
            shifts,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(sql: &str) -> Option<String> {
        rewrite(sql).map(|r| r.text)
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
    fn index_hints_are_blanked_and_remembered() {
        let r = rewrite("SELECT * FROM t INDEXED BY t_b, u AS x NOT INDEXED WHERE 1 IN v")
            .expect("rewritten");
        let blank = |n| " ".repeat(n);
        assert_eq!(
            r.text,
            format!(
                "SELECT * FROM t {}, u AS x {} WHERE 1 IN (SELECT * FROM v)",
                blank(14),
                blank(11)
            )
        );
        let at = |h: &TableHint| (h.line, h.column, h.hint.clone());
        assert_eq!(
            r.notes.hints.iter().map(at).collect::<Vec<_>>(),
            vec![
                (1, 15, IndexHint::IndexedBy("t_b".into())),
                (1, 38, IndexHint::NotIndexed),
            ]
        );
        // Quoted and non-ASCII names keep every later position, and the IN rewrite after
        // them lands where it should.
        let r =
            rewrite("SELECT 'é' FROM \"tê\" INDEXED BY \"ïx\" WHERE 1 IN v").expect("rewritten");
        assert_eq!(
            r.text,
            format!(
                "SELECT 'é' FROM \"tê\" {} WHERE 1 IN (SELECT * FROM v)",
                blank(15)
            )
        );
        // Not after a name, or spelled otherwise: left alone.
        assert!(rewrite("SELECT 1 WHERE NOT INDEXED").is_none());
        assert!(rewrite("SELECT 'NOT INDEXED' FROM t").is_none());
        assert!(rewrite("SELECT * FROM t INDEXED t_b").is_none());
    }

    #[test]
    fn hints_are_found_by_the_table_reference_they_follow() {
        let p = parse("SELECT 1 IN t1, x FROM t2 AS y INDEXED BY i2").unwrap();
        let ast::Statement::Query(q) = &p.ast[0] else {
            panic!()
        };
        let ast::SetExpr::Select(sel) = q.body.as_ref() else {
            panic!()
        };
        let ast::TableFactor::Table {
            alias: Some(alias), ..
        } = &sel.from[0].relation
        else {
            panic!()
        };
        // `y` sits 16 characters further right in the parsed text than in the original.
        assert_eq!(
            p.notes.hint_after(&alias.name),
            Some(&IndexHint::IndexedBy("i2".into()))
        );
        assert_eq!(p.notes.hint_after(&ast::Ident::new("y")), None);
    }

    #[test]
    fn parse_uses_the_rewrite_only_when_needed() {
        let p = parse("SELECT 1 IN (SELECT 2)").unwrap();
        assert!(p.notes.insertions.is_empty());
        let p = parse("SELECT 1 IN t1").unwrap();
        assert_eq!(p.ast[0].to_string(), "SELECT 1 IN (SELECT * FROM t1)");
        assert_eq!(p.notes.insertions.len(), 2);
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
