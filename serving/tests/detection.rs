//! Detection models: an end-to-end detector's boxes (`[N, K, 6]` in the input's pixels)
//! answered in the original image's pixels, stretched or letterboxed, above the score
//! threshold, best first; a detector whose output is not boxes, or whose boxes name a class
//! the export does not list, refused with the reason; the Open Inference Protocol's shapes.

#![expect(clippy::unwrap_used, reason = "tests")]

#[allow(
    dead_code,
    reason = "each test binary uses a part of the shared support"
)]
mod support;

use image::ImageFormat;
use keynet_serving::oip::{self, InferRequest};
use keynet_serving::{BoxPrediction, Error, OnnxModel, Predictions};
use keynet_testkit::models::{detector, detector_metadata};
use serde_json::json;
use support::{encoded, export_of, picture, reference_model};

const SIDE: i64 = 32;

/// A person box scoring 0.9, a car box scoring 0.1 and an unused row.
const BOXES: [[f32; 6]; 3] = [
    [8.0, 4.0, 24.0, 20.0, 0.9, 1.0],
    [0.0, 0.0, 16.0, 16.0, 0.1, 0.0],
    [0.0; 6],
];

fn served(boxes: &[[f32; 6]], fit: &str, threshold: f32) -> OnnxModel {
    OnnxModel::load(
        &detector(SIDE, boxes),
        &detector_metadata(SIDE, fit, threshold),
    )
    .unwrap()
}

/// What the model answers for a `width`×`height` picture, at most `limit` boxes.
fn boxes_for(model: &OnnxModel, width: u32, height: u32, limit: usize) -> Vec<BoxPrediction> {
    let image = encoded(&picture(width, height, 1), ImageFormat::Png);
    let prepared = model.metadata().prepare(&image).unwrap();
    assert_eq!(
        (prepared.frame.width, prepared.frame.height),
        (width, height)
    );
    let rows = model.run(&[prepared.input]).unwrap();
    match model
        .metadata()
        .predictions(&rows[0], &prepared.frame, limit)
        .unwrap()
    {
        Predictions::Boxes(boxes) => boxes,
        Predictions::Classes(classes) => panic!("a detector answered classes: {classes:?}"),
    }
}

#[test]
fn stretched_boxes_are_scaled_back_to_the_images_pixels() {
    let model = served(&BOXES, "stretch", 0.25);
    // 64×128 stretched to 32×32: x halved, y quartered.
    let boxes = boxes_for(&model, 64, 128, 100);
    assert_eq!(
        boxes,
        [BoxPrediction {
            class_id: 7,
            class_name: "person".into(),
            score: 0.9,
            bbox: [16.0, 16.0, 32.0, 64.0],
        }]
    );
    assert_eq!(
        serde_json::to_value(&boxes).unwrap(),
        json!([{"class_id": 7, "class_name": "person", "score": 0.9f32, "bbox": [16.0, 16.0, 32.0, 64.0]}])
    );
}

#[test]
fn letterboxed_boxes_lose_the_border_and_keep_the_aspect() {
    let model = served(&BOXES, "letterbox", 0.25);
    // 64×128 into 32×32: scaled by 1/4 to 16×32, 8 columns of border left and right.
    let boxes = boxes_for(&model, 64, 128, 100);
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0].bbox, [0.0, 16.0, 64.0, 64.0]);

    // The border is YOLO's grey; the picture fills the middle.
    let image = encoded(&picture(64, 128, 1), ImageFormat::Png);
    let input = model.metadata().prepare(&image).unwrap().input;
    let grey = |value: f32| (value - 114.0 / 255.0).abs() < 1e-6;
    let at = |channel: usize, y: usize, x: usize| input[(channel * 32 + y) * 32 + x];
    for channel in 0..3 {
        for y in [0, 15, 31] {
            for x in [0, 7, 24, 31] {
                assert!(grey(at(channel, y, x)), "({channel}, {y}, {x})");
            }
        }
    }
    assert!((8..24).any(|x| !grey(at(0, 16, x))));
}

#[test]
fn boxes_come_best_first_above_the_threshold_at_most_the_limit() {
    let boxes = [
        [0.0, 0.0, 4.0, 4.0, 0.5, 0.0],
        [1.0, 1.0, 2.0, 2.0, 0.05, 1.0],
        [2.0, 2.0, 8.0, 8.0, 0.8, 1.0],
        [0.0; 6],
    ];
    let model = served(&boxes, "stretch", 0.1);
    let found = boxes_for(&model, 32, 32, 100);
    let scores: Vec<f32> = found.iter().map(|found| found.score).collect();
    assert_eq!(scores, [0.8, 0.5]);
    assert_eq!(found[0].class_name, "person");
    assert_eq!(found[1].class_name, "car");
    assert_eq!(boxes_for(&model, 32, 32, 1).len(), 1);
    // A threshold of 0 still drops the unused (zero-score) rows.
    let everything = served(&boxes, "stretch", 0.0);
    assert_eq!(boxes_for(&everything, 32, 32, 100).len(), 3);
}

#[test]
fn a_box_of_a_class_the_export_does_not_list_fails_the_request() {
    let model = served(&[[0.0, 0.0, 4.0, 4.0, 0.9, 5.0]], "stretch", 0.25);
    let image = encoded(&picture(32, 32, 1), ImageFormat::Png);
    let prepared = model.metadata().prepare(&image).unwrap();
    let rows = model.run(&[prepared.input]).unwrap();
    match model.metadata().predictions(&rows[0], &prepared.frame, 10) {
        Err(Error::Run(reason)) => assert!(reason.contains("class index 5"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_model_whose_output_does_not_fit_its_task_is_refused_at_load() {
    // A classifier declared a detector: its output is [N, 4], not boxes.
    let (onnx, mut metadata) = export_of(&reference_model());
    metadata["task"] = json!("detection");
    match OnnxModel::load(&onnx, &metadata) {
        Err(Error::Model(reason)) => assert!(reason.contains("x1, y1, x2, y2"), "{reason}"),
        other => panic!("{:?}", other.err()),
    }
    // A detector declared a classifier: 18 values per image for 2 classes.
    let mut metadata = detector_metadata(SIDE, "stretch", 0.25);
    metadata["task"] = json!("classification");
    match OnnxModel::load(&detector(SIDE, &BOXES), &metadata) {
        Err(Error::Metadata { field, .. }) => assert_eq!(field, "classes"),
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn the_open_inference_protocol_answers_boxes_as_n_by_k_by_6() {
    let model = served(&BOXES, "stretch", 0.25);
    let metadata = model.metadata();
    let described = oip::model_metadata("d", metadata);
    assert_eq!(described["outputs"][0]["shape"], json!([-1, -1, 6]));
    assert_eq!(described["inputs"][0]["shape"], json!([-1, 3, SIDE, SIDE]));
    let image = encoded(&picture(40, 20, 2), ImageFormat::Png);
    let input = metadata.prepare(&image).unwrap().input;
    let rows = model.run(&[input.clone(), input]).unwrap();
    assert_eq!(rows[0].len(), BOXES.len() * 6);
    let request = InferRequest {
        id: None,
        inputs: Vec::new(),
        binary_output: false,
    };
    let answer = oip::write_infer_response("d", &request, &rows, metadata);
    let document: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let output = &document["outputs"][0];
    assert_eq!(output["shape"], json!([2, 3, 6]));
    assert_eq!(output["data"].as_array().unwrap().len(), 36);
    assert_eq!(output["data"][4], json!(0.9f32));
}
