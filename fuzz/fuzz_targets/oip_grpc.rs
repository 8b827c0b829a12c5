//! The Open Inference Protocol over gRPC: a `ModelInferRequest` read into tensors (raw or
//! typed contents), as the model server does before it looks at the model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench::codec::oip::grpc;
use servebench::codec::protobuf;
use servebench::messages::inference::ModelInferRequest;

fuzz_target!(|message: &[u8]| {
    if let Ok(request) = protobuf::decode::<ModelInferRequest>(message)
        && let Ok(received) = grpc::decode_request(request)
    {
        for tensor in &received.request.inputs {
            let _ = tensor.check();
            let _ = tensor.to_f32();
            let _ = tensor.byte_elements();
        }
    }
});
