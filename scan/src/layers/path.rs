//! Entry names and link targets: what is refused, and the one form every path is kept in
//! (absolute inside the image, `/`-separated, no `.`, `..` or empty components).

use crate::Error;

fn lossy(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// Why a name or link target is refused before its meaning is looked at.
enum Problem {
    Empty,
    Nul,
    TooLong,
    NotUtf8,
}

fn text(raw: &[u8], max_len: usize) -> Result<&str, Problem> {
    if raw.is_empty() {
        Err(Problem::Empty)
    } else if raw.contains(&0) {
        Err(Problem::Nul)
    } else if raw.len() > max_len {
        Err(Problem::TooLong)
    } else {
        std::str::from_utf8(raw).map_err(|_| Problem::NotUtf8)
    }
}

fn problem_text(problem: &Problem) -> &'static str {
    match problem {
        Problem::Empty => "it is empty",
        Problem::Nul => "it holds a NUL byte",
        Problem::TooLong => "it is too long",
        Problem::NotUtf8 => "it is not UTF-8",
    }
}

/// The entry's path in the image, or `None` for the root directory itself (`./`).
pub(super) fn entry_path(raw: &[u8], max_len: usize) -> Result<Option<String>, Error> {
    let name = text(raw, max_len).map_err(|problem| {
        let entry = lossy(raw);
        match problem {
            Problem::Empty => Error::EmptyPath { entry },
            Problem::Nul => Error::NulInPath { entry },
            Problem::TooLong => Error::PathTooLong {
                entry,
                max: max_len,
            },
            Problem::NotUtf8 => Error::NonUtf8Path { entry },
        }
    })?;
    if name.starts_with('/') {
        return Err(Error::AbsolutePath {
            entry: name.to_owned(),
        });
    }
    let mut path = String::with_capacity(name.len() + 1);
    for component in name.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                return Err(Error::ParentDirInPath {
                    entry: name.to_owned(),
                });
            }
            _ => {
                path.push('/');
                path.push_str(component);
            }
        }
    }
    Ok((!path.is_empty()).then_some(path))
}

/// A symlink's target, kept as written. Absolute targets are normal in images (the runtime
/// resolves them inside the root); a relative one must not climb above the root from the
/// link's directory, and neither may an absolute one.
pub(super) fn symlink_target(entry: &str, raw: &[u8], max_len: usize) -> Result<String, Error> {
    let bad = |why| Error::BadSymlinkTarget {
        entry: entry.to_owned(),
        target: lossy(raw),
        why,
    };
    let target = text(raw, max_len).map_err(|problem| bad(problem_text(&problem)))?;
    let mut depth: usize = if target.starts_with('/') {
        0
    } else {
        // Components of the link's own directory: "/a/b/link" sits at depth 2.
        entry.matches('/').count().saturating_sub(1)
    };
    for component in target.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                depth = depth.checked_sub(1).ok_or_else(|| Error::SymlinkEscape {
                    entry: entry.to_owned(),
                    target: target.to_owned(),
                })?;
            }
            _ => depth += 1,
        }
    }
    Ok(target.to_owned())
}

/// A hardlink's target: an archive path like an entry name, so relative, without `..`, and
/// not the root; returned in the kept form.
pub(super) fn hardlink_target(entry: &str, raw: &[u8], max_len: usize) -> Result<String, Error> {
    let bad = |why| Error::BadHardlinkTarget {
        entry: entry.to_owned(),
        target: lossy(raw),
        why,
    };
    let target = text(raw, max_len).map_err(|problem| bad(problem_text(&problem)))?;
    if target.starts_with('/') {
        return Err(bad("it is absolute"));
    }
    match entry_path(raw, max_len) {
        Ok(Some(target)) => Ok(target),
        Ok(None) => Err(bad("it names the image root")),
        Err(_) => Err(bad("it has a `..` component")),
    }
}

/// What a whiteout entry deletes.
pub(super) enum Whiteout {
    /// `.wh.NAME`: the path `dir/NAME` of the layers below.
    Path(String),
    /// `.wh..wh..opq`: everything the layers below have in this directory.
    Opaque(String),
}

/// `None` when the entry is not a whiteout; the reason when it is a malformed one.
pub(super) fn whiteout(path: &str) -> Result<Option<Whiteout>, &'static str> {
    let (parent, base) = path.rsplit_once('/').unwrap_or(("", path));
    let Some(name) = base.strip_prefix(".wh.") else {
        return Ok(None);
    };
    if base == ".wh..wh..opq" {
        if parent.is_empty() {
            return Err("an opaque whiteout of the image root would delete every lower layer");
        }
        return Ok(Some(Whiteout::Opaque(parent.to_owned())));
    }
    if name.starts_with(".wh.") {
        return Err("`.wh..wh.` names are reserved; only `.wh..wh..opq` has a meaning");
    }
    match name {
        "" => Err("it whites out an empty name"),
        "." | ".." => Err("it whites out `.` or `..`, i.e. its own directory or the one above"),
        _ => Ok(Some(Whiteout::Path(format!("{parent}/{name}")))),
    }
}
