//! The subset of `onnx/onnx.proto` (proto2, package `onnx`) needed to write a model, as
//! prost messages. Field numbers and types are copied from onnx.proto; repeated scalars
//! that onnx.proto does not mark `[packed = true]` are written unpacked, as proto2 would.
//! Fields this trainer never writes are left out: protobuf readers skip nothing they miss.

use prost::Message;

/// IR version 7 with opset 13 is the ONNX 1.8 pairing: old enough for any runtime, new
/// enough for `Softmax` over one axis (opset 13 semantics).
pub const IR_VERSION: i64 = 7;
pub const OPSET_VERSION: i64 = 13;

/// `TensorProto.DataType.FLOAT`.
pub const DATA_TYPE_FLOAT: i32 = 1;

#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    #[prost(int64, optional, tag = "1")]
    pub ir_version: Option<i64>,
    #[prost(string, optional, tag = "2")]
    pub producer_name: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub producer_version: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub domain: Option<String>,
    #[prost(int64, optional, tag = "5")]
    pub model_version: Option<i64>,
    #[prost(string, optional, tag = "6")]
    pub doc_string: Option<String>,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OperatorSetIdProto {
    #[prost(string, optional, tag = "1")]
    pub domain: Option<String>,
    #[prost(int64, optional, tag = "2")]
    pub version: Option<i64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct StringStringEntryProto {
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(string, optional, tag = "10")]
    pub doc_string: Option<String>,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub op_type: Option<String>,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    #[prost(string, optional, tag = "6")]
    pub doc_string: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub domain: Option<String>,
}

/// `AttributeProto.AttributeType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AttributeType {
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
}

#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub s: Option<Vec<u8>>,
    #[prost(float, repeated, packed = "false", tag = "7")]
    pub floats: Vec<f32>,
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    #[prost(enumeration = "AttributeType", optional, tag = "20")]
    pub r#type: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    #[prost(int32, optional, tag = "2")]
    pub data_type: Option<i32>,
    #[prost(float, repeated, packed = "true", tag = "4")]
    pub float_data: Vec<f32>,
    #[prost(string, optional, tag = "8")]
    pub name: Option<String>,
    /// Little-endian, fixed width, row-major (onnx.proto, `raw_data`).
    #[prost(bytes = "vec", optional, tag = "9")]
    pub raw_data: Option<Vec<u8>>,
    #[prost(string, optional, tag = "12")]
    pub doc_string: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ValueInfoProto {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    #[prost(string, optional, tag = "3")]
    pub doc_string: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TypeProto {
    /// Member `tensor_type = 1` of onnx.proto's `oneof value`; the other members
    /// (sequence, map, …) are never written here.
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TypeProtoTensor>,
    #[prost(string, optional, tag = "6")]
    pub denotation: Option<String>,
}

/// `TypeProto.Tensor`.
#[derive(Clone, PartialEq, Message)]
pub struct TypeProtoTensor {
    #[prost(int32, optional, tag = "1")]
    pub elem_type: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// `TensorShapeProto.Dimension`.
#[derive(Clone, PartialEq, Message)]
pub struct Dimension {
    #[prost(oneof = "DimensionValue", tags = "1, 2")]
    pub value: Option<DimensionValue>,
    #[prost(string, optional, tag = "3")]
    pub denotation: Option<String>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DimensionValue {
    #[prost(int64, tag = "1")]
    DimValue(i64),
    #[prost(string, tag = "2")]
    DimParam(String),
}

/// A float tensor type with the given dimensions (`Err` = symbolic name).
pub fn float_tensor_type(dims: &[Result<i64, &str>]) -> TypeProto {
    TypeProto {
        tensor_type: Some(TypeProtoTensor {
            elem_type: Some(DATA_TYPE_FLOAT),
            shape: Some(TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|dim| Dimension {
                        value: Some(match dim {
                            Ok(size) => DimensionValue::DimValue(*size),
                            Err(name) => DimensionValue::DimParam((*name).to_string()),
                        }),
                        denotation: None,
                    })
                    .collect(),
            }),
        }),
        denotation: None,
    }
}

/// A float initializer stored as `raw_data`.
pub fn float_initializer(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: Some(DATA_TYPE_FLOAT),
        name: Some(name.to_string()),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

/// The values of a float tensor, whichever of `raw_data` / `float_data` holds them.
pub fn float_values(tensor: &TensorProto) -> Vec<f32> {
    match &tensor.raw_data {
        Some(raw) => raw
            .chunks_exact(4)
            .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            .collect(),
        None => tensor.float_data.clone(),
    }
}

pub fn int_attribute(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        i: Some(value),
        r#type: Some(AttributeType::Int as i32),
        ..Default::default()
    }
}

pub fn ints_attribute(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        ints: values.to_vec(),
        r#type: Some(AttributeType::Ints as i32),
        ..Default::default()
    }
}

pub fn float_attribute(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        f: Some(value),
        r#type: Some(AttributeType::Float as i32),
        ..Default::default()
    }
}

pub fn node(
    op_type: &str,
    inputs: &[&str],
    output: &str,
    attributes: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|name| name.to_string()).collect(),
        output: vec![output.to_string()],
        name: Some(format!("{op_type}_0")),
        op_type: Some(op_type.to_string()),
        attribute: attributes,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes worked out by hand from the protobuf encoding rules, so a wrong tag or wire
    /// type in the derive attributes shows up here and not only in an ONNX runtime.
    #[test]
    fn wire_format_of_small_messages() {
        let opset = OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(13),
        };
        // field 1 (len) "" ; field 2 (varint) 13
        assert_eq!(opset.encode_to_vec(), vec![0x0A, 0x00, 0x10, 0x0D]);

        let tensor = float_initializer("b", &[2, 3], &[]);
        // dims unpacked: field 1 varint twice; data_type field 2 = 1; name field 8; raw_data field 9
        assert_eq!(
            tensor.encode_to_vec(),
            vec![
                0x08, 0x02, 0x08, 0x03, 0x10, 0x01, 0x42, 0x01, b'b', 0x4A, 0x00
            ]
        );

        let attribute = int_attribute("axis", 1);
        // name field 1; i field 3 = 1; type field 20 (varint, key 0xA0 0x01) = INT (2)
        assert_eq!(
            attribute.encode_to_vec(),
            vec![
                0x0A, 0x04, b'a', b'x', b'i', b's', 0x18, 0x01, 0xA0, 0x01, 0x02
            ]
        );

        let dim = Dimension {
            value: Some(DimensionValue::DimParam("N".into())),
            denotation: None,
        };
        assert_eq!(dim.encode_to_vec(), vec![0x12, 0x01, b'N']);
    }

    #[test]
    fn float_data_round_trips_through_raw_bytes() {
        let tensor = float_initializer("w", &[3], &[1.5, -2.0, 0.25]);
        let decoded = TensorProto::decode(tensor.encode_to_vec().as_slice()).expect("decode");
        assert_eq!(float_values(&decoded), vec![1.5, -2.0, 0.25]);
    }
}
