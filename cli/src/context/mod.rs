//! The Docker build context: the trainer's folder as a tar, filtered by its `.dockerignore`
//! as `docker build` filters it, with the Dockerfile to build (the author's, or one
//! generated for a plain Python trainer).
//!
//! The folder is walked once, by [`BuildContext::prepare`], so that every problem (a
//! missing Dockerfile, an entrypoint outside the context, a bad `.dockerignore`) shows
//! before anything is built; [`BuildContext::write_tar`] then reads the files.

mod dockerignore;

use crate::error::{Error, Result};
use dockerignore::DockerIgnore;
use std::io::Write;
use std::path::{Path, PathBuf};
use tar::{EntryType, Header, HeaderMode};
use walkdir::WalkDir;

/// Where the Dockerfile comes from.
#[derive(Clone, Debug)]
pub enum DockerfileSource {
    /// The author's Dockerfile, inside the context or not.
    File(PathBuf),
    /// A Dockerfile for a plain Python trainer on `base_image`.
    Generated { base_image: String },
}

/// A prepared build context.
#[derive(Debug)]
pub struct BuildContext {
    /// The files and folders sent, in walk order.
    entries: Vec<Entry>,
    /// The Dockerfile's path inside the tar.
    dockerfile_path: String,
    /// A Dockerfile that is not a file of the context (generated, or from outside it),
    /// added to the tar under `dockerfile_path`.
    added_dockerfile: Option<Vec<u8>>,
    generated: Option<String>,
}

#[derive(Debug)]
struct Entry {
    /// On disk.
    source: PathBuf,
    /// In the tar: relative to the context, `/`-separated.
    name: PathBuf,
    is_dir: bool,
}

/// The name a Dockerfile not in the context gets in the tar, numbered until it is not the
/// name of a file of the context.
const ADDED_DOCKERFILE: &str = ".keynet-train.Dockerfile";

impl BuildContext {
    /// `dir` is the context directory; `entrypoint` a file inside it.
    pub fn prepare(
        dir: &Path,
        entrypoint: &Path,
        dockerfile: DockerfileSource,
    ) -> Result<BuildContext> {
        let root = dir
            .canonicalize()
            .map_err(|e| Error::io(format!("the build context {}", dir.display()), e))?;
        if !root.is_dir() {
            return Err(Error::Validation(format!(
                "the build context {} is not a folder",
                dir.display()
            )));
        }
        let entrypoint_name = entrypoint_in(&root, entrypoint)?;
        let ignore = match std::fs::read_to_string(root.join(".dockerignore")) {
            Ok(text) => {
                DockerIgnore::parse(&text, &root.join(".dockerignore").display().to_string())?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DockerIgnore::default(),
            Err(e) => {
                return Err(Error::io(
                    format!("cannot read {}", root.join(".dockerignore").display()),
                    e,
                ));
            }
        };

        // A Dockerfile inside the context is sent as it is; any other is added.
        let (inside, added) = match &dockerfile {
            DockerfileSource::File(path) => {
                let canonical = path.canonicalize().map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Error::Validation(format!(
                        "the Dockerfile {} does not exist",
                        path.display()
                    )),
                    _ => Error::io(format!("cannot read the Dockerfile {}", path.display()), e),
                })?;
                if !canonical.is_file() {
                    return Err(Error::Validation(format!(
                        "the Dockerfile {} is not a file",
                        path.display()
                    )));
                }
                match canonical.strip_prefix(&root) {
                    Ok(relative) => (Some(slashed(relative)?), None),
                    Err(_) => {
                        let content = std::fs::read(&canonical).map_err(|e| {
                            Error::io(format!("cannot read the Dockerfile {}", path.display()), e)
                        })?;
                        (None, Some(content))
                    }
                }
            }
            DockerfileSource::Generated { .. } => (None, None),
        };

        let entries = walk(&root, &ignore, inside.as_deref())?;
        let generated = match &dockerfile {
            DockerfileSource::Generated { base_image } => {
                let sent = |name: &str| {
                    entries
                        .iter()
                        .any(|entry| !entry.is_dir && entry.name == Path::new(name))
                };
                if !sent(&entrypoint_name) {
                    return Err(Error::Validation(format!(
                        "the entrypoint {} is excluded by the .dockerignore",
                        entrypoint.display()
                    )));
                }
                let requirements = sent("requirements.txt");
                Some(generate(base_image, &entrypoint_name, requirements)?)
            }
            DockerfileSource::File(_) => None,
        };
        let added_dockerfile = added.or_else(|| generated.clone().map(String::into_bytes));
        let dockerfile_path = match inside {
            Some(path) => path,
            None => free_name(&root),
        };
        Ok(BuildContext {
            entries,
            dockerfile_path,
            added_dockerfile,
            generated,
        })
    }

    /// The Dockerfile's path inside the tar, as Docker's build API `dockerfile` parameter
    /// takes it.
    pub fn dockerfile_path(&self) -> &str {
        &self.dockerfile_path
    }

    /// How many files (not folders) the tar holds, the Dockerfile included.
    pub fn file_count(&self) -> usize {
        self.entries.iter().filter(|entry| !entry.is_dir).count()
            + usize::from(self.added_dockerfile.is_some())
    }

    /// The generated Dockerfile's text, to show the author what is built.
    pub fn generated_dockerfile(&self) -> Option<&str> {
        self.generated.as_deref()
    }

    /// Writes the context as a tar: paths relative to the context, symlinks as symlinks,
    /// and no owners or times, so that an unchanged folder gives the same tar (and Docker
    /// reuses its cached layers).
    pub fn write_tar<W: Write>(&self, out: W) -> Result<()> {
        let mut tar = tar::Builder::new(out);
        tar.mode(HeaderMode::Deterministic);
        tar.follow_symlinks(false);
        for entry in &self.entries {
            tar.append_path_with_name(&entry.source, &entry.name)
                .map_err(|e| {
                    Error::io(
                        format!("cannot add {} to the build context", entry.source.display()),
                        e,
                    )
                })?;
        }
        if let Some(content) = &self.added_dockerfile {
            let mut header = Header::new_gnu();
            header.set_entry_type(EntryType::Regular);
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(tar::DETERMINISTIC_TIMESTAMP);
            tar.append_data(&mut header, &self.dockerfile_path, content.as_slice())
                .map_err(|e| Error::io("cannot add the Dockerfile to the build context", e))?;
        }
        tar.into_inner()
            .and_then(|mut out| out.flush())
            .map_err(|e| Error::io("cannot write the build context", e))
    }
}

