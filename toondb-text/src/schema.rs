//! The index schema (named text fields) and the analyzers.

use std::collections::HashSet;

use tantivy::schema::{
    FieldType, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    TokenizerManager,
};

use crate::error::{Error, Result};

/// Name of the hidden `u64` id field (indexed for deletes, fast for id look-ups and filters).
pub(crate) const ID_FIELD: &str = "_id";
/// Longest token kept, in bytes; longer ones (base64 blobs, URLs without separators) are dropped.
pub(crate) const MAX_TOKEN_BYTES: usize = 40;
/// Most fields a schema may declare.
pub const MAX_FIELDS: usize = 64;
/// Longest field name, in bytes.
pub const MAX_FIELD_NAME_BYTES: usize = 64;

/// How a field's text is cut into terms, at indexing and at query time alike.
///
/// Both analyzers split on every character that is not alphanumeric (Unicode), so punctuation
/// never reaches the index or a query; drop tokens longer than 40 bytes; and lowercase.
///
/// Stop words are **kept** by both: BM25's IDF already gives `the`/`of` almost no weight, and
/// keeping them leaves queries such as "The Who" or "to be or not to be" answerable. Accents
/// are kept as written (`café` and `cafe` are different terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Analyzer {
    /// English: lowercase, then the Snowball English (Porter2) stemmer, so `running`, `runs`
    /// and `run` are one term. The default.
    #[default]
    English,
    /// Lowercase only, no stemming: exact word matches (names, codes, non-English text).
    Plain,
}

impl Analyzer {
    /// The name under which the analyzer is registered in (and recorded by) the index. The
    /// version suffix changes whenever the analysis changes, so an index built with an older
    /// analysis is recognized instead of being searched with mismatched terms.
    pub(crate) fn tokenizer_name(self) -> &'static str {
        match self {
            Analyzer::English => "toondb_en_v1",
            Analyzer::Plain => "toondb_plain_v1",
        }
    }

    fn from_tokenizer_name(name: &str) -> Option<Self> {
        [Analyzer::English, Analyzer::Plain]
            .into_iter()
            .find(|a| a.tokenizer_name() == name)
    }

    pub(crate) fn build(self) -> TextAnalyzer {
        let base = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES + 1))
            .filter(LowerCaser);
        match self {
            Analyzer::English => base.filter(Stemmer::new(Language::English)).build(),
            Analyzer::Plain => base.build(),
        }
    }

    /// The terms this analyzer produces for `text`, in order (duplicates kept).
    ///
    /// ```
    /// use toondb_text::Analyzer;
    /// assert_eq!(Analyzer::English.analyze("Running DOGS!"), ["run", "dog"]);
    /// assert_eq!(Analyzer::Plain.analyze("Running DOGS!"), ["running", "dogs"]);
    /// ```
    pub fn analyze(self, text: &str) -> Vec<String> {
        let mut analyzer = self.build();
        analyze_with(&mut analyzer, text)
    }
}

pub(crate) fn analyze_with(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// Registers every analyzer under its name.
pub(crate) fn register_analyzers(manager: &TokenizerManager) {
    for analyzer in [Analyzer::English, Analyzer::Plain] {
        manager.register(analyzer.tokenizer_name(), analyzer.build());
    }
}

/// One named text field of a [`TextSchema`].
///
/// By default a field is indexed (searchable), not stored, with the [`Analyzer::English`]
/// analyzer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextField {
    name: String,
    indexed: bool,
    stored: bool,
    analyzer: Analyzer,
}

impl TextField {
    /// A searchable, unstored, English-analyzed field.
    pub fn new(name: impl Into<String>) -> Self {
        TextField {
            name: name.into(),
            indexed: true,
            stored: false,
            analyzer: Analyzer::English,
        }
    }

    /// Whether the field is searchable (default `true`).
    #[must_use]
    pub fn indexed(mut self, indexed: bool) -> Self {
        self.indexed = indexed;
        self
    }

    /// Whether the field's original text is kept and returned by
    /// [`TextIndex::get`](crate::TextIndex::get) (default `false`).
    #[must_use]
    pub fn stored(mut self, stored: bool) -> Self {
        self.stored = stored;
        self
    }

    /// The analyzer used for this field (default [`Analyzer::English`]).
    #[must_use]
    pub fn analyzer(mut self, analyzer: Analyzer) -> Self {
        self.analyzer = analyzer;
        self
    }

    /// The field's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the field is searchable.
    pub fn is_indexed(&self) -> bool {
        self.indexed
    }

    /// Whether the field's text is stored.
    pub fn is_stored(&self) -> bool {
        self.stored
    }

    /// The field's analyzer (meaningful only when indexed).
    pub fn analyzer_kind(&self) -> Analyzer {
        self.analyzer
    }
}

