//! The image in a TorchServe REST body, by the body's content type: a `multipart/form-data`
//! form's `data` (or `body`) field, a JSON string of base64 text (what the study's client
//! sent), or else the body itself (`curl -T image.jpg`).

use bytes::Bytes;

use super::{CodecError, base64, json, multipart};

/// The input names TorchServe's handlers read the image from (a form field over REST, an
/// `input` key over gRPC), in order of preference.
pub const INPUT_NAMES: [&str; 2] = ["data", "body"];

/// Why a body holds no image.
#[derive(Debug, thiserror::Error)]
pub enum ImageBodyError {
    /// A form without the image's field.
    #[error("the form has no field named data or body")]
    NoFormField,
    /// A JSON body that is not one base64 string.
    #[error("a JSON body must be one base64 string")]
    NotBase64Json(#[source] CodecError),
    /// The image's wrapping (base64, a form) does not parse.
    #[error(transparent)]
    Malformed(#[from] CodecError),
}

/// The image in `body`, sent as `content_type` says; an empty body is an empty image.
pub fn decode(content_type: &str, body: Bytes) -> Result<Bytes, ImageBodyError> {
    // Media types compare without case; the boundary parameter keeps its case.
    let media_type = content_type.to_ascii_lowercase();
    if body.is_empty() {
        return Ok(body);
    }
    if media_type.starts_with("multipart/form-data") {
        let parts = multipart::decode(content_type, &body)?;
        return INPUT_NAMES
            .iter()
            .find_map(|name| parts.iter().find(|part| part.name.as_deref() == Some(name)))
            .map(|part| part.data.clone())
            .ok_or(ImageBodyError::NoFormField);
    }
    if !media_type.starts_with("application/json") {
        return Ok(body);
    }
    let text: String = json::decode(&body).map_err(ImageBodyError::NotBase64Json)?;
    Ok(base64::decode(text.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_body_gives_its_image_or_says_why_not() {
        let image = Bytes::from_static(b"\xff\xd8 an image");
        assert_eq!(decode("image/jpeg", image.clone()).unwrap(), image);
        assert_eq!(decode("", image.clone()).unwrap(), image);
        let json = format!("\"{}\"", base64::encode(&image));
        assert_eq!(decode("Application/JSON; charset=utf-8", json.into()).unwrap(), image);
        let form = multipart::encode("data", "x.jpg", "image/jpeg", &image);
        assert_eq!(decode(&form.content_type, form.body).unwrap(), image);
        let other = multipart::encode("other", "x.jpg", "image/jpeg", &image);
        assert!(matches!(
            decode(&other.content_type, other.body),
            Err(ImageBodyError::NoFormField)
        ));
        assert!(matches!(
            decode("application/json", Bytes::from_static(b"{}")),
            Err(ImageBodyError::NotBase64Json(_))
        ));
        assert!(matches!(
            decode("application/json", Bytes::from_static(b"\"%%\"")),
            Err(ImageBodyError::Malformed(CodecError::Base64(_)))
        ));
    }
}
