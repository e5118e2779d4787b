//! Train/val/test assignment, in the seed's order of priority: a split given by the
//! annotations, else the upload's split folders, else a seeded ratio (stratified by class
//! for classification).

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::annotations::{DiceAnnotation, DiceAnnotations};
use crate::issues::ImportFailure;
use crate::model::TaskType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    /// Recognises a split by name, as annotation tools and folder layouts spell it:
    /// `train`, `training`, `val`, `valid`, `validation`, `test`, `testing`, also with a
    /// year suffix as COCO does (`train2017`).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        let name = name.trim_end_matches(|c: char| c.is_ascii_digit());
        match name {
            "train" | "training" => Some(Self::Train),
            "val" | "valid" | "validation" => Some(Self::Val),
            "test" | "testing" => Some(Self::Test),
            _ => None,
        }
    }
}

/// Ratios used for images no annotation or folder assigns, and the shuffle seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    pub train: f64,
    pub val: f64,
    pub test: f64,
    pub seed: u64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            train: 0.8,
            val: 0.1,
            test: 0.1,
            seed: 42,
        }
    }
}

impl SplitConfig {
    const SUM_TOLERANCE: f64 = 1e-6;

    /// Ratios must be finite, non-negative and add up to 1.
    pub fn validate(&self) -> Result<(), ImportFailure> {
        let ratios = [self.train, self.val, self.test];
        let sum: f64 = ratios.iter().sum();
        if ratios.iter().any(|r| !r.is_finite() || *r < 0.0)
            || (sum - 1.0).abs() > Self::SUM_TOLERANCE
        {
            return Err(ImportFailure::single(
                "",
                format!(
                    "split ratios must be non-negative and add up to 1; got train {}, val {}, test {}",
                    self.train, self.val, self.test
                ),
            ));
        }
        Ok(())
    }
}

/// Image ids per split: the content of `splits.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Splits {
    pub train: Vec<String>,
    pub val: Vec<String>,
    pub test: Vec<String>,
}

/// Where the split of the images came from: the highest-priority source that assigned at
/// least one image (the rest, if any, fell through to the next source).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitSource {
    Annotations,
    Folders,
    Ratio,
}

/// What is known about one image's split.
#[derive(Debug)]
pub(crate) struct SplitHints<'a> {
    pub image_id: &'a str,
    pub from_annotations: Option<Split>,
    pub from_folder: Option<Split>,
    /// For stratified ratio splits: the image's class (`None`: unlabelled, its own group).
    pub stratum: Option<u32>,
}