/// The fields of a [`TextIndex`](crate::TextIndex), fixed at creation.
///
/// Every document also has a `u64` id, which is not a field of the schema.
///
/// A search sums the BM25 scores of all searched fields, each with its own statistics, so a
/// short field (a title) weighs as much as a long one and a match in it counts heavily. For
/// relevance, prefer one indexed field holding all the text (e.g. "title. body"): on wiki-ir,
/// title and text as two fields scored nDCG@10 0.58, the same text in one field 0.72 (see the
/// `bm25_quality` benchmark). Extra fields suit restricted searches
/// ([`SearchRequest::fields`](crate::SearchRequest::fields)) and stored-only text.
///
/// ```
/// use toondb_text::{Analyzer, TextField, TextSchema};
/// let schema = TextSchema::builder()
///     .field(TextField::new("title").stored(true))
///     .field(TextField::new("body"))
///     .field(TextField::new("sku").analyzer(Analyzer::Plain))
///     .build()?;
/// assert_eq!(schema.fields().len(), 3);
/// # Ok::<(), toondb_text::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextSchema {
    fields: Vec<TextField>,
}

/// Builder of a [`TextSchema`]; [`build`](Self::build) validates it.
#[derive(Debug, Clone, Default)]
pub struct TextSchemaBuilder {
    fields: Vec<TextField>,
}

impl TextSchemaBuilder {
    /// Adds a field.
    #[must_use]
    pub fn field(mut self, field: TextField) -> Self {
        self.fields.push(field);
        self
    }

    /// Validates and returns the schema.
    ///
    /// Rules: 1 to 64 fields, at least one indexed; names are unique, 1 to 64 bytes of ASCII
    /// letters, digits, `_` and `-`, starting with a letter or digit; a field is indexed or
    /// stored (or both).
    pub fn build(self) -> Result<TextSchema> {
        let invalid = |reason: String| Err(Error::InvalidSchema { reason });
        if self.fields.is_empty() {
            return invalid("a schema needs at least one field".into());
        }
        if self.fields.len() > MAX_FIELDS {
            return invalid(format!(
                "{} fields declared, at most {MAX_FIELDS} are allowed",
                self.fields.len()
            ));
        }
        let mut seen = HashSet::new();
        for f in &self.fields {
            validate_field_name(&f.name)?;
            if !seen.insert(f.name.as_str()) {
                return invalid(format!("field {:?} is declared twice", f.name));
            }
            if !f.indexed && !f.stored {
                return invalid(format!("field {:?} is neither indexed nor stored", f.name));
            }
        }
        if !self.fields.iter().any(|f| f.indexed) {
            return invalid("at least one field must be indexed".into());
        }
        Ok(TextSchema {
            fields: self.fields,
        })
    }
}

fn validate_field_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("a field name cannot be empty")
    } else if name.len() > MAX_FIELD_NAME_BYTES {
        Some("a field name is at most 64 bytes")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Some("a field name uses only ASCII letters, digits, '_' and '-'")
    } else if !name.as_bytes()[0].is_ascii_alphanumeric() {
        Some("a field name starts with a letter or a digit ('_' names are reserved)")
    } else {
        None
    };
    match reason {
        Some(r) => Err(Error::InvalidSchema {
            reason: format!("{name:?}: {r}"),
        }),
        None => Ok(()),
    }
}

impl TextSchema {
    /// Starts a schema.
    pub fn builder() -> TextSchemaBuilder {
        TextSchemaBuilder::default()
    }

    /// A one-field schema: `name`, indexed with `analyzer`, not stored.
    pub fn single(name: &str, analyzer: Analyzer) -> Result<TextSchema> {
        TextSchema::builder()
            .field(TextField::new(name).analyzer(analyzer))
            .build()
    }

    /// The fields, in declaration order.
    pub fn fields(&self) -> &[TextField] {
        &self.fields
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&TextField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The tantivy schema: the id field first, then the text fields in order.
    pub(crate) fn to_tantivy(&self) -> Schema {
        let mut b = Schema::builder();
        b.add_u64_field(ID_FIELD, NumericOptions::default().set_indexed().set_fast());
        for f in &self.fields {
            let mut opts = TextOptions::default();
            if f.indexed {
                opts = opts.set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(f.analyzer.tokenizer_name())
                        .set_index_option(IndexRecordOption::WithFreqs)
                        .set_fieldnorms(true),
                );
            }
            if f.stored {
                opts = opts.set_stored();
            }
            b.add_text_field(&f.name, opts);
        }
        b.build()
    }

