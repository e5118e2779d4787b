//! What an ONNX export tells the runtime: the `metadata` a trainer reports with its
//! `export_completed` event (docs/trainer-contract.md, "Serving an ONNX export"). Read field by
//! field, so a refusal names the field the trainer author has to fix.

use crate::Error;
use crate::prepare::Prepared;
use image::imageops::FilterType;
use serde::Serialize;
use serde_json::{Map, Value};

/// The largest side the runtime resizes images to: far above what vision models take, low
/// enough that one input tensor stays small.
const MAX_SIDE: usize = 4096;

/// Detections scoring below this are not answered unless the metadata says otherwise
/// (Ultralytics' default confidence).
const DEFAULT_SCORE_THRESHOLD: f32 = 0.25;

#[derive(Debug, Clone, PartialEq)]
pub struct ExportMetadata {
    /// What the output means: class scores, or boxes.
    pub task: Task,
    pub input_name: String,
    pub output_name: String,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub layout: Layout,
    /// Pixel values 0..=255 are mapped linearly onto this range…
    pub input_range: [f32; 2],
    /// …then, per channel, `(value - mean) / std` (ImageNet-style normalisation).
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub resize: ResizeFilter,
    /// How the image's aspect meets the input's.
    pub fit: Fit,
    /// Classification: whether the scores still need a softmax.
    pub output: OutputKind,
    /// Detection: boxes scoring below this are dropped.
    pub score_threshold: f32,
    /// The output's classes, in the order of its scores (classification) or of its class
    /// indices (detection).
    pub classes: Vec<ClassLabel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// The output is `[N, classes]`: one score per class.
    Classification,
    /// The output is `[N, K, 6]`: `K` boxes per image, each `x1, y1, x2, y2, score, class`
    /// in the input's pixels, non-maximum suppression already applied, unused rows scoring
    /// 0 (what end-to-end detector exports give, e.g. Ultralytics' with `nms=True`).
    Detection,
}

impl Task {
    /// The name the trainer contract and `job.inferenceResults` use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Classification => "classification",
            Self::Detection => "detection",
        }
    }
}