pub(crate) fn assign(images: &[SplitHints<'_>], config: &SplitConfig) -> (Splits, SplitSource) {
    let mut splits = Splits::default();
    let mut source = SplitSource::Ratio;
    let mut by_stratum: BTreeMap<Option<u32>, Vec<&str>> = BTreeMap::new();
    for image in images {
        let given = match (image.from_annotations, image.from_folder) {
            (Some(split), _) => {
                source = SplitSource::Annotations;
                Some(split)
            }
            (None, Some(split)) => {
                if source == SplitSource::Ratio {
                    source = SplitSource::Folders;
                }
                Some(split)
            }
            (None, None) => None,
        };
        match given {
            Some(split) => push(&mut splits, split, image.image_id),
            None => by_stratum
                .entry(image.stratum)
                .or_default()
                .push(image.image_id),
        }
    }

    // One generator over the strata in a fixed order: the same upload and seed always
    // give the same split.
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    for mut ids in by_stratum.into_values() {
        ids.sort_unstable();
        ids.shuffle(&mut rng);
        let [train, val, _] = counts(ids.len(), config);
        for (position, id) in ids.into_iter().enumerate() {
            let split = if position < train {
                Split::Train
            } else if position < train + val {
                Split::Val
            } else {
                Split::Test
            };
            push(&mut splits, split, id);
        }
    }
    for ids in [&mut splits.train, &mut splits.val, &mut splits.test] {
        ids.sort_unstable();
    }
    (splits, source)
}

/// Each image's class for stratified splits of a classification dataset: its lowest class
/// id (an image without labels has none and forms its own group).
pub(crate) fn strata(task: TaskType, annotations: &[DiceAnnotation]) -> HashMap<&str, u32> {
    let mut first_class: HashMap<&str, u32> = HashMap::new();
    if task != TaskType::Classification {
        return first_class;
    }
    for annotation in annotations {
        first_class
            .entry(annotation.image_id.as_str())
            .and_modify(|class| *class = (*class).min(annotation.class_id))
            .or_insert(annotation.class_id);
    }
    first_class
}

/// Divides a dataset again with another `config`: the images in `given` keep the split
/// they have in `current` (the upload chose it), every other image is assigned by the new
/// ratios and seed, with the same stratification as at import.
pub fn resplit(
    current: &Splits,
    given: &[String],
    task: TaskType,
    annotations: &DiceAnnotations,
    config: &SplitConfig,
) -> Splits {
    let given: HashSet<&str> = given.iter().map(String::as_str).collect();
    let strata = strata(task, &annotations.annotations);
    let listed = [
        (Split::Train, &current.train),
        (Split::Val, &current.val),
        (Split::Test, &current.test),
    ];
    let hints: Vec<SplitHints<'_>> = listed
        .iter()
        .flat_map(|(split, ids)| ids.iter().map(move |id| (*split, id.as_str())))
        .map(|(split, id)| SplitHints {
            image_id: id,
            from_annotations: given.contains(id).then_some(split),
            from_folder: None,
            stratum: strata.get(id).copied(),
        })
        .collect();
    assign(&hints, config).0
}

fn push(splits: &mut Splits, split: Split, id: &str) {
    let list = match split {
        Split::Train => &mut splits.train,
        Split::Val => &mut splits.val,
        Split::Test => &mut splits.test,
    };
    list.push(id.to_owned());
}

/// Images per split for a group of `n`: floors of the ideal shares, the remainder handed
/// out by largest fraction (ties to the earlier split), so the counts always add up to `n`.
fn counts(n: usize, config: &SplitConfig) -> [usize; 3] {
    let ratios = [config.train, config.val, config.test];
    if ratios.iter().all(|ratio| *ratio <= 0.0) {
        return [n, 0, 0];
    }
    let ideal = ratios.map(|ratio| ratio * n as f64);
    // Ratios are validated to be in [0, 1], so the floors fit in usize.
    let mut counts = ideal.map(|share| share.floor() as usize);
    let mut left = n.saturating_sub(counts.iter().sum());
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| {
        let fraction = |i: usize| ideal[i] - ideal[i].floor();
        fraction(b).total_cmp(&fraction(a)).then(a.cmp(&b))
    });
    for index in order.into_iter().cycle() {
        if left == 0 {
            break;
        }
        if ratios[index] > 0.0 {
            counts[index] += 1;
            left -= 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resplit_keeps_given_splits_and_redivides_the_rest() {
        let ids =
            |range: std::ops::Range<u32>| range.map(|i| format!("img{i:02}")).collect::<Vec<_>>();
        let current = Splits {
            train: ids(0..8),
            val: ids(8..9),
            test: ids(9..10),
        };
        let annotations = DiceAnnotations {
            classes: vec![],
            images: vec![],
            annotations: vec![],
        };
        // img09 was put in `test` by the upload; the rest came from the 80/10/10 ratio.
        let given = vec!["img09".to_string()];
        let half = SplitConfig {
            train: 0.5,
            val: 0.5,
            test: 0.0,
            seed: 3,
        };
        let again = resplit(&current, &given, TaskType::Detection, &annotations, &half);
        assert_eq!(again.test, ["img09"]);
        assert_eq!((again.train.len(), again.val.len()), (5, 4));
        // Deterministic for a seed.
        assert_eq!(
            again,
            resplit(&current, &given, TaskType::Detection, &annotations, &half)
        );
    }

    #[test]
    fn counts_always_add_up() {
        let config = SplitConfig::default();
        for n in 0..50 {
            let c = counts(n, &config);
            assert_eq!(c.iter().sum::<usize>(), n, "n = {n}");
        }
        assert_eq!(counts(10, &config), [8, 1, 1]);
        assert_eq!(counts(3, &config), [3, 0, 0]);
    }

    #[test]
    fn zero_ratio_split_gets_nothing() {
        let config = SplitConfig {
            train: 0.5,
            val: 0.5,
            test: 0.0,
            seed: 1,
        };
        for n in 0..20 {
            assert_eq!(counts(n, &config)[2], 0, "n = {n}");
        }
    }

    #[test]
    fn split_names() {
        assert_eq!(Split::from_name("train2017"), Some(Split::Train));
        assert_eq!(Split::from_name("Valid"), Some(Split::Val));
        assert_eq!(Split::from_name("testing"), Some(Split::Test));
        assert_eq!(Split::from_name("cats"), None);
    }
}