    /// Reads our schema back from a tantivy schema, or says why it is not one of ours.
    pub(crate) fn from_tantivy(schema: &Schema) -> std::result::Result<TextSchema, String> {
        let mut fields_iter = schema.fields();
        match fields_iter.next() {
            Some((_, entry)) if entry.name() == ID_FIELD => match entry.field_type() {
                FieldType::U64(o) if o.is_indexed() && o.is_fast() => {}
                _ => return Err(format!("field {ID_FIELD:?} is not an indexed fast u64")),
            },
            _ => return Err(format!("the first field is not {ID_FIELD:?}")),
        }
        let mut builder = TextSchema::builder();
        for (_, entry) in fields_iter {
            let FieldType::Str(opts) = entry.field_type() else {
                return Err(format!("field {:?} is not a text field", entry.name()));
            };
            let mut field = TextField::new(entry.name())
                .indexed(false)
                .stored(opts.is_stored());
            if let Some(indexing) = opts.get_indexing_options() {
                let analyzer =
                    Analyzer::from_tokenizer_name(indexing.tokenizer()).ok_or_else(|| {
                        format!(
                            "field {:?} uses the unknown analyzer {:?}",
                            entry.name(),
                            indexing.tokenizer()
                        )
                    })?;
                field = field.indexed(true).analyzer(analyzer);
            }
            builder = builder.field(field);
        }
        builder.build().map_err(|e| e.to_string())
    }

    /// The first difference between `self` (existing) and `wanted`, if any.
    pub(crate) fn difference(&self, wanted: &TextSchema) -> Option<String> {
        if self == wanted {
            return None;
        }
        let names = |s: &TextSchema| s.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
        if names(self) != names(wanted) {
            return Some(format!(
                "existing fields {:?}, requested {:?}",
                names(self),
                names(wanted)
            ));
        }
        self.fields
            .iter()
            .zip(&wanted.fields)
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("field {:?}: existing {a:?}, requested {b:?}", a.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_stems_and_plain_does_not() {
        assert_eq!(
            Analyzer::English.analyze("The connected connections CONNECTING"),
            ["the", "connect", "connect", "connect"]
        );
        assert_eq!(
            Analyzer::Plain.analyze("The connected connections"),
            ["the", "connected", "connections"]
        );
    }

    #[test]
    fn punctuation_and_long_tokens_vanish() {
        assert!(Analyzer::English.analyze("\"(:)*-- AND/OR!!").len() == 2);
        assert!(Analyzer::Plain.analyze("\"(:)*--").is_empty());
        let long = "x".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(Analyzer::Plain.analyze(&format!("a {long} b")), ["a", "b"]);
        let exact = "y".repeat(MAX_TOKEN_BYTES);
        assert_eq!(Analyzer::Plain.analyze(&exact), vec![exact]);
    }

    #[test]
    fn unicode_is_lowercased_and_split() {
        assert_eq!(
            Analyzer::Plain.analyze("Ärger—Straße, ÉCOLE 東京"),
            ["ärger", "straße", "école", "東京"]
        );
    }

    #[test]
    fn schema_validation() {
        let bad = |b: TextSchemaBuilder| matches!(b.build(), Err(Error::InvalidSchema { .. }));
        assert!(bad(TextSchema::builder()));
        assert!(bad(TextSchema::builder().field(TextField::new(""))));
        assert!(bad(TextSchema::builder().field(TextField::new("_id"))));
        assert!(bad(TextSchema::builder().field(TextField::new("a b"))));
        assert!(bad(TextSchema::builder().field(TextField::new("a.b"))));
        assert!(bad(
            TextSchema::builder().field(TextField::new("x".repeat(65)))
        ));
        assert!(bad(TextSchema::builder()
            .field(TextField::new("a"))
            .field(TextField::new("a"))));
        assert!(bad(
            TextSchema::builder().field(TextField::new("a").indexed(false).stored(true))
        ));
        assert!(bad(
            TextSchema::builder().field(TextField::new("a").indexed(false))
        ));
        let mut many = TextSchema::builder();
        for i in 0..=MAX_FIELDS {
            many = many.field(TextField::new(format!("f{i}")));
        }
        assert!(bad(many));
        assert!(TextSchema::single("body-2_x", Analyzer::Plain).is_ok());
    }

    #[test]
    fn tantivy_round_trip() {
        let schema = TextSchema::builder()
            .field(TextField::new("title").stored(true))
            .field(TextField::new("code").analyzer(Analyzer::Plain))
            .field(TextField::new("raw").indexed(false).stored(true))
            .build()
            .unwrap();
        let back = TextSchema::from_tantivy(&schema.to_tantivy()).unwrap();
        assert_eq!(back, schema);
        assert!(schema.difference(&back).is_none());
        let other = TextSchema::single("title", Analyzer::English).unwrap();
        assert!(schema.difference(&other).is_some());
    }

    #[test]
    fn foreign_tantivy_schemas_are_rejected() {
        let mut b = Schema::builder();
        b.add_text_field("body", tantivy::schema::TEXT);
        assert!(TextSchema::from_tantivy(&b.build()).is_err());
        let mut b = Schema::builder();
        b.add_u64_field(ID_FIELD, NumericOptions::default().set_indexed().set_fast());
        b.add_text_field("body", tantivy::schema::TEXT); // "default" tokenizer: not ours
        assert!(TextSchema::from_tantivy(&b.build()).is_err());
    }
}
