//! The Open Inference Protocol codec: requests with tensors in JSON (flat or nested) and in
//! the binary tensor data extension, every part of a request the model cannot take refused
//! by its field, and the wire format checked against `tritonclient` itself (its request
//! bodies read here, our responses read by it).

#![expect(clippy::unwrap_used, reason = "tests")]

#[allow(
    dead_code,
    reason = "each test binary uses a part of the shared support"
)]
mod support;

use image::ImageFormat;
use keynet_serving::oip::{self, InferRequest};
use keynet_serving::{Error, ExportMetadata, OnnxModel};
use keynet_testkit::clients::python;
use serde_json::{Value, json};
use support::{encoded, export_of, picture, reference_model};

fn served() -> OnnxModel {
    let (onnx, metadata) = export_of(&reference_model());
    OnnxModel::load(&onnx, &metadata).unwrap()
}

fn images(model: &OnnxModel, count: u32) -> Vec<Vec<f32>> {
    (0..count)
        .map(|seed| {
            model
                .metadata()
                .prepare(&encoded(&picture(20, 20, seed), ImageFormat::Png))
                .unwrap()
                .input
        })
        .collect()
}

fn json_request(inputs: &[Vec<f32>], data: Value) -> Vec<u8> {
    json!({
        "id": "req-1",
        "inputs": [{
            "name": "images",
            "shape": [inputs.len(), 3, 16, 16],
            "datatype": "FP32",
            "data": data,
        }],
    })
    .to_string()
    .into_bytes()
}

fn binary_request(inputs: &[Vec<f32>]) -> (Vec<u8>, usize) {
    let tensor: Vec<u8> = inputs
        .concat()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let header = json!({
        "inputs": [{
            "name": "images",
            "shape": [inputs.len(), 3, 16, 16],
            "datatype": "FP32",
            "parameters": {"binary_data_size": tensor.len()},
        }],
        "outputs": [{"name": "probabilities", "parameters": {"binary_data": true}}],
    })
    .to_string()
    .into_bytes();
    let length = header.len();
    ([header, tensor].concat(), length)
}

#[test]
fn json_tensors_flat_or_nested_become_the_models_inputs() {
    let model = served();
    let inputs = images(&model, 2);
    let flat = json_request(&inputs, json!(inputs.concat()));
    let request = oip::read_infer_request(&flat, None, model.metadata()).unwrap();
    assert_eq!(request.id.as_deref(), Some("req-1"));
    assert!(!request.binary_output);
    // JSON numbers of f32 values come back as the same f32 values.
    assert_eq!(request.inputs, inputs);

    let nested: Vec<Value> = inputs
        .iter()
        .map(|input| json!(input.chunks(16).collect::<Vec<_>>()))
        .collect();
    let request = oip::read_infer_request(
        &json_request(&inputs, json!(nested)),
        None,
        model.metadata(),
    )
    .unwrap();
    assert_eq!(request.inputs, inputs);
}

#[test]
fn a_json_response_carries_the_probabilities_and_the_request_id() {
    let model = served();
    let inputs = images(&model, 2);
    let request = oip::read_infer_request(
        &json_request(&inputs, json!(inputs.concat())),
        None,
        model.metadata(),
    )
    .unwrap();
    let rows = model.run(&request.inputs).unwrap();
    let answer = oip::write_infer_response("pets", &request, &rows, model.metadata());
    assert_eq!(answer.json_length, None);
    let document: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(document["model_name"], "pets");
    assert_eq!(document["id"], "req-1");
    let output = &document["outputs"][0];
    assert_eq!(output["name"], "probabilities");
    assert_eq!(output["datatype"], "FP32");
    assert_eq!(output["shape"], json!([2, 4]));
    let data: Vec<f32> = serde_json::from_value(output["data"].clone()).unwrap();
    assert_eq!(data, rows.concat());
}

