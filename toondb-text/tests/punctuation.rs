//! User text is never query syntax: punctuation, operators and odd Unicode are just text.

use std::sync::OnceLock;

use proptest::prelude::*;
use toondb_text::{Analyzer, TextDocument, TextField, TextIndex, TextOp, TextSchema};

fn index() -> &'static TextIndex {
    static INDEX: OnceLock<TextIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let schema = TextSchema::builder()
            .field(TextField::new("title"))
            .field(TextField::new("body").analyzer(Analyzer::Plain))
            .build()
            .unwrap();
        let index = TextIndex::builder()
            .writer_threads(1)
            .in_memory(schema)
            .unwrap();
        let docs = [
            ("C++ and Rust", "systems languages: rust, c, c++"),
            ("AND OR NOT", "boolean operators and or not"),
            ("title:body", "field syntax looks like title:body"),
            ("\"quoted\"", "a quoted phrase (with parentheses)"),
            ("wild*card", "prefix* and fuzzy~2 and boost^3"),
            ("-negated", "minus signs -like this- everywhere"),
            ("東京 Straße", "unicode café naïve"),
        ];
        index
            .apply(docs.iter().enumerate().map(|(i, (t, b))| {
                TextOp::Add(
                    TextDocument::new(i as u64)
                        .with("title", *t)
                        .with("body", *b),
                )
            }))
            .unwrap();
        index.commit(1).unwrap();
        index
    })
}

/// The words of `text`, as the tokenizer sees them, joined by spaces.
fn words_only(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn syntax_characters_are_plain_text() {
    let index = index();
    for q in [
        "\"",
        "\"\"",
        "\"unbalanced",
        "title:",
        ":",
        "title:body",
        "(",
        ")",
        "((rust",
        "rust))",
        "AND",
        "OR",
        "NOT",
        "AND OR",
        "rust AND",
        "OR rust",
        "-",
        "--",
        "-rust",
        "*",
        "rust*",
        "+",
        "+rust",
        "~",
        "fuzzy~2",
        "^",
        "boost^3",
        "[",
        "]",
        "[a TO z]",
        "{",
        "}",
        "\\",
        "/",
        "/regex/",
        "!",
        "&&",
        "||",
        "'",
        "`",
        "<>",
        "title:(a OR b)",
        "\0",
        "\u{feff}",
        "\u{200b}",
        "🦀",
        "🦀 rust 🦀",
        "",
        "   ",
        "\n\t\r",
        "c++",
        "C#",
        "e-mail",
    ] {
        let got = index.search(q, 10);
        let expected = index.search(&words_only(q), 10);
        match (got, expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "query {q:?}"),
            (g, e) => panic!("query {q:?}: {g:?} / {e:?}"),
        }
    }
}

#[test]
fn operator_words_are_searched_as_words() {
    let index = index();
    // "AND OR NOT" would be an operator soup in a query language; here it finds the doc that
    // contains those words.
    assert_eq!(index.search("AND OR NOT", 1).unwrap()[0].0, 1);
    assert_eq!(index.search("title:body", 1).unwrap()[0].0, 2);
    assert_eq!(index.search("-negated", 1).unwrap()[0].0, 5);
    assert_eq!(index.search("東京", 1).unwrap()[0].0, 6);
}

#[test]
fn blank_queries_return_nothing() {
    let index = index();
    for q in [
        "", " ", "\"\"", "(:)", "-*-", "!!!???", "\u{200b}", "🦀🦀", "— –",
    ] {
        assert!(index.is_blank_query(q), "{q:?}");
        assert_eq!(index.search(q, 10).unwrap(), vec![], "{q:?}");
        assert_eq!(
            index.search_filtered(q, 10, &[0, 1, 2]).unwrap(),
            vec![],
            "{q:?}"
        );
    }
    assert!(!index.is_blank_query("(rust)"));
}

fn query_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            "rust", "AND", "OR", "NOT", "title", "body", "quoted", "c", "unicode", "café",
            "prefix", "東京", "systems", "and", "or",
        ])
        .prop_map(str::to_string),
        4 => prop::sample::select(vec![
            "\"", ":", "(", ")", "-", "*", "+", "~", "^", "[", "]", "{", "}", "\\", "/", "!",
            "&&", "||", "'", " ", "  ", "\t", "\n", ".", ",", "?", "🦀", "\u{0}",
        ])
        .prop_map(str::to_string),
        1 => any::<String>(),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_searches_like_its_words(q in query_text(), k in 0usize..20) {
        let index = index();
        let got = index.search(&q, k);
        prop_assert!(got.is_ok(), "{:?}: {:?}", q, got);
        let got = got.unwrap();
        prop_assert_eq!(&got, &index.search(&words_only(&q), k).unwrap(), "{:?}", q);
        prop_assert!(got.len() <= k);
        prop_assert!(got.iter().all(|h| h.1.is_finite() && h.1 > 0.0));
        // Blank = no word of at most 40 bytes (longer tokens are dropped by the analyzers).
        let blank = words_only(&q).split(' ').all(|w| w.is_empty() || w.len() > 40);
        prop_assert_eq!(index.is_blank_query(&q), blank);
    }

    #[test]
    fn arbitrary_unicode_never_fails(q in any::<String>()) {
        prop_assert!(index().search(&q, 5).is_ok());
        prop_assert!(index().search_filtered(&q, 5, &[1, 2, 3]).is_ok());
    }
}
