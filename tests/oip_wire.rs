//! The Open Inference Protocol's gRPC wire, pinned: every message servebench's
//! `proto/inference.proto` defines, with every field set, encodes to the bytes the published
//! specification's field numbers and types give, written out here by hand (tag = number << 3 |
//! wire type); and the service answers at the specification's path. A renumbered or retyped
//! field fails here before any client notices.

use prost::Message;
use servebench::messages::inference::infer_parameter::ParameterChoice;
use servebench::messages::inference::model_infer_request::{
    InferInputTensor, InferRequestedOutputTensor,
};
use servebench::messages::inference::model_infer_response::InferOutputTensor;
use servebench::messages::inference::model_metadata_response::TensorMetadata;
use servebench::messages::inference::*;

/// Wire type of varints.
const VARINT: u8 = 0;
/// Wire type of 64-bit fixed values (double).
const I64: u8 = 1;
/// Wire type of length-delimited values (strings, bytes, messages, packed repeats).
const LEN: u8 = 2;

/// One field: its tag, and for a length-delimited one its length, then `payload`.
fn field(number: u8, wire: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![number << 3 | wire];
    if wire == LEN {
        assert!(payload.len() < 128, "one-byte lengths only");
        bytes.push(payload.len() as u8);
    }
    bytes.extend_from_slice(payload);
    bytes
}

fn text(number: u8, value: &str) -> Vec<u8> {
    field(number, LEN, value.as_bytes())
}

fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// A map entry: key 1, value 2.
fn entry(number: u8, key: &str, value: &[u8]) -> Vec<u8> {
    field(number, LEN, &concat(&[text(1, key), field(2, LEN, value)]))
}

fn int64_parameter(value: u8) -> InferParameter {
    InferParameter { parameter_choice: Some(ParameterChoice::Int64Param(value.into())) }
}

#[test]
fn parameters_and_contents_have_the_specifications_numbers() {
    let cases: [(ParameterChoice, Vec<u8>); 5] = [
        (ParameterChoice::BoolParam(true), field(1, VARINT, &[1])),
        (ParameterChoice::Int64Param(5), field(2, VARINT, &[5])),
        (ParameterChoice::StringParam("s".into()), text(3, "s")),
        (ParameterChoice::DoubleParam(1.0), field(4, I64, &1.0f64.to_le_bytes())),
        (ParameterChoice::Uint64Param(7), field(5, VARINT, &[7])),
    ];
    for (choice, expected) in cases {
        let parameter = InferParameter { parameter_choice: Some(choice.clone()) };
        assert_eq!(parameter.encode_to_vec(), expected, "{choice:?}");
    }

    let contents = InferTensorContents {
        bool_contents: vec![true],
        int_contents: vec![2],
        int64_contents: vec![3],
        uint_contents: vec![4],
        uint64_contents: vec![5],
        fp32_contents: vec![1.5],
        fp64_contents: vec![2.5],
        bytes_contents: vec!["b".into()],
    };
    // proto3 packs repeated scalars: one length-delimited field each.
    let expected = concat(&[
        field(1, LEN, &[1]),
        field(2, LEN, &[2]),
        field(3, LEN, &[3]),
        field(4, LEN, &[4]),
        field(5, LEN, &[5]),
        field(6, LEN, &1.5f32.to_le_bytes()),
        field(7, LEN, &2.5f64.to_le_bytes()),
        text(8, "b"),
    ]);
    assert_eq!(contents.encode_to_vec(), expected);
}

#[test]
fn inference_messages_have_the_specifications_numbers() {
    let contents = InferTensorContents { fp32_contents: vec![1.5], ..Default::default() };
    let request = ModelInferRequest {
        model_name: "m".into(),
        model_version: "1".into(),
        id: "i".into(),
        parameters: [("p".to_owned(), int64_parameter(3))].into(),
        inputs: vec![InferInputTensor {
            name: "a".into(),
            datatype: "FP32".into(),
            shape: vec![1],
            parameters: [("q".to_owned(), int64_parameter(4))].into(),
            contents: Some(contents.clone()),
        }],
        outputs: vec![InferRequestedOutputTensor {
            name: "o".into(),
            parameters: [("classification".to_owned(), int64_parameter(5))].into(),
        }],
        raw_input_contents: vec!["r".into()],
    };
    let input = concat(&[
        text(1, "a"),
        text(2, "FP32"),
        field(3, LEN, &[1]),
        entry(4, "q", &field(2, VARINT, &[4])),
        field(5, LEN, &contents.encode_to_vec()),
    ]);
    let output = concat(&[text(1, "o"), entry(2, "classification", &field(2, VARINT, &[5]))]);
    let expected = concat(&[
        text(1, "m"),
        text(2, "1"),
        text(3, "i"),
        entry(4, "p", &field(2, VARINT, &[3])),
        field(5, LEN, &input),
        field(6, LEN, &output),
        text(7, "r"),
    ]);
    assert_eq!(request.encode_to_vec(), expected);

    let response = ModelInferResponse {
        model_name: "m".into(),
        model_version: "1".into(),
        id: "i".into(),
        parameters: [("p".to_owned(), int64_parameter(3))].into(),
        outputs: vec![InferOutputTensor {
            name: "s".into(),
            datatype: "FP32".into(),
            shape: vec![1],
            parameters: [("q".to_owned(), int64_parameter(4))].into(),
            contents: Some(contents.clone()),
        }],
        raw_output_contents: vec!["r".into()],
    };
    let output = concat(&[
        text(1, "s"),
        text(2, "FP32"),
        field(3, LEN, &[1]),
        entry(4, "q", &field(2, VARINT, &[4])),
        field(5, LEN, &contents.encode_to_vec()),
    ]);
    let expected = concat(&[
        text(1, "m"),
        text(2, "1"),
        text(3, "i"),
        entry(4, "p", &field(2, VARINT, &[3])),
        field(5, LEN, &output),
        text(6, "r"),
    ]);
    assert_eq!(response.encode_to_vec(), expected);
}

