//! The unpacked files as the dataset sees them: paths relative to the dataset's root,
//! which is the archive's root or, for zips made by "compress folder", its only folder.

use std::collections::BTreeMap;

use crate::archive::{ExtractedArchive, ExtractedFile};
use crate::image_check;
use crate::splits::Split;

#[derive(Debug)]
pub(crate) struct DatasetTree<'a> {
    /// Relative path → file, sorted.
    files: BTreeMap<&'a str, &'a ExtractedFile>,
}

/// Folder names that mean something at a dataset's root, so a single top folder with one
/// of these names is part of the layout, not a wrapper to strip.
const LAYOUT_FOLDERS: &[&str] = &["images", "labels", "annotations"];

impl<'a> DatasetTree<'a> {
    pub(crate) fn new(archive: &'a ExtractedArchive) -> Self {
        let prefix = wrapper_folder(archive).map(|folder| format!("{folder}/"));
        let files = archive
            .files
            .iter()
            .map(|file| {
                let relative = match &prefix {
                    Some(prefix) => file
                        .archive_path
                        .strip_prefix(prefix.as_str())
                        .unwrap_or(&file.archive_path),
                    None => file.archive_path.as_str(),
                };
                (relative, file)
            })
            .collect();
        Self { files }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Every file with its path relative to the dataset root, sorted by path.
    pub(crate) fn files(&self) -> impl Iterator<Item = (&'a str, &'a ExtractedFile)> + '_ {
        self.files.iter().map(|(path, file)| (*path, *file))
    }

    pub(crate) fn get(&self, relative: &str) -> Option<&'a ExtractedFile> {
        self.files.get(relative).copied()
    }

    /// The file at `relative`, with the path borrowed from the tree.
    pub(crate) fn entry(&self, relative: &str) -> Option<(&'a str, &'a ExtractedFile)> {
        self.files
            .get_key_value(relative)
            .map(|(path, file)| (*path, *file))
    }

    /// Files directly at the dataset root.
    pub(crate) fn root_files(&self) -> impl Iterator<Item = (&'a str, &'a ExtractedFile)> + '_ {
        self.files().filter(|(path, _)| !path.contains('/'))
    }

    /// Whether any file lies under `folder/` (`folder` relative, without trailing slash).
    pub(crate) fn has_folder(&self, folder: &str) -> bool {
        let prefix = format!("{folder}/");
        self.files
            .range(prefix.as_str()..)
            .next()
            .is_some_and(|(path, _)| path.starts_with(&prefix))
    }
}

/// The one folder that wraps everything, when stripping it is safe: it is not a layout
/// or split folder, and it holds more than a flat list of images (that would be a
/// single-class ImageFolder upload, where the folder name is the class).
fn wrapper_folder(archive: &ExtractedArchive) -> Option<&str> {
    let first = archive.files.first()?;
    let (folder, _) = first.archive_path.split_once('/')?;
    let all_inside = archive.files.iter().all(|file| {
        file.archive_path
            .split_once('/')
            .is_some_and(|(top, _)| top == folder)
    });
    if !all_inside
        || LAYOUT_FOLDERS.contains(&folder.to_ascii_lowercase().as_str())
        || Split::from_name(folder).is_some()
    {
        return None;
    }
    let holds_structure = archive.files.iter().any(|file| {
        let inner = &file.archive_path[folder.len() + 1..];
        inner.contains('/') || !image_check::has_image_extension(inner)
    });
    holds_structure.then_some(folder)
}

/// The split named by a folder on the way to `relative` (the file name itself excluded).
pub(crate) fn split_from_folders(relative: &str) -> Option<Split> {
    let (folders, _) = relative.rsplit_once('/')?;
    folders.split('/').find_map(Split::from_name)
}

/// The last path segment.
pub(crate) fn file_name_of(relative: &str) -> &str {
    relative.rsplit('/').next().unwrap_or(relative)
}
