//! BM25 search: the plain-text query path and the allow-list filter.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use tantivy::collector::{FilterCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, TERMINATED, Term};

use crate::error::{Error, Result};
use crate::index::TextIndex;
use crate::schema::analyze_with;

/// Most distinct terms a query may analyze to (summed over the searched fields).
pub const MAX_QUERY_TERMS: usize = 1024;

/// Allow-lists of at most this many ids always take the direct path (each allowed document is
/// looked up and scored on its own); see [`use_direct_path`].
const DIRECT_PATH_ALWAYS: usize = 256;

/// Whether an allow-list of `n` ids over `live` documents is scored id by id (cost ~ n) rather
/// than by running the query and checking each match against a hash set (cost ~ matches).
/// Both are exact; the choice is only about speed.
fn use_direct_path(n: usize, live: usize) -> bool {
    n <= DIRECT_PATH_ALWAYS || n.saturating_mul(8) <= live
}

/// A search with every option; [`TextIndex::search`] and [`TextIndex::search_filtered`] are
/// shorthands.
///
/// ```
/// use toondb_text::{SearchRequest, TextDocument, TextField, TextIndex, TextSchema};
/// let schema = TextSchema::builder()
///     .field(TextField::new("title"))
///     .field(TextField::new("body"))
///     .build()?;
/// let index = TextIndex::in_memory(schema)?;
/// index.add(TextDocument::new(1).with("title", "Rust").with("body", "fast and safe"))?;
/// index.add(TextDocument::new(2).with("title", "Go").with("body", "fast to compile"))?;
/// index.commit(1)?;
/// let hits = index.search_request(&SearchRequest::new("fast", 10).fields(&["body"]).allow(&[2]))?;
/// assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [2]);
/// # Ok::<(), toondb_text::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SearchRequest<'a> {
    text: &'a str,
    k: usize,
    fields: &'a [&'a str],
    allowed: Option<&'a [u64]>,
}

impl<'a> SearchRequest<'a> {
    /// The `k` best documents for `text`, over every indexed field, unfiltered.
    pub fn new(text: &'a str, k: usize) -> Self {
        SearchRequest {
            text,
            k,
            fields: &[],
            allowed: None,
        }
    }

    /// Search only these (indexed) fields; empty means all indexed fields.
    #[must_use]
    pub fn fields(mut self, fields: &'a [&'a str]) -> Self {
        self.fields = fields;
        self
    }

    /// Consider only documents whose id is in `ids` (e.g. the result of a metadata filter).
    /// The result is the true top-k among those documents, however few they are.
    #[must_use]
    pub fn allow(mut self, ids: &'a [u64]) -> Self {
        self.allowed = Some(ids);
        self
    }
}

impl TextIndex {
    /// The `k` documents with the best BM25 score for `text`, best first, as `(id, score)`.
    ///
    /// `text` is plain text, never a query language: it is cut into terms by each field's
    /// analyzer, so quotes, colons, parentheses, `AND`/`OR`/`NOT`, `-`, `*` and the like are
    /// ordinary text (punctuation is dropped, words are words). A document matches if it holds
    /// any term; repeated query words count once per repetition. A query with no terms at all
    /// (empty, blank or only punctuation) returns an empty list, as does `k == 0`; see
    /// [`TextIndex::is_blank_query`]. Scores use BM25 with k1 = 1.2, b = 0.75, summed over
    /// fields; each field has its own statistics.
    pub fn search(&self, text: &str, k: usize) -> Result<Vec<(u64, f32)>> {
        self.search_request(&SearchRequest::new(text, k))
    }

    /// [`search`](Self::search) among the documents whose id is in `allowed` only: the exact
    /// top-k of that subset (not a post-filter of the global top-k), with the same scores an
    /// unfiltered search gives them. Ids that do not exist are ignored.
    pub fn search_filtered(
        &self,
        text: &str,
        k: usize,
        allowed: &[u64],
    ) -> Result<Vec<(u64, f32)>> {
        self.search_request(&SearchRequest::new(text, k).allow(allowed))
    }

    /// Whether `text` holds no searchable term for any indexed field (empty, blank, only
    /// punctuation, or only words longer than 40 bytes): a search for it returns nothing. A
    /// caller that wants "empty query" to be an error checks this first.
    pub fn is_blank_query(&self, text: &str) -> bool {
        self.inner()
            .search_fields(&[])
            .map(|fields| {
                fields
                    .into_iter()
                    .all(|(_, mut analyzer)| analyze_with(&mut analyzer, text).is_empty())
            })
            .unwrap_or(true)
    }

