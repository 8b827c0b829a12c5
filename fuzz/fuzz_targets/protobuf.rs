//! Every gRPC request message servebench's servers decode: the study's, TorchServe's (its input
//! map) and the Open Inference Protocol's (then read into tensors, as the server does).
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench::codec::protobuf;
use servebench::messages::inference::ModelInferRequest;
use servebench::messages::torchserve::PredictionsRequest;
use servebench::messages::{BasicRequest, ImageBase64Request, ImageBinaryRequest};

fuzz_target!(|message: &[u8]| {
    let _ = protobuf::decode::<BasicRequest>(message);
    let _ = protobuf::decode::<ImageBase64Request>(message);
    let _ = protobuf::decode::<ImageBinaryRequest>(message);
    let _ = protobuf::decode::<PredictionsRequest>(message);
    let _ = protobuf::decode::<ModelInferRequest>(message);
});
