//! Pickled model files: loading a pickle runs whatever code it names, so a reviewer must
//! look at any the image ships. Recognised by extension and characterised by magic bytes:
//! a pickle protocol header, or a zip (PyTorch's format since 1.6) whose first member is
//! `<archive>/data.pkl`. `.bin` files (`pytorch_model.bin`) count only when the magic says so.

use super::finding;
use crate::finding::{Finding, FindingKind, Severity};

/// Bytes read: the pickle header, or a zip local-file header and its name.
pub(super) const PREFIX: u64 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    /// The extension names a pickle-based format; reported whatever the bytes are.
    Pickle,
    /// Reported only when the bytes are a pickle.
    MaybePickle,
}

pub(super) fn expect(extension: &str) -> Option<Expect> {
    let extension = extension.to_ascii_lowercase();
    match extension.as_str() {
        "pkl" | "pickle" | "pt" | "pth" | "joblib" | "ckpt" => Some(Expect::Pickle),
        "bin" => Some(Expect::MaybePickle),
        _ => None,
    }
}

/// What the first bytes say, when they say pickle.
fn magic(content: &[u8]) -> Option<String> {
    // PROTO opcode (0x80) then protocol 2 to 5.
    if let [0x80, protocol @ 2..=5, ..] = content {
        return Some(format!("a pickle (protocol {protocol})"));
    }
    // Zip local file header: signature, then the name length at 26 and the name at 30.
    if content.len() >= 30 && content.starts_with(b"PK\x03\x04") {
        let name_len = usize::from(u16::from_le_bytes([content[26], content[27]]));
        let name = content.get(30..30 + name_len)?;
        if name == b"data.pkl" || name.ends_with(b"/data.pkl") {
            return Some(format!(
                "a PyTorch zip archive holding {}",
                String::from_utf8_lossy(name)
            ));
        }
    }
    None
}

pub(super) fn inspect(path: &str, expect: Expect, content: &[u8]) -> Option<Finding> {
    let what = match (magic(content), expect) {
        (Some(what), _) => what,
        (None, Expect::Pickle) => {
            "named as a pickle-based format (its bytes are compressed or not recognised)".to_owned()
        }
        (None, Expect::MaybePickle) => return None,
    };
    Some(finding(
        FindingKind::Review,
        "review.pickle",
        Severity::Medium,
        "Pickled model file",
        format!(
            "{path} is {what}: loading it runs any code it names. Review where it comes from, \
             or ship weights as safetensors."
        ),
        Some(path),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(
            magic(b"\x80\x04\x95\x00").as_deref(),
            Some("a pickle (protocol 4)")
        );
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend([0; 22]);
        zip.extend(16u16.to_le_bytes());
        zip.extend([0, 0]);
        zip.extend(b"archive/data.pkl");
        assert_eq!(
            magic(&zip).as_deref(),
            Some("a PyTorch zip archive holding archive/data.pkl")
        );
        assert_eq!(magic(b"\x89PNG\r\n"), None);
    }

    #[test]
    fn bin_files_only_by_magic() {
        assert!(inspect("/m/pytorch_model.bin", Expect::MaybePickle, b"\x80\x02}q").is_some());
        assert!(inspect("/m/firmware.bin", Expect::MaybePickle, b"\x7fELF").is_none());
        assert!(inspect("/m/model.joblib", Expect::Pickle, b"ZF\x00").is_some());
    }
}