    /// The general search; see [`SearchRequest`].
    pub fn search_request(&self, request: &SearchRequest<'_>) -> Result<Vec<(u64, f32)>> {
        let inner = self.inner();
        let fields = inner.search_fields(request.fields)?;
        let Some(text_query) = build_text_query(request.text, fields)? else {
            return Ok(Vec::new());
        };
        if request.k == 0 {
            return Ok(Vec::new());
        }
        let searcher = inner.reader().searcher();
        let live = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        let mut limit = request.k.min(live);
        let top = match request.allowed {
            None => {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                searcher.search(&text_query, &TopDocs::with_limit(limit).order_by_score())
            }
            Some(ids) => {
                limit = limit.min(ids.len());
                if limit == 0 {
                    return Ok(Vec::new());
                }
                if use_direct_path(ids.len(), live) {
                    score_allowed(&searcher, text_query.as_ref(), inner.id_field(), ids, limit)
                } else {
                    let set: Arc<HashSet<u64>> = Arc::new(ids.iter().copied().collect());
                    let collector = FilterCollector::new(
                        inner.id_field_name().to_string(),
                        move |id: u64| set.contains(&id),
                        TopDocs::with_limit(limit).order_by_score(),
                    );
                    searcher.search(&text_query, &collector)
                }
            }
        }
        .map_err(|e| Error::engine("searching", e))?;
        to_ids(&searcher, inner.id_field_name(), top)
    }
}

/// The direct allow-list path: find each allowed id's live document in each segment, then
/// seek the query's scorer to it. Exact BM25 scores (the same statistics as a full search).
fn score_allowed(
    searcher: &Searcher,
    query: &dyn Query,
    id_field: Field,
    ids: &[u64],
    limit: usize,
) -> tantivy::Result<Vec<(Score, DocAddress)>> {
    let weight = query.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let mut unique: Vec<u64> = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let terms: Vec<Term> = unique
        .iter()
        .map(|&id| Term::from_field_u64(id_field, id))
        .collect();
    let mut hits: Vec<(Score, DocAddress)> = Vec::new();
    let mut docs: Vec<DocId> = Vec::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let ids_index = segment.inverted_index(id_field)?;
        docs.clear();
        for term in &terms {
            if let Some(mut postings) = ids_index.read_postings(term, IndexRecordOption::Basic)? {
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    if !segment.is_deleted(doc) {
                        docs.push(doc);
                    }
                    doc = postings.advance();
                }
            }
        }
        if docs.is_empty() {
            continue;
        }
        docs.sort_unstable();
        let mut scorer = weight.scorer(segment, 1.0)?;
        for &doc in &docs {
            let mut current = scorer.doc();
            if current < doc {
                current = scorer.seek(doc);
            }
            if current == TERMINATED {
                break;
            }
            if current == doc {
                hits.push((scorer.score(), DocAddress::new(ord as u32, doc)));
            }
        }
    }
    hits.sort_by(|a, b| b.0.total_cmp(&a.0));
    hits.truncate(limit);
    Ok(hits)
}

/// One `Should` clause per distinct (field, term); a term repeated n times in the query gets
/// boost n, which equals n repeated clauses under BM25's sum.
fn build_text_query(
    text: &str,
    fields: Vec<(Field, TextAnalyzer)>,
) -> Result<Option<Box<dyn Query>>> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (field, mut analyzer) in fields {
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for term in analyze_with(&mut analyzer, text) {
            *counts.entry(term).or_default() += 1;
        }
        if clauses.len() + counts.len() > MAX_QUERY_TERMS {
            return Err(Error::QueryTooLong {
                terms: clauses.len() + counts.len(),
                max: MAX_QUERY_TERMS,
            });
        }
        for (term, count) in counts {
            let query = TermQuery::new(
                Term::from_field_text(field, &term),
                IndexRecordOption::WithFreqs,
            );
            let clause: Box<dyn Query> = if count > 1 {
                Box::new(BoostQuery::new(Box::new(query), count as Score))
            } else {
                Box::new(query)
            };
            clauses.push((Occur::Should, clause));
        }
    }
    Ok(if clauses.is_empty() {
        None
    } else {
        Some(Box::new(BooleanQuery::new(clauses)))
    })
}

/// Maps doc addresses to our ids through the id fast field, best first, ties by id.
fn to_ids(
    searcher: &Searcher,
    id_field: &str,
    top: Vec<(Score, DocAddress)>,
) -> Result<Vec<(u64, f32)>> {
    let mut columns = Vec::new();
    columns.resize_with(searcher.segment_readers().len(), || None);
    let mut out = Vec::with_capacity(top.len());
    for (score, address) in top {
        let ord = address.segment_ord as usize;
        let slot = columns.get_mut(ord).ok_or_else(|| Error::Corrupted {
            reason: format!("search returned segment {ord}, which does not exist"),
            source: None,
        })?;
        if slot.is_none() {
            let column = searcher
                .segment_reader(address.segment_ord)
                .fast_fields()
                .u64(id_field)
                .map_err(|e| Error::engine("reading document ids", e))?;
            *slot = Some(column);
        }
        let id = slot
            .as_ref()
            .and_then(|c| c.first(address.doc_id))
            .ok_or_else(|| Error::Corrupted {
                reason: format!("document {address:?} has no id"),
                source: None,
            })?;
        out.push((id, score));
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(out)
}
