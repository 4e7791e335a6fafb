//! Documents and write operations.

/// A document: a `u64` id and text values for named fields of the schema.
///
/// A field may be given several values (they are indexed as one field, like an array);
/// fields of the schema that are not given are simply empty for this document.
///
/// ```
/// use toondb_text::TextDocument;
/// let doc = TextDocument::new(7).with("title", "Rust").with("body", "A language.");
/// assert_eq!(doc.id(), 7);
/// assert_eq!(doc.get("title"), Some("Rust"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextDocument {
    id: u64,
    fields: Vec<(String, String)>,
}

impl TextDocument {
    /// An empty document with this id.
    pub fn new(id: u64) -> Self {
        TextDocument {
            id,
            fields: Vec::new(),
        }
    }

    /// Adds a value to a field (builder style).
    #[must_use]
    pub fn with(mut self, field: impl Into<String>, text: impl Into<String>) -> Self {
        self.push(field, text);
        self
    }

    /// Adds a value to a field.
    pub fn push(&mut self, field: impl Into<String>, text: impl Into<String>) {
        self.fields.push((field.into(), text.into()));
    }

    /// The document's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// All `(field, text)` values, in insertion order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The first value of `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, t)| t.as_str())
    }
}

/// One staged write, for [`TextIndex::apply`](crate::TextIndex::apply).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextOp {
    /// Insert a document whose id is not live (else [`Error::DuplicateId`](crate::Error)).
    Add(TextDocument),
    /// Insert or replace the document with this id.
    Upsert(TextDocument),
    /// Remove the document with this id (nothing happens if there is none).
    Delete(u64),
}

impl TextOp {
    pub(crate) fn id(&self) -> u64 {
        match self {
            TextOp::Add(d) | TextOp::Upsert(d) => d.id(),
            TextOp::Delete(id) => *id,
        }
    }
}
