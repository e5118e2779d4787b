//! Checkpoint files: the model plus what produced it, as JSON (readable, diffable, and
//! the model is small). Written to a temporary name and renamed, because the platform
//! may pick up `best.json` while the next epoch is being saved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::failure::Failure;
use crate::model::SoftmaxModel;

pub const FORMAT: &str = "keynet-reference-softmax/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    pub model_name: String,
    pub job_id: String,
    pub epoch: u32,
    pub metrics: BTreeMap<String, f64>,
    pub model: SoftmaxModel,
}

impl Checkpoint {
    pub fn save(&self, path: &Path) -> Result<(), Failure> {
        let text = serde_json::to_vec(self)
            .map_err(|error| Failure::io(format!("cannot encode checkpoint: {error}")))?;
        write_atomically(path, &text)
    }

    pub fn load(path: &Path) -> Result<Self, Failure> {
        let text = std::fs::read(path).map_err(|error| {
            Failure::checkpoint(format!("cannot read {}: {error}", path.display()))
        })?;
        let checkpoint: Checkpoint = serde_json::from_slice(&text).map_err(|error| {
            Failure::checkpoint(format!(
                "{} is not a reference-trainer checkpoint: {error}",
                path.display()
            ))
        })?;
        if checkpoint.format != FORMAT {
            return Err(Failure::checkpoint(format!(
                "{} has format {:?}, this trainer reads {FORMAT:?}",
                path.display(),
                checkpoint.format
            )));
        }
        checkpoint
            .model
            .check()
            .map_err(|reason| Failure::checkpoint(format!("{}: {reason}", path.display())))?;
        Ok(checkpoint)
    }
}

/// The checkpoint of an inference or export job: `<input>/checkpoint/` holds it; a single
/// file is taken whatever its name, otherwise `best.json`, then `last.json`.
pub fn find_input_checkpoint(input_dir: &Path) -> Result<PathBuf, Failure> {
    let folder = input_dir.join("checkpoint");
    let entries = std::fs::read_dir(&folder).map_err(|error| {
        Failure::checkpoint(format!("cannot read {}: {error}", folder.display()))
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|error| {
                Failure::checkpoint(format!("cannot read {}: {error}", folder.display()))
            })?
            .path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    match files.as_slice() {
        [] => Err(Failure::checkpoint(format!(
            "no checkpoint file in {}",
            folder.display()
        ))),
        [only] => Ok(only.clone()),
        many => ["best.json", "last.json"]
            .iter()
            .find_map(|name| many.iter().find(|path| path.ends_with(name)).cloned())
            .ok_or_else(|| {
                Failure::checkpoint(format!(
                    "{} holds {} files and neither best.json nor last.json",
                    folder.display(),
                    many.len()
                ))
            }),
    }
}

pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.partial"));
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|error| Failure::io(format!("cannot write {}: {error}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::ClassInfo;

    fn checkpoint() -> Checkpoint {
        let classes = vec![
            ClassInfo {
                id: 0,
                name: "a".into(),
            },
            ClassInfo {
                id: 7,
                name: "b".into(),
            },
        ];
        let mut model = SoftmaxModel::new(classes, 4, 3);
        model.weights[5] = 0.1 + 0.2;
        model.bias[1] = -1.0 / 3.0;
        Checkpoint {
            format: FORMAT.into(),
            model_name: "softmax-regression".into(),
            job_id: "j".into(),
            epoch: 2,
            metrics: BTreeMap::from([("val_accuracy".to_string(), 0.5)]),
            model,
        }
    }

    #[test]
    fn round_trips_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("best.json");
        checkpoint().save(&path).expect("save");
        assert_eq!(Checkpoint::load(&path).expect("load"), checkpoint());
        assert!(!dir.path().join(".best.json.partial").exists());
    }

    #[test]
    fn rejects_foreign_or_broken_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.json");
        std::fs::write(&path, b"{}").expect("write");
        assert_eq!(
            Checkpoint::load(&path).expect_err("foreign").error_type,
            "checkpoint"
        );
        let mut other = checkpoint();
        other.format = "something-else".into();
        other.save(&path).expect("save");
        assert!(
            Checkpoint::load(&path)
                .expect_err("format")
                .message
                .contains("format")
        );
    }

    #[test]
    fn finds_the_input_checkpoint() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(find_input_checkpoint(dir.path()).is_err());
        let folder = dir.path().join("checkpoint");
        std::fs::create_dir_all(&folder).expect("mkdir");
        assert!(find_input_checkpoint(dir.path()).is_err());
        std::fs::write(folder.join("weights.bin"), b"").expect("write");
        assert!(
            find_input_checkpoint(dir.path())
                .expect("single")
                .ends_with("weights.bin")
        );
        std::fs::write(folder.join("last.json"), b"").expect("write");
        assert!(
            find_input_checkpoint(dir.path())
                .expect("last")
                .ends_with("last.json")
        );
        std::fs::write(folder.join("best.json"), b"").expect("write");
        assert!(
            find_input_checkpoint(dir.path())
                .expect("best")
                .ends_with("best.json")
        );
    }
}