/// The entrypoint's path relative to the context, `/`-separated.
fn entrypoint_in(root: &Path, entrypoint: &Path) -> Result<String> {
    let canonical = entrypoint.canonicalize().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Validation(format!(
            "the entrypoint {} does not exist",
            entrypoint.display()
        )),
        _ => Error::io(
            format!("cannot read the entrypoint {}", entrypoint.display()),
            e,
        ),
    })?;
    if !canonical.is_file() {
        return Err(Error::Validation(format!(
            "the entrypoint {} is not a file",
            entrypoint.display()
        )));
    }
    match canonical.strip_prefix(root) {
        Ok(relative) => slashed(relative),
        Err(_) => Err(Error::Validation(format!(
            "the entrypoint {} is not inside the build context {}; choose a context that \
             contains it",
            entrypoint.display(),
            root.display()
        ))),
    }
}

/// The files and folders of the context not excluded by `ignore`. The `.dockerignore` and
/// the Dockerfile (`dockerfile`, when inside) are sent even when excluded, as Docker does.
fn walk(root: &Path, ignore: &DockerIgnore, dockerfile: Option<&str>) -> Result<Vec<Entry>> {
    let always_sent = |name: &str| name == ".dockerignore" || Some(name) == dockerfile;
    let mut entries = Vec::new();
    let mut walker = WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(item) = walker.next() {
        let item = item.map_err(|e| {
            let path = e.path().unwrap_or(root).display().to_string();
            Error::io(format!("cannot read {path}"), e.into())
        })?;
        let relative = item.path().strip_prefix(root).unwrap_or(item.path());
        let name = slashed(relative)?;
        let is_dir = item.file_type().is_dir();
        if ignore.excludes(&name) && !always_sent(&name) {
            // Walk an excluded folder only for what may be sent from inside it.
            let needed = ignore.may_include_under(&name)
                || dockerfile.is_some_and(|d| d.starts_with(&format!("{name}/")));
            if is_dir && !needed {
                walker.skip_current_dir();
            }
            continue;
        }
        entries.push(Entry {
            source: item.path().to_path_buf(),
            name: PathBuf::from(name),
            is_dir,
        });
    }
    Ok(entries)
}

/// A relative path as the tar and `.dockerignore` see it: `/`-separated text.
fn slashed(relative: &Path) -> Result<String> {
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    parts.map(|parts| parts.join("/")).ok_or_else(|| {
        Error::Validation(format!(
            "{} is not a UTF-8 path; rename it or exclude it in .dockerignore",
            relative.display()
        ))
    })
}

/// [`ADDED_DOCKERFILE`], or a numbered variant, that is not a file of the context.
fn free_name(root: &Path) -> String {
    let (stem, extension) = ADDED_DOCKERFILE
        .rsplit_once('.')
        .unwrap_or((ADDED_DOCKERFILE, ""));
    std::iter::once(ADDED_DOCKERFILE.to_string())
        .chain((1..).map(|n| format!("{stem}.{n}.{extension}")))
        .find(|name| root.join(name).symlink_metadata().is_err())
        .unwrap_or_else(|| ADDED_DOCKERFILE.to_string())
}

/// The Dockerfile of a plain Python trainer: dependencies first, in their own layer, so
/// that editing the code does not reinstall them.
fn generate(base_image: &str, entrypoint: &str, requirements: bool) -> Result<String> {
    if base_image.is_empty() || base_image.contains(char::is_whitespace) {
        return Err(Error::Validation(format!(
            "{base_image:?} is not an image reference"
        )));
    }
    let mut dockerfile = format!("FROM {base_image}\nWORKDIR /app\n");
    if requirements {
        dockerfile.push_str(
            "COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n",
        );
    }
    // JSON is the exec form's syntax: quotes and backslashes in the path stay literal.
    let entrypoint = serde_json::to_string(entrypoint)
        .map_err(|e| Error::Validation(format!("the entrypoint path: {e}")))?;
    dockerfile.push_str(&format!(
        "COPY . .\nENTRYPOINT [\"python\", {entrypoint}]\n"
    ));
    Ok(dockerfile)
}
