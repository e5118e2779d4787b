//! The Open Inference Protocol (KServe v2, Triton's HTTP/REST API) for an image model: an
//! inference request's JSON, with tensors inline or in the binary tensor data extension
//! (the JSON first, `Inference-Header-Content-Length` bytes long, then each binary tensor in
//! order), read into model inputs; the probabilities written back the same way. Model
//! metadata as the protocol describes it. The HTTP routes live in the API; this is the
//! codec, so what `tritonclient` sends is checked here, field by field.

use crate::Error;
use crate::metadata::{ExportMetadata, Task};
use crate::predictions::BOX_VALUES;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The datatype of the model's input and output: the runtime computes in f32.
const FP32: &str = "FP32";

/// Images in one request at most: a request is one batch, and the batcher's batches are
/// what bounds a replica's memory.
pub const MAX_REQUEST_BATCH: usize = 64;

#[derive(Debug, Deserialize)]
struct RequestDocument {
    id: Option<String>,
    #[serde(default)]
    parameters: Map<String, Value>,
    inputs: Vec<InputDocument>,
    #[serde(default)]
    outputs: Vec<OutputDocument>,
}

#[derive(Debug, Deserialize)]
struct InputDocument {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    data: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct OutputDocument {
    name: String,
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// A checked inference request: its images as model inputs, and how to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct InferRequest {
    pub id: Option<String>,
    pub inputs: Vec<Vec<f32>>,
    /// Answer the output as binary tensor data rather than JSON numbers.
    pub binary_output: bool,
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Request {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Reads a request for the model `metadata` describes. `json_length` is the
/// `Inference-Header-Content-Length` header: without it the whole body is the JSON.
pub fn read_infer_request(
    body: &[u8],
    json_length: Option<usize>,
    metadata: &ExportMetadata,
) -> Result<InferRequest, Error> {
    let json_length = json_length.unwrap_or(body.len());
    if json_length > body.len() {
        return Err(refuse(
            "Inference-Header-Content-Length",
            format!("is {json_length} but the body has {} bytes", body.len()),
        ));
    }
    let (json, mut binary) = body.split_at(json_length);
    let document: RequestDocument = serde_json::from_slice(json)
        .map_err(|e| refuse("body", format!("is not an inference request: {e}")))?;
    let [input] = &document.inputs[..] else {
        return Err(refuse(
            "inputs",
            format!(
                "must hold one tensor, `{}`, not {}",
                metadata.input_name,
                document.inputs.len()
            ),
        ));
    };
    let field = |name: &str| format!("inputs[0].{name}");
    if input.name != metadata.input_name {
        return Err(refuse(
            field("name"),
            format!("must be `{}`, not `{}`", metadata.input_name, input.name),
        ));
    }
    if input.datatype != FP32 {
        return Err(refuse(
            field("datatype"),
            format!("must be {FP32}, not {}", input.datatype),
        ));
    }
    let item = metadata.item_shape();
    let batch = batch_size(&input.shape, &item).ok_or_else(|| {
        refuse(
            field("shape"),
            format!(
                "must be [n, {}, {}, {}] with n from 1 to {MAX_REQUEST_BATCH}, not {:?}",
                item[0], item[1], item[2], input.shape
            ),
        )
    })?;
    let values = match binary_size(&input.parameters)
        .map_err(|reason| refuse(field("parameters.binary_data_size"), reason))?
    {
        Some(size) => {
            if size > binary.len() {
                return Err(refuse(
                    field("parameters.binary_data_size"),
                    format!("is {size} but only {} bytes follow the JSON", binary.len()),
                ));
            }
            let (tensor, rest) = binary.split_at(size);
            binary = rest;
            if tensor.len() % 4 != 0 {
                return Err(refuse(
                    field("parameters.binary_data_size"),
                    format!("{size} bytes are no whole number of {FP32} values"),
                ));
            }
            tensor
                .chunks_exact(4)
                .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
                .collect()
        }
        None => {
            let data = input.data.as_ref().ok_or_else(|| {
                refuse(
                    field("data"),
                    "is required (or binary_data_size with binary data)",
                )
            })?;
            let mut values = Vec::new();
            flatten(data, &mut values).map_err(|reason| refuse(field("data"), reason))?;
            values
        }
    };
    if !binary.is_empty() {
        return Err(refuse(
            "body",
            format!("has {} bytes after the tensors it declares", binary.len()),
        ));
    }
    let expected = batch * metadata.input_len();
    if values.len() != expected {
        return Err(refuse(
            field("data"),
            format!(
                "has {} values; the shape {:?} takes {expected}",
                values.len(),
                input.shape
            ),
        ));
    }
    if values.iter().any(|value| !value.is_finite()) {
        return Err(refuse(field("data"), "must hold finite numbers"));
    }
    let binary_output = binary_output(&document, metadata)?;
    Ok(InferRequest {
        id: document.id,
        inputs: values
            .chunks(metadata.input_len())
            .map(<[f32]>::to_vec)
            .collect(),
        binary_output,
    })
}

/// `n` when `shape` is `[n, …item]` with a usable `n`.
fn batch_size(shape: &[i64], item: &[usize; 3]) -> Option<usize> {
    let (first, rest) = shape.split_first()?;
    let same_item = rest.len() == 3
        && rest
            .iter()
            .zip(item)
            .all(|(a, b)| usize::try_from(*a).ok() == Some(*b));
    let batch = usize::try_from(*first).ok()?;
    (same_item && (1..=MAX_REQUEST_BATCH).contains(&batch)).then_some(batch)
}

fn binary_size(parameters: &Map<String, Value>) -> Result<Option<usize>, String> {
    match parameters.get("binary_data_size") {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|size| usize::try_from(size).ok())
            .map(Some)
            .ok_or_else(|| format!("must be a byte count, not {value}")),
    }
}

/// JSON tensor data, flat or nested row-major, into numbers.
fn flatten(data: &Value, into: &mut Vec<f32>) -> Result<(), String> {
    match data {
        Value::Array(items) => items.iter().try_for_each(|item| flatten(item, into)),
        Value::Number(number) => {
            into.push(number.as_f64().map(|n| n as f32).unwrap_or(f32::NAN));
            Ok(())
        }
        other => Err(format!("must hold numbers, not {other}")),
    }
}

/// Binary when the requested output asks for it (`binary_data`), or the request does for
/// all (`binary_data_output`); JSON otherwise. An output other than the model's is refused.
fn binary_output(document: &RequestDocument, metadata: &ExportMetadata) -> Result<bool, Error> {
    let flag =
        |parameters: &Map<String, Value>, name: &str, field: String| match parameters.get(name) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(other) => Err(refuse(field, format!("must be true or false, not {other}"))),
        };
    let all = flag(
        &document.parameters,
        "binary_data_output",
        "parameters.binary_data_output".into(),
    )?
    .unwrap_or(false);
    match &document.outputs[..] {
        [] => Ok(all),
        [output] if output.name == metadata.output_name => Ok(flag(
            &output.parameters,
            "binary_data",
            "outputs[0].parameters.binary_data".into(),
        )?
        .unwrap_or(all)),
        [output] => Err(refuse(
            "outputs[0].name",
            format!("must be `{}`, not `{}`", metadata.output_name, output.name),
        )),
        _ => Err(refuse(
            "outputs",
            format!("may name one output, `{}`", metadata.output_name),
        )),
    }
}

/// An answer: the body, and the `Inference-Header-Content-Length` to send when the output
/// is binary.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedResponse {
    pub body: Vec<u8>,
    pub json_length: Option<usize>,
}

