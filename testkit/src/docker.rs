//! Docker test images built `FROM scratch` on the local engine (nothing is pulled): any set
//! of host files, and a busybox image made of the static `/bin/busybox` (Debian's
//! `busybox-static`) with a link for each of its applets.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use bollard::Docker;
use bollard::query_parameters::BuildImageOptions;
use futures_util::StreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::OnceCell;

/// The tag of the busybox test image.
pub const BUSYBOX_TAG: &str = "keynet-test-busybox:latest";
/// The static busybox copied into the image.
pub const BUSYBOX_BINARY: &str = "/bin/busybox";
/// Label recording which busybox binary the image was built from.
const BUSYBOX_LABEL: &str = "ai.keynet.test.busybox-sha256";

/// A client of the local engine (`DOCKER_HOST` honoured), at an API version it speaks.
pub async fn connect() -> anyhow::Result<Docker> {
    let docker = Docker::connect_with_defaults().context("configuring the Docker client")?;
    docker
        .negotiate_version()
        .await
        .context("no Docker engine answers (see .ci/run for how it is started)")
}

/// Builds an image `FROM scratch` holding `files` (host path, absolute path in the image;
/// the host file's permissions are kept) with `entrypoint`, tags it `tag` and returns its
/// id (`sha256:…`).
pub async fn build_scratch_image(
    tag: &str,
    files: &[(PathBuf, &str)],
    entrypoint: &[&str],
) -> anyhow::Result<String> {
    let mut entries = Vec::with_capacity(files.len());
    for (host, path) in files {
        entries.push(Entry::file(host, path)?);
    }
    build(tag, &entries, entrypoint, HashMap::new()).await
}

/// The busybox image (`/bin/busybox` and `/bin/<applet>` links, `PATH=/bin`, entrypoint
/// `/bin/sh -c`): its id. Built once per test process; an image already tagged from the
/// same busybox binary is reused, so concurrently running test processes at most build
/// identical images.
pub async fn busybox_image() -> anyhow::Result<String> {
    static IMAGE: OnceCell<String> = OnceCell::const_new();
    IMAGE
        .get_or_try_init(|| async {
            let binary = std::fs::read(BUSYBOX_BINARY).with_context(|| {
                format!("reading {BUSYBOX_BINARY} (install the busybox-static package)")
            })?;
            let hash = hex_digest(&binary);
            let docker = connect().await?;
            if let Ok(image) = docker.inspect_image(BUSYBOX_TAG).await {
                let built_from = image
                    .config
                    .and_then(|config| config.labels)
                    .and_then(|labels| labels.get(BUSYBOX_LABEL).cloned());
                if let (Some(id), Some(built_from)) = (image.id, built_from)
                    && built_from == hash
                {
                    return Ok(id);
                }
            }
            let mut entries = vec![Entry::File {
                path: "bin/busybox".to_owned(),
                data: binary,
                mode: 0o755,
            }];
            for applet in applets()? {
                if applet != "busybox" {
                    entries.push(Entry::Symlink {
                        path: format!("bin/{applet}"),
                        target: "busybox".to_owned(),
                    });
                }
            }
            let labels = HashMap::from([(BUSYBOX_LABEL.to_owned(), hash)]);
            build(BUSYBOX_TAG, &entries, &["/bin/sh", "-c"], labels).await
        })
        .await
        .cloned()
}

/// The applet names of the host's busybox.
fn applets() -> anyhow::Result<Vec<String>> {
    let output = std::process::Command::new(BUSYBOX_BINARY)
        .arg("--list")
        .output()
        .with_context(|| format!("running {BUSYBOX_BINARY} --list"))?;
    if !output.status.success() {
        bail!("{BUSYBOX_BINARY} --list failed: {}", output.status);
    }
    let list = String::from_utf8(output.stdout).context("busybox --list printed non-UTF-8")?;
    Ok(list
        .lines()
        .map(str::trim)
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .map(str::to_owned)
        .collect())
}

enum Entry {
    File {
        path: String,
        data: Vec<u8>,
        mode: u32,
    },
    Symlink {
        path: String,
        target: String,
    },
}

impl Entry {
    fn file(host: &Path, path: &str) -> anyhow::Result<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        let data = std::fs::read(host).with_context(|| format!("reading {}", host.display()))?;
        let mode = std::fs::metadata(host)
            .with_context(|| format!("reading {}", host.display()))?
            .permissions()
            .mode()
            & 0o7777;
        let path = path.trim_start_matches('/');
        if path.is_empty() || path.split('/').any(|part| part == "..") {
            bail!("{path:?} is not a path inside the image");
        }
        Ok(Self::File {
            path: path.to_owned(),
            data,
            mode,
        })
    }
}

/// Builds with the classic builder from an in-memory context and returns the image id.
async fn build(
    tag: &str,
    entries: &[Entry],
    entrypoint: &[&str],
    labels: HashMap<String, String>,
) -> anyhow::Result<String> {
    let mut dockerfile = String::from("FROM scratch\n");
    if !entries.is_empty() {
        dockerfile.push_str("COPY rootfs/ /\n");
    }
    dockerfile.push_str("ENV PATH=/bin:/usr/bin\n");
    let entrypoint: Vec<String> = entrypoint.iter().map(|arg| json_string(arg)).collect();
    let _ = writeln!(dockerfile, "ENTRYPOINT [{}]", entrypoint.join(", "));

    let mut context = tar::Builder::new(Vec::new());
    append_file(&mut context, "Dockerfile", dockerfile.as_bytes(), 0o644)?;
    for entry in entries {
        match entry {
            Entry::File { path, data, mode } => {
                append_file(&mut context, &format!("rootfs/{path}"), data, *mode)?;
            }
            Entry::Symlink { path, target } => {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                context
                    .append_link(&mut header, format!("rootfs/{path}"), target)
                    .context("writing the build context")?;
            }
        }
    }
    let context = context.into_inner().context("writing the build context")?;

    let docker = connect().await?;
    let options = BuildImageOptions {
        t: Some(tag.to_owned()),
        rm: true,
        forcerm: true,
        labels: Some(labels),
        ..Default::default()
    };
    let mut progress = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    let mut transcript = String::new();
    while let Some(step) = progress.next().await {
        let step = step.with_context(|| format!("building {tag}: {transcript}"))?;
        if let Some(text) = step.stream {
            transcript.push_str(&text);
        }
    }
    let image = docker
        .inspect_image(tag)
        .await
        .with_context(|| format!("inspecting the image {tag} just built: {transcript}"))?;
    image
        .id
        .with_context(|| format!("the engine reported no id for {tag}"))
}

fn append_file(
    context: &mut tar::Builder<Vec<u8>>,
    path: &str,
    data: &[u8],
    mode: u32,
) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    context
        .append_data(&mut header, path, data)
        .context("writing the build context")
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hex_digest(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Runs the docker CLI with its own configuration folder `config` (so registry credentials
/// stay with the test), feeding it `stdin`.
pub fn cli(config: &Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("docker")
        .env("DOCKER_CONFIG", config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the docker CLI runs (see .ci/run)");
    let mut input = child.stdin.take().unwrap();
    if let Some(stdin) = stdin {
        input.write_all(stdin.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// [`cli`] for a command that must succeed: its standard output.
pub fn cli_ok(config: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let output = cli(config, args, stdin);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "docker {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
