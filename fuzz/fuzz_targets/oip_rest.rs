//! The Open Inference Protocol over REST: a JSON body (input starting with `{`), or JSON followed
//! by binary tensor data (the first two bytes, little-endian, say how much of the rest is JSON,
//! as `Inference-Header-Content-Length` would), read into tensors as the model server does.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use servebench::codec::oip::rest;

fuzz_target!(|data: &[u8]| {
    let (json_length, body) = match data {
        [b'{', ..] => (None, data),
        [low, high, rest @ ..] => (Some(usize::from(u16::from_le_bytes([*low, *high]))), rest),
        _ => (None, data),
    };
    if let Ok(request) = rest::decode_request(&Bytes::copy_from_slice(body), json_length) {
        for tensor in &request.inputs {
            let _ = tensor.check();
            let _ = tensor.to_f32();
            let _ = tensor.byte_elements();
        }
    }
});
