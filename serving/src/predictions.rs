//! A model's output row for one image as the answer people read, in the shapes the
//! trainer's inference writes into `job.inferenceResults`: classification, the top classes
//! with their scores; detection, boxes in the original image's pixels with class and score.

use crate::Error;
use crate::metadata::{ExportMetadata, Task};
use crate::prepare::Frame;
use serde::Serialize;

/// Values per box in a detection output: `x1, y1, x2, y2, score, class`.
pub const BOX_VALUES: usize = 6;

/// One class of an image's top-k (`{class_id, class_name, score}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub class_id: u32,
    pub class_name: String,
    pub score: f32,
}

/// One detected object: `bbox` is `[x, y, width, height]` in the original image's pixels,
/// as the dataset's detection annotations (COCO) write boxes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoxPrediction {
    pub class_id: u32,
    pub class_name: String,
    pub score: f32,
    pub bbox: [f32; 4],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Predictions {
    Classes(Vec<Prediction>),
    Boxes(Vec<BoxPrediction>),
}

impl ExportMetadata {
    /// What the model's `row` for one image says, best first, at most `limit` of it: the
    /// top classes, or the boxes scoring at least the threshold.
    pub fn predictions(
        &self,
        row: &[f32],
        frame: &Frame,
        limit: usize,
    ) -> Result<Predictions, Error> {
        Ok(match self.task {
            Task::Classification => Predictions::Classes(self.top_k(row, limit)),
            Task::Detection => {
                let mut boxes = self.boxes(row, frame)?;
                boxes.truncate(limit);
                Predictions::Boxes(boxes)
            }
        })
    }

    /// The `k` most likely classes, most likely first; equal scores keep the classes'
    /// order, as the trainer's inference does.
    pub fn top_k(&self, probabilities: &[f32], k: usize) -> Vec<Prediction> {
        let mut ranked: Vec<usize> = (0..probabilities.len()).collect();
        ranked.sort_by(|a, b| probabilities[*b].total_cmp(&probabilities[*a]));
        ranked
            .into_iter()
            .take(k)
            .filter_map(|index| {
                let class = self.classes.get(index)?;
                Some(Prediction {
                    class_id: class.id,
                    class_name: class.name.clone(),
                    score: probabilities[index],
                })
            })
            .collect()
    }

    /// The boxes of a detection row scoring at least the threshold, best first. A box whose
    /// class index the metadata does not list is the model's fault, and refused as such.
    fn boxes(&self, row: &[f32], frame: &Frame) -> Result<Vec<BoxPrediction>, Error> {
        let mut boxes = Vec::new();
        for values in row.chunks_exact(BOX_VALUES) {
            let [x1, y1, x2, y2, score, class] = values else {
                continue;
            };
            let finite = [x1, y1, x2, y2].iter().all(|value| value.is_finite());
            if !(finite && *score >= self.score_threshold && *score > 0.0) {
                continue;
            }
            let label = (class.is_finite() && *class >= 0.0)
                .then(|| class.round() as usize)
                .and_then(|index| self.classes.get(index))
                .ok_or_else(|| {
                    Error::Run(format!(
                        "a box has class index {class}, but the export lists {} classes",
                        self.classes.len()
                    ))
                })?;
            let (left, top) = frame.to_original(x1.min(*x2), y1.min(*y2));
            let (right, bottom) = frame.to_original(x1.max(*x2), y1.max(*y2));
            boxes.push(BoxPrediction {
                class_id: label.id,
                class_name: label.name.clone(),
                score: *score,
                bbox: [left, top, right - left, bottom - top],
            });
        }
        boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(boxes)
    }
}
