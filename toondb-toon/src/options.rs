//! Encoder and decoder options in ToonDB's own vocabulary.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The character that separates values in inline arrays, tabular rows and
/// table headers (specification §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Delimiter {
    /// `,` — the default; omitted from array headers.
    #[default]
    Comma,
    /// A horizontal tab; declared in headers as `[N\t]`.
    Tab,
    /// `|`; declared in headers as `[N|]`.
    Pipe,
}

impl Delimiter {
    /// The delimiter character.
    pub fn as_char(self) -> char {
        match self {
            Delimiter::Comma => ',',
            Delimiter::Tab => '\t',
            Delimiter::Pipe => '|',
        }
    }

    /// The delimiter for a character, if it is one of the three.
    pub fn from_char(c: char) -> Option<Self> {
        match c {
            ',' => Some(Delimiter::Comma),
            '\t' => Some(Delimiter::Tab),
            '|' => Some(Delimiter::Pipe),
            _ => None,
        }
    }

    pub(crate) fn to_official(self) -> toon_format::Delimiter {
        match self {
            Delimiter::Comma => toon_format::Delimiter::Comma,
            Delimiter::Tab => toon_format::Delimiter::Tab,
            Delimiter::Pipe => toon_format::Delimiter::Pipe,
        }
    }
}

impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Delimiter::Comma => "comma",
            Delimiter::Tab => "tab",
            Delimiter::Pipe => "pipe",
        })
    }
}

impl FromStr for Delimiter {
    type Err = Error;

    /// Accepts the names `comma`, `tab`, `pipe` (any case) or the characters
    /// themselves (`,`, a tab, `|`; also the two-character escape `\t`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "comma" | "," => Ok(Delimiter::Comma),
            "tab" | "\t" | "\\t" => Ok(Delimiter::Tab),
            "pipe" | "|" => Ok(Delimiter::Pipe),
            _ => Err(Error::InvalidOption(format!(
                "unknown delimiter {s:?}: expected comma, tab or pipe"
            ))),
        }
    }
}

/// The default number of spaces per indentation level.
pub const DEFAULT_INDENT: usize = 2;

/// Options for [`encode`](crate::encode) and the other encoders.
///
/// ```
/// use toondb_toon::{Delimiter, EncodeOptions};
/// let opts = EncodeOptions::new().indent(4).delimiter(Delimiter::Pipe);
/// assert_eq!(opts.indent_size(), 4);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    indent: usize,
    delimiter: Delimiter,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            indent: DEFAULT_INDENT,
            delimiter: Delimiter::Comma,
        }
    }
}

impl EncodeOptions {
    /// Two-space indentation, comma delimiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spaces per indentation level (at least 1; 0 is rejected when encoding).
    pub fn indent(mut self, spaces: usize) -> Self {
        self.indent = spaces;
        self
    }

    /// The document delimiter used in inline arrays and tables.
    pub fn delimiter(mut self, delimiter: Delimiter) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Spaces per indentation level.
    pub fn indent_size(&self) -> usize {
        self.indent
    }

    /// The document delimiter.
    pub fn get_delimiter(&self) -> Delimiter {
        self.delimiter
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.indent == 0 {
            return Err(Error::InvalidOption(
                "indent must be at least 1 space".to_string(),
            ));
        }
        Ok(())
    }

    pub(crate) fn to_official(&self) -> toon_format::EncodeOptions {
        toon_format::EncodeOptions::new()
            .with_spaces(self.indent)
            .with_delimiter(self.delimiter.to_official())
    }
}

/// Options for [`decode`](crate::decode).
///
/// `strict` (the default) enforces declared array lengths, exact
/// indentation multiples, no tabs in indentation, no blank lines inside
/// arrays and no duplicate keys (§14). Non-strict decoding applies the
/// specification's recoveries instead.
///
/// ```
/// use toondb_toon::DecodeOptions;
/// let opts = DecodeOptions::new().strict(false).indent(4);
/// assert!(!opts.is_strict());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    indent: usize,
    strict: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            indent: DEFAULT_INDENT,
            strict: true,
        }
    }
}

impl DecodeOptions {
    /// Strict, two-space indentation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expected spaces per indentation level (at least 1).
    pub fn indent(mut self, spaces: usize) -> Self {
        self.indent = spaces;
        self
    }

    /// Enable or disable strict validation.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Expected spaces per indentation level.
    pub fn indent_size(&self) -> usize {
        self.indent
    }

    /// Whether strict validation is on.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.indent == 0 {
            return Err(Error::InvalidOption(
                "indent must be at least 1 space".to_string(),
            ));
        }
        Ok(())
    }

    pub(crate) fn to_official(&self) -> toon_format::DecodeOptions {
        toon_format::DecodeOptions::new()
            .with_strict(self.strict)
            .with_indent(toon_format::Indent::Spaces(self.indent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_parses_names_and_chars() {
        for (s, d) in [
            ("comma", Delimiter::Comma),
            (",", Delimiter::Comma),
            ("TAB", Delimiter::Tab),
            ("\t", Delimiter::Tab),
            ("\\t", Delimiter::Tab),
            ("pipe", Delimiter::Pipe),
            ("|", Delimiter::Pipe),
        ] {
            assert_eq!(s.parse::<Delimiter>().ok(), Some(d), "{s:?}");
        }
        assert!(";".parse::<Delimiter>().is_err());
        assert!("".parse::<Delimiter>().is_err());
    }

    #[test]
    fn zero_indent_is_rejected() {
        assert!(EncodeOptions::new().indent(0).validate().is_err());
        assert!(DecodeOptions::new().indent(0).validate().is_err());
        assert!(EncodeOptions::new().validate().is_ok());
    }
}
