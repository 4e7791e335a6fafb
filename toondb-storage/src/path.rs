//! The path API's rules: `users/alice/email` names a key in the KV keyspace.

use crate::{Error, MAX_KEY_LEN, Result};

/// Checks that `path` is a valid path: non-empty, no empty segment (so no leading,
/// trailing or doubled `/`), no NUL byte, at most [`MAX_KEY_LEN`] bytes.
pub fn validate_path(path: &str) -> Result<()> {
    let invalid = |reason| {
        Err(Error::InvalidPath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return invalid("the path is empty");
    }
    if path.len() > MAX_KEY_LEN {
        return invalid("the path is longer than the key limit");
    }
    if path.contains('\0') {
        return invalid("paths may not contain NUL");
    }
    if path.split('/').any(str::is_empty) {
        return invalid("empty segment (leading, trailing or doubled '/')");
    }
    Ok(())
}

/// The key prefix under which the children of `parent` live: `"parent/"`, or the empty
/// prefix for the root (`""`).
pub(crate) fn children_prefix(parent: &str) -> Result<Vec<u8>> {
    if parent.is_empty() {
        return Ok(Vec::new());
    }
    validate_path(parent)?;
    let mut prefix = parent.as_bytes().to_vec();
    prefix.push(b'/');
    Ok(prefix)
}

/// Lists the distinct child segments under `prefix`, sorted, using `seek(from)` to
/// read the first key at or after `from` that still starts with `prefix`. A child with
/// a subtree is skipped over in one seek, so the cost is one seek per child rather
/// than one step per key.
pub(crate) fn list_children(
    prefix: &[u8],
    mut seek: impl FnMut(&[u8]) -> Result<Option<Vec<u8>>>,
) -> Result<Vec<String>> {
    // A leaf "a" and a subtree "a/..." can be separated by keys like "a-b", so the
    // same name can be met twice: collect into a set.
    let mut children = std::collections::BTreeSet::new();
    let mut from = prefix.to_vec();
    while let Some(key) = seek(&from)? {
        let Some(rest) = key.strip_prefix(prefix) else {
            break;
        };
        let (child, has_subtree) = match rest.iter().position(|&b| b == b'/') {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        // Keys written with the byte API may not be paths: skip what is not a segment.
        if !child.is_empty()
            && let Ok(name) = std::str::from_utf8(child)
        {
            children.insert(name.to_string());
        }
        from.truncate(prefix.len());
        from.extend_from_slice(child);
        if has_subtree {
            // Every key "child/..." sorts before "child0" ('0' follows '/').
            from.push(b'0');
        } else {
            // The next key after "child" itself.
            from.push(0);
        }
    }
    Ok(children.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(validate_path("users/alice/email").is_ok());
        assert!(validate_path("x").is_ok());
        for bad in ["", "/a", "a/", "a//b", "a/\0b"] {
            assert!(
                matches!(validate_path(bad), Err(Error::InvalidPath { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn children_with_seek_skips_subtrees() {
        let keys: Vec<&[u8]> = vec![
            b"u/a", b"u/a-b", b"u/a/x", b"u/a/y/z", b"u/b/1", b"u/c", b"v/q",
        ];
        let mut seeks = 0;
        let got = list_children(b"u/", |from| {
            seeks += 1;
            Ok(keys.iter().find(|k| **k >= from).map(|k| k.to_vec()))
        })
        .unwrap();
        assert_eq!(got, ["a", "a-b", "b", "c"]);
        assert!(seeks <= 6, "{seeks}");
    }
}