#[test]
fn health_and_metadata_messages_have_the_specifications_numbers() {
    assert_eq!(ServerLiveResponse { live: true }.encode_to_vec(), field(1, VARINT, &[1]));
    assert_eq!(ServerReadyResponse { ready: true }.encode_to_vec(), field(1, VARINT, &[1]));
    assert_eq!(ModelReadyResponse { ready: true }.encode_to_vec(), field(1, VARINT, &[1]));
    let asked = concat(&[text(1, "m"), text(2, "1")]);
    let ready = ModelReadyRequest { name: "m".into(), version: "1".into() };
    assert_eq!(ready.encode_to_vec(), asked);
    let metadata = ModelMetadataRequest { name: "m".into(), version: "1".into() };
    assert_eq!(metadata.encode_to_vec(), asked);
    assert!(ServerLiveRequest {}.encode_to_vec().is_empty());
    assert!(ServerReadyRequest {}.encode_to_vec().is_empty());
    assert!(ServerMetadataRequest {}.encode_to_vec().is_empty());

    let server = ServerMetadataResponse {
        name: "s".into(),
        version: "v".into(),
        extensions: vec!["e".into()],
    };
    assert_eq!(server.encode_to_vec(), concat(&[text(1, "s"), text(2, "v"), text(3, "e")]));

    let tensor = TensorMetadata { name: "t".into(), datatype: "BYTES".into(), shape: vec![2] };
    let model = ModelMetadataResponse {
        name: "m".into(),
        versions: vec!["1".into()],
        platform: "p".into(),
        inputs: vec![tensor.clone()],
        outputs: vec![tensor],
    };
    let tensor = concat(&[text(1, "t"), text(2, "BYTES"), field(3, LEN, &[2])]);
    let expected = concat(&[
        text(1, "m"),
        text(2, "1"),
        text(3, "p"),
        field(4, LEN, &tensor),
        field(5, LEN, &tensor),
    ]);
    assert_eq!(model.encode_to_vec(), expected);
}

#[test]
fn the_service_answers_at_the_specifications_path() {
    use servebench::messages::inference::grpc_inference_service_server::GrpcInferenceServiceServer;
    use tonic::server::NamedService;
    // Each method is POST /inference.GRPCInferenceService/<Method>.
    struct Any;
    #[tonic::async_trait]
    impl grpc_inference_service_server::GrpcInferenceService for Any {
        async fn server_live(
            &self,
            _: tonic::Request<ServerLiveRequest>,
        ) -> Result<tonic::Response<ServerLiveResponse>, tonic::Status> {
            unreachable!()
        }
        async fn server_ready(
            &self,
            _: tonic::Request<ServerReadyRequest>,
        ) -> Result<tonic::Response<ServerReadyResponse>, tonic::Status> {
            unreachable!()
        }
        async fn model_ready(
            &self,
            _: tonic::Request<ModelReadyRequest>,
        ) -> Result<tonic::Response<ModelReadyResponse>, tonic::Status> {
            unreachable!()
        }
        async fn server_metadata(
            &self,
            _: tonic::Request<ServerMetadataRequest>,
        ) -> Result<tonic::Response<ServerMetadataResponse>, tonic::Status> {
            unreachable!()
        }
        async fn model_metadata(
            &self,
            _: tonic::Request<ModelMetadataRequest>,
        ) -> Result<tonic::Response<ModelMetadataResponse>, tonic::Status> {
            unreachable!()
        }
        async fn model_infer(
            &self,
            _: tonic::Request<ModelInferRequest>,
        ) -> Result<tonic::Response<ModelInferResponse>, tonic::Status> {
            unreachable!()
        }
    }
    assert_eq!(
        <GrpcInferenceServiceServer<Any> as NamedService>::NAME,
        "inference.GRPCInferenceService"
    );
}
