//! Raw bytes: the image is the body, as REST `/binary` sends it. Nothing to encode or parse,
//! which is the point: this is the floor every other codec is measured against.

use bytes::Bytes;

use crate::messages::ImageBinaryRequest;

/// The body for an image request: the image bytes themselves (a reference count, no copy).
pub fn encode(request: &ImageBinaryRequest) -> Bytes {
    request.image.clone()
}

/// The image request a body stands for (the body is kept, not copied).
pub fn decode(body: Bytes) -> ImageBinaryRequest {
    ImageBinaryRequest { image: body }
}
