//! `.dockerignore` with Docker's semantics (moby's `ignorefile` and `patternmatcher`), so
//! that `keynet-train push` sends what `docker build` would:
//!
//! - One pattern a line, relative to the context root; a line starting with `#` is a
//!   comment; surrounding whitespace is trimmed; the pattern is cleaned like Go's
//!   `filepath.Clean` (`./a/` → `a`) and a leading `/` is dropped.
//! - Go `filepath.Match` syntax (`*` and `?` stop at `/`, `[a-z]`, `[^a-z]`, `\` escapes),
//!   plus `**` for any number of directories.
//! - A pattern matching a directory matches everything under it.
//! - `!pattern` re-includes; the last matching line wins.

use crate::error::{Error, Result};
use globset::{GlobBuilder, GlobMatcher};

#[derive(Debug, Default)]
pub(super) struct DockerIgnore {
    patterns: Vec<Pattern>,
}

#[derive(Debug)]
struct Pattern {
    matcher: GlobMatcher,
    /// `!pattern`: re-includes what it matches.
    exception: bool,
    /// The text before the first wildcard, to tell whether the exception can match
    /// anything under a given directory.
    literal_prefix: String,
}

impl DockerIgnore {
    /// Parses the content of a `.dockerignore`; `origin` names it in errors.
    pub(super) fn parse(text: &str, origin: &str) -> Result<DockerIgnore> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let invalid = |reason: String| {
                Error::Validation(format!(
                    "{origin}, line {}: {line:?} is not a valid pattern: {reason}",
                    index + 1
                ))
            };
            if pattern.is_empty() {
                return Err(invalid("`!` needs a pattern after it".into()));
            }
            let cleaned = clean(pattern);
            let pattern = match cleaned.strip_prefix('/') {
                Some(relative) if !relative.is_empty() => relative,
                _ => cleaned.as_str(),
            };
            let matcher = GlobBuilder::new(&escape_braces(pattern))
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| invalid(e.kind().to_string()))?
                .compile_matcher();
            let literal_prefix = pattern
                .split(['*', '?', '[', '\\'])
                .next()
                .unwrap_or_default()
                .to_string();
            patterns.push(Pattern {
                matcher,
                exception,
                literal_prefix,
            });
        }
        Ok(DockerIgnore { patterns })
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left out: the last
    /// pattern matching it or one of its parent directories decides.
    pub(super) fn excludes(&self, path: &str) -> bool {
        let mut excluded = false;
        for pattern in &self.patterns {
            let matches = pattern.matcher.is_match(path)
                || parents(path).any(|parent| pattern.matcher.is_match(parent));
            if matches {
                excluded = !pattern.exception;
            }
        }
        excluded
    }

    /// Whether an exception might re-include something under the excluded directory
    /// `dir`; when none can, the walk skips it (a `data/` of millions of files costs
    /// nothing). Conservative: any path under `dir/` an exception matches starts with the
    /// exception's literal prefix, so the two must be prefixes of one another.
    pub(super) fn may_include_under(&self, dir: &str) -> bool {
        let dir = format!("{dir}/");
        self.patterns
            .iter()
            .filter(|p| p.exception)
            .any(|p| p.literal_prefix.starts_with(&dir) || dir.starts_with(&p.literal_prefix))
    }
}

/// `a/b/c` → `a`, `a/b`.
fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(at, _)| &path[..at])
}

/// Go's `filepath.Clean` for `/`-separated patterns: no empty or `.` elements, `..`
/// resolved lexically, no trailing slash.
fn clean(pattern: &str) -> String {
    let rooted = pattern.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go's syntax has no `{a,b}` alternation: braces are literal.
fn escape_braces(pattern: &str) -> String {
    let mut escaped = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                escaped.push(c);
                escaped.extend(chars.next());
            }
            '{' | '}' => {
                escaped.push('\\');
                escaped.push(c);
            }
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text, ".dockerignore").expect("valid .dockerignore")
    }

    /// Each `.dockerignore` with paths it excludes and paths it keeps.
    #[test]
    fn semantics() {
        let table: &[(&str, &[&str], &[&str])] = &[
            (
                "**/*.pyc",
                &["a.pyc", "pkg/a.pyc", "pkg/sub/__pycache__/a.pyc"],
                &["a.py", "pyc", "a.pyc.txt"],
            ),
            (
                "data/",
                &["data", "data/x.csv", "data/deep/y.csv"],
                &["database.csv", "src/data/x.csv"],
            ),
            (
                "data/\n!data/keep.txt",
                &["data/x.csv", "data/sub/keep.txt"],
                &["data/keep.txt"],
            ),
            (
                "*.md\n!README.md",
                &["CHANGES.md"],
                &["README.md", "docs/guide.md"],
            ),
            ("!README.md\n*.md", &["CHANGES.md", "README.md"], &[]),
            ("# comment\n  \n#*.py\n", &[], &["# comment", "train.py"]),
            (" # not a comment", &["# not a comment"], &[]),
            (
                "/build\n./dist/\n",
                &["build/x", "dist/y"],
                &["src/build/x"],
            ),
            ("*", &["train.py", "src/a.py"], &[]),
            ("*/*.csv", &["data/x.csv"], &["x.csv", "data/sub/x.csv"]),
            (
                "src/**/test_*.py",
                &["src/test_a.py", "src/a/b/test_c.py"],
                &["test_a.py"],
            ),
            ("checkpoint?.pt", &["checkpoint1.pt"], &["checkpoint10.pt"]),
            ("run[0-9]", &["run1/log"], &["runs/log"]),
            ("run[^0-9]", &["runs/log"], &["run1/log"]),
            ("{a,b}", &["{a,b}"], &["a", "b"]),
            (r"weird\*name", &["weird*name"], &["weirdXname"]),
            ("a/../b\n", &["b/x"], &["a/b/x"]),
            (
                ".git\n.venv\n",
                &[".git/HEAD", ".venv/bin/python"],
                &[".gitignore"],
            ),
        ];
        for (text, excluded, kept) in table {
            let ignore = ignore(text);
            for path in *excluded {
                assert!(ignore.excludes(path), "{text:?} should exclude {path}");
            }
            for path in *kept {
                assert!(!ignore.excludes(path), "{text:?} should keep {path}");
            }
        }
    }

    #[test]
    fn which_excluded_directories_need_a_walk() {
        let ignore = ignore("data/\nlogs\n!data/keep.txt\n!**/KEEP\n");
        assert!(ignore.may_include_under("data"));
        assert!(ignore.may_include_under("logs"));
        let ignore = super::tests::ignore("data/\n!README.md\n!d*/x\n");
        assert!(ignore.may_include_under("data"));
        assert!(!ignore.may_include_under("logs"));
        assert!(!super::tests::ignore("data/").may_include_under("data"));
    }

    #[test]
    fn invalid_patterns_name_their_line() {
        let error = DockerIgnore::parse("ok\n[z-a\n", "ctx/.dockerignore").expect_err("bad");
        assert!(
            error
                .to_string()
                .starts_with("ctx/.dockerignore, line 2: \"[z-a\""),
            "{error}"
        );
        assert!(DockerIgnore::parse("!\n", ".dockerignore").is_err());
    }

    #[test]
    fn clean_follows_go() {
        for (pattern, cleaned) in [
            ("a/", "a"),
            ("./a//b/./c/", "a/b/c"),
            ("a/../../b", "../b"),
            ("/../a", "/a"),
            (".", "."),
            ("/", "/"),
        ] {
            assert_eq!(clean(pattern), cleaned, "{pattern}");
        }
    }
}
