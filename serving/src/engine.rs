//! The engines that run ONNX models in a replica:
//!
//! - RTen (the default): pure Rust from crates.io, built in, needing nothing on the host.
//! - ONNX Runtime, when the operator installs it and names its shared library
//!   (`serving.onnxruntime_library`): the engine most serving stacks run (Triton's and
//!   KServe's ONNX backends), faster than RTen on convolutional networks on CPU
//!   (bench/README.md). It is loaded at start through the `ort` crate's `load-dynamic`
//!   mode, so nothing is downloaded at build or run time and a host without it builds and
//!   serves the same.

use crate::Error;
use ort::environment::Environment;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Clone)]
pub enum Engine {
    Rten,
    OnnxRuntime(Environment),
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Engine {
    /// ONNX Runtime from the shared library at `library` (`libonnxruntime.so`, 1.22 or
    /// newer). A process loads one library: asking again for the same one returns it, asking
    /// for another is refused; one that fails to load may be followed by another.
    pub fn onnxruntime(library: &Path) -> Result<Self, Error> {
        static LOADED: Mutex<Option<(PathBuf, Environment)>> = Mutex::new(None);
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((loaded_from, environment)) = &*loaded {
            if loaded_from != library {
                return Err(Error::Engine(format!(
                    "ONNX Runtime cannot be loaded from {}: it is already loaded from {} (one process loads one library)",
                    library.display(),
                    loaded_from.display()
                )));
            }
            return Ok(Self::OnnxRuntime(environment.clone()));
        }
        let refused = |reason: String| {
            Error::Engine(format!(
                "ONNX Runtime cannot be loaded from {}: {reason}",
                library.display()
            ))
        };
        let environment = ort::init_from(library)
            .map_err(|e| refused(e.to_string()))?
            .with_name("keynet-serving")
            .build()
            .map_err(|e| refused(e.to_string()))?;
        *loaded = Some((library.to_path_buf(), environment.clone()));
        Ok(Self::OnnxRuntime(environment))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Rten => "RTen",
            Self::OnnxRuntime(_) => "ONNX Runtime",
        }
    }
}