#[test]
fn binary_tensors_in_and_out() {
    let model = served();
    let inputs = images(&model, 3);
    let (body, length) = binary_request(&inputs);
    let request = oip::read_infer_request(&body, Some(length), model.metadata()).unwrap();
    assert_eq!(request.inputs, inputs);
    assert!(request.binary_output);
    let rows = model.run(&request.inputs).unwrap();
    let answer = oip::write_infer_response("pets", &request, &rows, model.metadata());
    let length = answer.json_length.unwrap();
    let document: Value = serde_json::from_slice(&answer.body[..length]).unwrap();
    assert_eq!(document["outputs"][0]["parameters"]["binary_data_size"], 48);
    let values: Vec<f32> = answer.body[length..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(values, rows.concat());
}

#[test]
fn a_request_the_model_cannot_take_is_refused_naming_the_field() {
    let model = served();
    let inputs = images(&model, 1);
    let good = json!({
        "inputs": [{"name": "images", "shape": [1, 3, 16, 16], "datatype": "FP32", "data": inputs.concat()}],
    });
    let with = |path: &str, value: Value| {
        let mut changed = good.clone();
        *changed.pointer_mut(path).unwrap() = value;
        changed.to_string().into_bytes()
    };
    let (binary, length) = binary_request(&inputs);
    let cases: Vec<(Vec<u8>, Option<usize>, &str)> = vec![
        (b"not json".to_vec(), None, "body"),
        (b"{}".to_vec(), None, "body"),
        (with("/inputs", json!([])), None, "inputs"),
        (
            with("/inputs/0/name", json!("pixels")),
            None,
            "inputs[0].name",
        ),
        (
            with("/inputs/0/datatype", json!("UINT8")),
            None,
            "inputs[0].datatype",
        ),
        (
            with("/inputs/0/shape", json!([1, 3, 32, 32])),
            None,
            "inputs[0].shape",
        ),
        (
            with("/inputs/0/shape", json!([0, 3, 16, 16])),
            None,
            "inputs[0].shape",
        ),
        (
            with("/inputs/0/shape", json!([65, 3, 16, 16])),
            None,
            "inputs[0].shape",
        ),
        (
            with("/inputs/0/shape", json!([2, 3, 16, 16])),
            None,
            "inputs[0].data",
        ),
        (
            with("/inputs/0/data", json!(["0.5"])),
            None,
            "inputs[0].data",
        ),
        (with("/inputs/0/data", Value::Null), None, "inputs[0].data"),
        (
            {
                let mut changed = good.clone();
                changed["outputs"] = json!([{"name": "logits"}]);
                changed.to_string().into_bytes()
            },
            None,
            "outputs[0].name",
        ),
        (
            binary.clone(),
            Some(binary.len() + 1),
            "Inference-Header-Content-Length",
        ),
        (
            binary[..binary.len() - 4].to_vec(),
            Some(length),
            "inputs[0].parameters.binary_data_size",
        ),
        ([binary.clone(), vec![0; 4]].concat(), Some(length), "body"),
        // Without the header, the binary tail makes the body no JSON.
        (binary.clone(), None, "body"),
    ];
    for (body, length, field) in cases {
        match oip::read_infer_request(&body, length, model.metadata()) {
            Err(Error::Request {
                field: named,
                reason,
            }) => assert_eq!(named, field, "{reason}"),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn model_metadata_describes_the_tensors() {
    let (_, metadata) = export_of(&reference_model());
    let metadata = ExportMetadata::parse(&metadata).unwrap();
    assert_eq!(
        oip::model_metadata("pets", &metadata),
        json!({
            "name": "pets",
            "versions": ["1"],
            "platform": "onnx",
            "inputs": [{"name": "images", "datatype": "FP32", "shape": [-1, 3, 16, 16]}],
            "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 4]}],
        })
    );
}

/// tritonclient builds its request bodies (binary and JSON inputs, binary and JSON outputs)
/// without a server; Keynet reads them, runs the model and answers; tritonclient parses the
/// answers, and its `as_numpy` gives the model's probabilities.
#[test]
fn tritonclient_requests_are_read_and_its_parser_reads_the_answers() {
    let model = served();
    let inputs = images(&model, 2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("inputs.json"),
        json!(inputs.concat()).to_string(),
    )
    .unwrap();
    python(
        r#"
import json, numpy as np, tritonclient.http as http
values = np.array(json.load(open("inputs.json")), dtype=np.float32).reshape(2, 3, 16, 16)
for binary in (True, False):
    tensor = http.InferInput("images", [2, 3, 16, 16], "FP32")
    tensor.set_data_from_numpy(values, binary_data=binary)
    outputs = [http.InferRequestedOutput("probabilities", binary_data=binary)]
    body, json_size = http.InferenceServerClient.generate_request_body(
        [tensor], outputs=outputs, request_id="tc-1")
    open(f"request-{binary}.bin", "wb").write(body if isinstance(body, bytes) else body.encode())
    open(f"request-{binary}.len", "w").write("" if json_size is None else str(json_size))
"#,
        &[],
        dir.path(),
    );
    let mut expected = Vec::new();
    for binary in [true, false] {
        let body =
            std::fs::read(dir.path().join(format!("request-{}.bin", py_bool(binary)))).unwrap();
        let length =
            std::fs::read_to_string(dir.path().join(format!("request-{}.len", py_bool(binary))))
                .unwrap();
        let length = (!length.is_empty()).then(|| length.parse().unwrap());
        let request: InferRequest =
            oip::read_infer_request(&body, length, model.metadata()).unwrap();
        assert_eq!(request.id.as_deref(), Some("tc-1"));
        assert_eq!(request.binary_output, binary);
        assert_eq!(request.inputs, inputs);
        let rows = model.run(&request.inputs).unwrap();
        expected = rows.concat();
        let answer = oip::write_infer_response("pets", &request, &rows, model.metadata());
        std::fs::write(
            dir.path().join(format!("response-{}.bin", py_bool(binary))),
            &answer.body,
        )
        .unwrap();
        let length = answer
            .json_length
            .map(|n| n.to_string())
            .unwrap_or_default();
        std::fs::write(
            dir.path().join(format!("response-{}.len", py_bool(binary))),
            length,
        )
        .unwrap();
    }
    let parsed = python(
        r#"
import json, tritonclient.http as http
out = {}
for binary in (True, False):
    body = open(f"response-{binary}.bin", "rb").read()
    length = open(f"response-{binary}.len").read()
    result = http.InferenceServerClient.parse_response_body(
        body, header_length=int(length) if length else None)
    array = result.as_numpy("probabilities")
    out[str(binary)] = {"shape": list(array.shape), "values": array.flatten().tolist(),
                        "id": result.get_response()["id"]}
print(json.dumps(out))
"#,
        &[],
        dir.path(),
    );
    let parsed: Value = serde_json::from_str(&parsed).unwrap();
    for binary in ["True", "False"] {
        assert_eq!(parsed[binary]["shape"], json!([2, 4]));
        assert_eq!(parsed[binary]["id"], "tc-1");
        let values: Vec<f32> = serde_json::from_value(parsed[binary]["values"].clone()).unwrap();
        assert_eq!(values, expected, "{binary}");
    }
}

fn py_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}