/// How an image becomes the input's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Resized to exactly the input's size; the aspect is not kept.
    Stretch,
    /// Scaled to fit inside the input keeping its aspect, centred, the rest filled with grey
    /// 114 (as YOLO models are trained and exported).
    Letterbox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[N, C, H, W]`, as PyTorch exports.
    Nchw,
    /// `[N, H, W, C]`, as TensorFlow exports.
    Nhwc,
}

/// How an image is resized to the input's size (exactly, without keeping its aspect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeFilter {
    Nearest,
    Bilinear,
    Bicubic,
    Lanczos3,
}

impl ResizeFilter {
    pub(crate) fn filter_type(self) -> FilterType {
        match self {
            Self::Nearest => FilterType::Nearest,
            Self::Bilinear => FilterType::Triangle,
            Self::Bicubic => FilterType::CatmullRom,
            Self::Lanczos3 => FilterType::Lanczos3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Scores that already sum to 1.
    Probabilities,
    /// Raw scores: the runtime applies softmax.
    Logits,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassLabel {
    pub id: u32,
    pub name: String,
}

impl ExportMetadata {
    /// Reads and checks the metadata; the error names the first field that cannot be used.
    pub fn parse(metadata: &Value) -> Result<Self, Error> {
        let fields = metadata
            .as_object()
            .ok_or_else(|| Error::metadata("metadata", "must be a JSON object"))?;
        let layout = choice(
            fields,
            "layout",
            Layout::Nchw,
            &[("NCHW", Layout::Nchw), ("NHWC", Layout::Nhwc)],
        )?;
        let (channels, height, width) = input_shape(fields, layout)?;
        let input_range = input_range(fields)?;
        let mean = per_channel(fields, "mean", channels, 0.0)?;
        let std = per_channel(fields, "std", channels, 1.0)?;
        if let Some(zero) = std.iter().find(|value| **value <= 0.0) {
            return Err(Error::metadata(
                "std",
                format!("must be positive, not {zero}"),
            ));
        }
        let resize = choice(
            fields,
            "resize",
            ResizeFilter::Bilinear,
            &[
                ("nearest", ResizeFilter::Nearest),
                ("bilinear", ResizeFilter::Bilinear),
                ("bicubic", ResizeFilter::Bicubic),
                ("lanczos3", ResizeFilter::Lanczos3),
            ],
        )?;
        let fit = choice(
            fields,
            "fit",
            Fit::Stretch,
            &[("stretch", Fit::Stretch), ("letterbox", Fit::Letterbox)],
        )?;
        let task = choice(
            fields,
            "task",
            Task::Classification,
            &[
                ("classification", Task::Classification),
                ("detection", Task::Detection),
            ],
        )?;
        let output = choice(
            fields,
            "output",
            OutputKind::Probabilities,
            &[
                ("probabilities", OutputKind::Probabilities),
                ("logits", OutputKind::Logits),
            ],
        )?;
        Ok(Self {
            task,
            input_name: required_str(fields, "input_name")?.to_string(),
            output_name: required_str(fields, "output_name")?.to_string(),
            channels,
            height,
            width,
            layout,
            input_range,
            mean,
            std,
            resize,
            fit,
            output,
            score_threshold: score_threshold(fields)?,
            classes: classes(fields)?,
        })
    }

    /// One image's bytes as the model's input, and where the input's pixels lie in it.
    pub fn prepare(&self, image: &[u8]) -> Result<Prepared, Error> {
        crate::prepare::image_to_input(image, self)
    }

    /// Values in one input (one image).
    pub fn input_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The shape of one input, without the batch dimension.
    pub(crate) fn item_shape(&self) -> [usize; 3] {
        match self.layout {
            Layout::Nchw => [self.channels, self.height, self.width],
            Layout::Nhwc => [self.height, self.width, self.channels],
        }
    }
}

fn required_str<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a str, Error> {
    optional_str(fields, name)?
        .filter(|value| !value.is_empty())
        .ok_or_else(|| Error::metadata(name, "is required (a non-empty string)"))
}

fn optional_str<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Error> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(Error::metadata(name, "must be a string")),
    }
}

/// The value of the field `name` among `choices`, `default` when it is absent.
fn choice<T: Copy>(
    fields: &Map<String, Value>,
    name: &str,
    default: T,
    choices: &[(&str, T)],
) -> Result<T, Error> {
    let Some(given) = optional_str(fields, name)? else {
        return Ok(default);
    };
    if let Some((_, value)) = choices.iter().find(|(choice, _)| *choice == given) {
        return Ok(*value);
    }
    let names: Vec<&str> = choices.iter().map(|(choice, _)| *choice).collect();
    let (last, rest) = names.split_last().unwrap_or((&"", &[]));
    Err(Error::metadata(
        name,
        format!("must be {} or {last}, not {given:?}", rest.join(", ")),
    ))
}

/// `[-1 or 1, C, H, W]` (or `[…, H, W, C]` for NHWC): the batch dimension free (or 1, and
/// then the runtime still runs one image at a time through a free one), the rest fixed.
fn input_shape(
    fields: &Map<String, Value>,
    layout: Layout,
) -> Result<(usize, usize, usize), Error> {
    let refuse = |reason: &str| Error::metadata("input_shape", reason);
    let dims: Vec<i64> = fields
        .get("input_shape")
        .and_then(Value::as_array)
        .ok_or_else(|| refuse("is required: [-1, channels, height, width]"))?
        .iter()
        .map(|dim| dim.as_i64().ok_or_else(|| refuse("must hold integers")))
        .collect::<Result<_, _>>()?;
    let [batch, a, b, c] = dims[..] else {
        return Err(refuse("must have 4 dimensions: batch, then the image's"));
    };
    if batch != -1 && batch != 1 {
        return Err(refuse("must start with -1 (any batch size) or 1"));
    }
    let (channels, height, width) = match layout {
        Layout::Nchw => (a, b, c),
        Layout::Nhwc => (c, a, b),
    };
    if channels != 1 && channels != 3 {
        return Err(refuse(&format!(
            "must have 1 or 3 channels, not {channels}"
        )));
    }
    let side = |value: i64| {
        usize::try_from(value)
            .ok()
            .filter(|side| (1..=MAX_SIDE).contains(side))
            .ok_or_else(|| {
                refuse(&format!(
                    "must have sides from 1 to {MAX_SIDE}, not {value}"
                ))
            })
    };
    Ok((channels as usize, side(height)?, side(width)?))
}

fn numbers(fields: &Map<String, Value>, name: &str) -> Result<Option<Vec<f32>>, Error> {
    let Some(value) = fields.get(name).filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    let values = value
        .as_array()
        .ok_or_else(|| Error::metadata(name, "must be a list of numbers"))?
        .iter()
        .map(|number| {
            number
                .as_f64()
                .map(|number| number as f32)
                .filter(|number| number.is_finite())
                .ok_or_else(|| Error::metadata(name, "must hold finite numbers"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(values))
}

fn score_threshold(fields: &Map<String, Value>) -> Result<f32, Error> {
    const NAME: &str = "score_threshold";
    match fields.get(NAME) {
        None | Some(Value::Null) => Ok(DEFAULT_SCORE_THRESHOLD),
        Some(value) => value
            .as_f64()
            .map(|number| number as f32)
            .filter(|number| (0.0..=1.0).contains(number))
            .ok_or_else(|| {
                Error::metadata(NAME, format!("must be a number from 0 to 1, not {value}"))
            }),
    }
}

fn input_range(fields: &Map<String, Value>) -> Result<[f32; 2], Error> {
    match numbers(fields, "input_range")?.as_deref() {
        None => Ok([0.0, 1.0]),
        Some(&[low, high]) if low < high => Ok([low, high]),
        Some(_) => Err(Error::metadata(
            "input_range",
            "must be [low, high] with low < high, e.g. [0, 1] or [0, 255]",
        )),
    }
}

fn per_channel(
    fields: &Map<String, Value>,
    name: &str,
    channels: usize,
    default: f32,
) -> Result<Vec<f32>, Error> {
    match numbers(fields, name)? {
        None => Ok(vec![default; channels]),
        Some(values) if values.len() == channels => Ok(values),
        Some(values) => Err(Error::metadata(
            name,
            format!(
                "must have one value per channel ({channels}), not {}",
                values.len()
            ),
        )),
    }
}

fn classes(fields: &Map<String, Value>) -> Result<Vec<ClassLabel>, Error> {
    let refuse = |reason: &str| Error::metadata("classes", reason);
    let list = fields
        .get("classes")
        .and_then(Value::as_array)
        .filter(|list| !list.is_empty())
        .ok_or_else(|| {
            refuse("is required: the output's classes, [{\"id\", \"name\"}] in order")
        })?;
    list.iter()
        .map(|class| {
            let id = class
                .get("id")
                .and_then(Value::as_u64)
                .and_then(|id| u32::try_from(id).ok());
            let name = class.get("name").and_then(Value::as_str);
            match (id, name) {
                (Some(id), Some(name)) => Ok(ClassLabel {
                    id,
                    name: name.to_string(),
                }),
                _ => Err(refuse(
                    "must hold objects with an integer `id` and a string `name`",
                )),
            }
        })
        .collect()
}
