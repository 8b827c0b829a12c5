//! Each id's work, its inputs prepared: what the Criterion benches time and
//! `benches/instructions.rs` counts, defined once so the two measure the same thing.

use serde::Serialize;
use serde::de::DeserializeOwned;
use servebench::codec::{base64, json, multipart, protobuf, python_json, raw};
use servebench::fixtures::{self, ImageSpec};
use servebench::ids::{
    CodecId, Direction, Format, Message, Payload, PostprocessId, VisionId, VisionStep, Wrapping,
};
use servebench::messages::StudyRequest;
use servebench::postprocess::{self, Labels, TOP_K};
use servebench::vision::{self, CROP, DecodeMode, RESIZE_SHORTER};

/// One id's routine over inputs made beforehand, and the bytes one call handles.
pub struct Work {
    /// What one call handles, for Criterion's throughput: the encoded size for the codec
    /// stage, the input's for the others.
    pub bytes: u64,
    routine: Box<dyn FnMut()>,
}

impl Work {
    fn new<T>(bytes: usize, mut routine: impl FnMut() -> T + 'static) -> Self {
        let routine = move || {
            std::hint::black_box(routine());
        };
        Self { bytes: bytes as u64, routine: Box::new(routine) }
    }

    /// One call of the routine; its result is dropped inside (as Criterion's `iter` does).
    pub fn run(&mut self) {
        (self.routine)()
    }
}

/// A codec id's work: a study message to bytes or back, or the image alone wrapped.
pub fn codec(id: CodecId) -> Work {
    match id {
        CodecId::Message { format, direction, message } => match message {
            Message::Response => message_work(format, direction, fixtures::basic_response()),
            Message::Request(payload) => match payload.request() {
                StudyRequest::Basic(request) => message_work(format, direction, request),
                StudyRequest::Base64(request) => message_work(format, direction, request),
                StudyRequest::Binary(request) => message_work(format, direction, request),
            },
        },
        CodecId::Raw { direction, size } => {
            let StudyRequest::Binary(request) = Payload::Binary(size).request() else {
                unreachable!("a binary payload makes a binary request")
            };
            let body = raw::encode(&request);
            match direction {
                Direction::Encode => Work::new(body.len(), move || raw::encode(&request)),
                Direction::Decode => Work::new(body.len(), move || raw::decode(body.clone())),
            }
        }
        CodecId::Image { wrapping, direction, size } => {
            let image = fixtures::image(ImageSpec::study(size));
            let len = image.len();
            match (wrapping, direction) {
                (Wrapping::Base64, Direction::Encode) => {
                    Work::new(len, move || base64::encode(&image))
                }
                (Wrapping::Base64, Direction::Decode) => {
                    let text = base64::encode(&image);
                    Work::new(len, move || base64::decode(text.as_bytes()).unwrap())
                }
                // TorchServe's form upload: framing copies the image in, parsing slices it out.
                (Wrapping::Multipart, Direction::Encode) => Work::new(len, move || {
                    multipart::encode("data", "image.jpg", "image/jpeg", &image)
                }),
                (Wrapping::Multipart, Direction::Decode) => {
                    let form = multipart::encode("data", "image.jpg", "image/jpeg", &image);
                    Work::new(len, move || {
                        multipart::decode(&form.content_type, &form.body).unwrap()
                    })
                }
            }
        }
    }
}

/// A message through JSON or protobuf. Protobuf decodes from `Bytes`, as servers receive
/// messages: image bytes are sliced, not copied.
fn message_work<M>(format: Format, direction: Direction, value: M) -> Work
where
    M: prost::Message + Serialize + DeserializeOwned + Default + 'static,
{
    match (format, direction) {
        (Format::Json, Direction::Encode) => {
            let len = json::encode(&value).unwrap().len();
            Work::new(len, move || json::encode(&value).unwrap())
        }
        (Format::Json, Direction::Decode) => {
            let text = json::encode(&value).unwrap();
            Work::new(text.len(), move || json::decode::<M>(&text).unwrap())
        }
        (Format::Protobuf, Direction::Encode) => {
            let len = protobuf::encode(&value).len();
            Work::new(len, move || protobuf::encode(&value))
        }
        (Format::Protobuf, Direction::Decode) => {
            let wire = protobuf::encode(&value);
            Work::new(wire.len(), move || protobuf::decode::<M>(wire.clone()).unwrap())
        }
    }
}

/// A vision id's work: one step of TorchServe's preprocessing, or all of it, on its image.
pub fn vision(id: VisionId) -> Work {
    let bytes = fixtures::image(id.image);
    let decoded = || vision::decode(&bytes).expect("fixtures decode");
    match id.step {
        VisionStep::Decode => Work::new(bytes.len(), move || vision::decode(&bytes).unwrap()),
        VisionStep::Preprocess => {
            Work::new(bytes.len(), move || vision::preprocess(&bytes).unwrap())
        }
        VisionStep::Resize => {
            let decoded = decoded();
            Work::new(decoded.as_raw().len(), move || {
                vision::resize_shorter(&decoded, RESIZE_SHORTER)
            })
        }
        VisionStep::CropNormalize => {
            let resized = vision::resize_shorter(&decoded(), RESIZE_SHORTER);
            Work::new(resized.as_raw().len(), move || {
                vision::normalize(&vision::center_crop(&resized, CROP))
            })
        }
        VisionStep::DecodeScaled => {
            Work::new(bytes.len(), move || vision::decode_with(&bytes, DecodeMode::Scaled).unwrap())
        }
        VisionStep::PreprocessScaled => Work::new(bytes.len(), move || {
            vision::preprocess_with(&bytes, DecodeMode::Scaled).unwrap()
        }),
    }
}

/// A postprocess id's work on one image's 1000 ImageNet scores (a fixed, deterministic set).
pub fn postprocess(id: PostprocessId) -> Work {
    let labels = Labels::imagenet();
    let scores: Vec<f32> =
        (0..labels.len()).map(|i| ((i * 7919 % 1000) as f32 / 100.0).sin() * 6.0).collect();
    let len = std::mem::size_of_val(scores.as_slice());
    match id {
        PostprocessId::Softmax => Work::new(len, move || postprocess::softmax(&scores)),
        PostprocessId::TopK => {
            let probabilities = postprocess::softmax(&scores);
            Work::new(len, move || postprocess::top_k(&probabilities, TOP_K))
        }
        PostprocessId::Classify => {
            Work::new(len, move || postprocess::classify(&scores, &labels).unwrap())
        }
        PostprocessId::ClassifyJson => Work::new(len, move || {
            python_json::encode(&postprocess::classify(&scores, &labels).unwrap()).unwrap()
        }),
    }
}
