//! A ResNet-18-shaped ONNX graph with random weights (batch normalisation folded away, as an
//! export for inference has it): the stem (7×7/2 convolution, 3×3/2 max pool), four stages of
//! two basic blocks (64, 128, 256, 512 channels, a 1×1/2 projection where the shape changes),
//! global average pooling and a 1,000-class classifier with softmax. 11.7 M parameters,
//! 1.8 GFLOPs per 224×224 image: the compute of a real vision model, without a download.

use keynet_reference_trainer::onnx::{
    self, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    ValueInfoProto,
};

pub const INPUT: &str = "images";
pub const OUTPUT: &str = "probabilities";
pub const SIDE: i64 = 224;
pub const CLASSES: i64 = 1000;

/// Reproducible pseudo-random weights (xorshift), He-scaled so activations stay finite.
struct Weights(u64);

impl Weights {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    fn tensor(&mut self, name: &str, dims: &[i64], fan_in: i64) -> TensorProto {
        let scale = (6.0 / fan_in as f32).sqrt();
        let count: i64 = dims.iter().product();
        let values: Vec<f32> = (0..count).map(|_| self.next() * scale).collect();
        onnx::float_initializer(name, dims, &values)
    }
}

struct Builder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    weights: Weights,
}

impl Builder {
    fn node(&mut self, op: &str, inputs: &[&str], attributes: Vec<AttributeProto>) -> String {
        let index = self.nodes.len();
        let output = format!("{}_{index}", op.to_ascii_lowercase());
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|name| name.to_string()).collect(),
            output: vec![output.clone()],
            // Named apart from its output, as exporters do: RTen keeps nodes and values in
            // one namespace.
            name: Some(format!("{op}/{index}")),
            op_type: Some(op.into()),
            attribute: attributes,
            ..Default::default()
        });
        output
    }

    fn conv(&mut self, input: &str, from: i64, to: i64, kernel: i64, stride: i64) -> String {
        let name = format!("w{}", self.initializers.len());
        let weight =
            self.weights
                .tensor(&name, &[to, from, kernel, kernel], from * kernel * kernel);
        let bias_name = format!("b{}", self.initializers.len());
        let bias = onnx::float_initializer(&bias_name, &[to], &vec![0.0; to as usize]);
        self.initializers.extend([weight, bias]);
        let pad = kernel / 2;
        self.node(
            "Conv",
            &[input, &name, &bias_name],
            vec![
                onnx::ints_attribute("kernel_shape", &[kernel, kernel]),
                onnx::ints_attribute("strides", &[stride, stride]),
                onnx::ints_attribute("pads", &[pad, pad, pad, pad]),
            ],
        )
    }

    fn relu(&mut self, input: &str) -> String {
        self.node("Relu", &[input], vec![])
    }

    fn basic_block(&mut self, input: &str, from: i64, to: i64, stride: i64) -> String {
        let first = self.conv(input, from, to, 3, stride);
        let first = self.relu(&first);
        let second = self.conv(&first, to, to, 3, 1);
        let skip = if stride != 1 || from != to {
            self.conv(input, from, to, 1, stride)
        } else {
            input.to_string()
        };
        let sum = self.node("Add", &[&second, &skip], vec![]);
        self.relu(&sum)
    }
}

pub fn model() -> ModelProto {
    let mut graph = Builder {
        nodes: Vec::new(),
        initializers: Vec::new(),
        weights: Weights(0x9E37_79B9_7F4A_7C15),
    };
    let stem = graph.conv(INPUT, 3, 64, 7, 2);
    let stem = graph.relu(&stem);
    let mut x = graph.node(
        "MaxPool",
        &[&stem],
        vec![
            onnx::ints_attribute("kernel_shape", &[3, 3]),
            onnx::ints_attribute("strides", &[2, 2]),
            onnx::ints_attribute("pads", &[1, 1, 1, 1]),
        ],
    );
    let mut channels = 64;
    for (stage, width) in [64, 128, 256, 512].into_iter().enumerate() {
        let stride = if stage == 0 { 1 } else { 2 };
        x = graph.basic_block(&x, channels, width, stride);
        x = graph.basic_block(&x, width, width, 1);
        channels = width;
    }
    let pooled = graph.node("GlobalAveragePool", &[&x], vec![]);
    let flat = graph.node("Flatten", &[&pooled], vec![onnx::int_attribute("axis", 1)]);
    let weight = graph.weights.tensor("fc_w", &[CLASSES, channels], channels);
    let bias = onnx::float_initializer("fc_b", &[CLASSES], &vec![0.0; CLASSES as usize]);
    graph.initializers.extend([weight, bias]);
    let logits = graph.node(
        "Gemm",
        &[&flat, "fc_w", "fc_b"],
        vec![onnx::int_attribute("transB", 1)],
    );
    graph.nodes.push(NodeProto {
        input: vec![logits],
        output: vec![OUTPUT.into()],
        name: Some("softmax".into()),
        op_type: Some("Softmax".into()),
        attribute: vec![onnx::int_attribute("axis", 1)],
        ..Default::default()
    });
    ModelProto {
        ir_version: Some(onnx::IR_VERSION),
        producer_name: Some("keynet-bench".into()),
        graph: Some(GraphProto {
            node: graph.nodes,
            name: Some("resnet18_shaped".into()),
            initializer: graph.initializers,
            input: vec![ValueInfoProto {
                name: Some(INPUT.into()),
                r#type: Some(onnx::float_tensor_type(&[
                    Err("N"),
                    Ok(3),
                    Ok(SIDE),
                    Ok(SIDE),
                ])),
                doc_string: None,
            }],
            output: vec![ValueInfoProto {
                name: Some(OUTPUT.into()),
                r#type: Some(onnx::float_tensor_type(&[Err("N"), Ok(CLASSES)])),
                doc_string: None,
            }],
            doc_string: None,
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(onnx::OPSET_VERSION),
        }],
        ..Default::default()
    }
}

/// The export metadata Keynet's runtime reads (docs/trainer-contract.md).
pub fn metadata() -> serde_json::Value {
    let classes: Vec<serde_json::Value> = (0..CLASSES)
        .map(|id| serde_json::json!({"id": id, "name": format!("class_{id}")}))
        .collect();
    serde_json::json!({
        "input_name": INPUT,
        "output_name": OUTPUT,
        "input_shape": [-1, 3, SIDE, SIDE],
        "classes": classes,
    })
}