/// The response to `request`: the probabilities of each input, `[n, classes]`, or its
/// boxes, `[n, K, 6]`.
pub fn write_infer_response(
    model_name: &str,
    request: &InferRequest,
    rows: &[Vec<f32>],
    metadata: &ExportMetadata,
) -> EncodedResponse {
    let values: Vec<f32> = rows.concat();
    let shape = match metadata.task {
        Task::Classification => vec![rows.len(), metadata.classes.len()],
        Task::Detection => {
            let row = rows.first().map_or(0, Vec::len);
            vec![rows.len(), row / BOX_VALUES, BOX_VALUES]
        }
    };
    let mut output = json!({
        "name": metadata.output_name,
        "datatype": FP32,
        "shape": shape,
    });
    let binary: Vec<u8> = if request.binary_output {
        output["parameters"] = json!({ "binary_data_size": values.len() * 4 });
        values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect()
    } else {
        output["data"] = json!(values);
        Vec::new()
    };
    let mut document = json!({
        "model_name": model_name,
        "model_version": "1",
        "outputs": [output],
    });
    if let Some(id) = &request.id {
        document["id"] = json!(id);
    }
    let mut body = document.to_string().into_bytes();
    let json_length = request.binary_output.then_some(body.len());
    body.extend(binary);
    EncodedResponse { body, json_length }
}

/// `GET v2/models/{name}`: the model's one input and one output, the batch dimension -1
/// (and a detector's number of boxes, which the metadata does not say).
pub fn model_metadata(model_name: &str, metadata: &ExportMetadata) -> Value {
    let [a, b, c] = metadata.item_shape();
    let output_shape = match metadata.task {
        Task::Classification => json!([-1, metadata.classes.len()]),
        Task::Detection => json!([-1, -1, BOX_VALUES]),
    };
    json!({
        "name": model_name,
        "versions": ["1"],
        "platform": "onnx",
        "inputs": [{ "name": metadata.input_name, "datatype": FP32, "shape": [-1, a, b, c] }],
        "outputs": [{
            "name": metadata.output_name,
            "datatype": FP32,
            "shape": output_shape,
        }],
    })
}
