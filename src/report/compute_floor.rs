//! The compute floor of an end-to-end cell: the least time its requests could take on this
//! machine if the server did nothing but their work, perfectly spread over the cores it may
//! use. Each cell's time over its floor says how much of it is the server's design (waiting,
//! idle cores, contention) and how much is work.
//!
//! The work of one image is what the stage benches measure alone: unwrapping the body (base64,
//! a form), decoding and preprocessing it (single-threaded: its time is its core time), and
//! the forward pass per image at the setup's batch size. On the CPU, libtorch runs a forward
//! pass on every core, so its core time is its time times the cores; on a GPU the forward pass
//! is the device's, and the CPU's work overlaps it. So, for `n` requests on `c` cores:
//!
//! ```text
//! cpu:  n x (single-threaded / c + forward)
//! cuda: n x max(single-threaded / c, forward)
//! ```
//!
//! A serial server (TorchServe's design) can reach `n x (single-threaded + forward)` at best:
//! its worker decodes while the model waits. Only local setups with TorchServe's routes have a
//! floor: an external server's work is not known, and the Open Inference Protocol's tensor
//! routes move preprocessing to the client, on the same machine.

use crate::fixtures::ImageSpec;
use crate::ids::{
    BenchId, CodecId, Design, Device, Direction, EndToEndId, InferenceId, Model, Setup, VisionId,
    VisionStep, Wrapping,
};
use crate::transport::{Body, Route};

/// Requests an end-to-end iteration sends together: the study's 20.
pub const REQUESTS: usize = 20;

/// The stage benches that make one image's work in an end-to-end cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Work {
    /// Single-threaded CPU stages, each once per image.
    pub single_threaded: Vec<BenchId>,
    /// The forward pass at the setup's batch size.
    pub forward: InferenceId,
    /// How many images that forward pass holds.
    pub batch: usize,
    /// Where it runs.
    pub device: Device,
}

/// The work of one image in `id`'s cell; `None` where it has no floor (module docs).
pub fn work(id: EndToEndId) -> Option<Work> {
    let Setup::Local { device, batch, design } = id.setup else { return None };
    let size = id.size;
    let unwrap = |wrapping| CodecId::Image { wrapping, direction: Direction::Decode, size };
    let mut single_threaded: Vec<BenchId> = match id.route {
        Route::Rest(_, Body::Base64) => vec![unwrap(Wrapping::Base64).into()],
        Route::Rest(_, Body::Multipart) => vec![unwrap(Wrapping::Multipart).into()],
        Route::Rest(_, Body::Raw) | Route::Grpc => Vec::new(),
        Route::Oip(..) => return None,
    };
    let vision = |step| BenchId::from(VisionId { step, image: ImageSpec::study(size) });
    match design {
        Design::PipelinedScaled => single_threaded.push(vision(VisionStep::PreprocessScaled)),
        Design::Serial | Design::Pipelined => single_threaded.extend(
            [VisionStep::Decode, VisionStep::Resize, VisionStep::CropNormalize].map(vision),
        ),
    }
    let forward = InferenceId::Forward { model: Model::Resnet50, device, images: batch };
    Some(Work { single_threaded, forward, batch, device })
}

/// `id`'s floor in nanoseconds for [`REQUESTS`] requests on `cores` cores, from each stage
/// bench's time (`median`, nanoseconds); `None` without a floor or a bench's time.
pub fn floor(id: EndToEndId, cores: usize, median: impl Fn(BenchId) -> Option<f64>) -> Option<f64> {
    let work = work(id)?;
    if cores == 0 {
        return None;
    }
    let single: f64 =
        work.single_threaded.iter().map(|bench| median(*bench)).sum::<Option<f64>>()?;
    let forward = median(work.forward.into())? / work.batch as f64;
    let per_request = match work.device {
        Device::Cpu => single / cores as f64 + forward,
        Device::Cuda => (single / cores as f64).max(forward),
    };
    Some(REQUESTS as f64 * per_request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::STUDY_SIZES;
    use crate::transport::HttpVersion;

    fn id(route: Route, setup: &str) -> EndToEndId {
        EndToEndId {
            route,
            link: crate::link::Link::Loopback,
            size: STUDY_SIZES[2],
            setup: setup.parse().unwrap(),
        }
    }

    #[test]
    fn the_floor_spreads_single_threaded_work_over_the_cores_beside_the_forward_pass() {
        let median = |bench: BenchId| {
            Some(match bench.to_string().as_str() {
                "codec/base64_decode/1080x1920" => 4e6,
                "vision/decode/noise_jpeg_1080x1920" => 20e6,
                "vision/resize/noise_jpeg_1080x1920" => 5e6,
                "vision/crop_normalize/noise_jpeg_1080x1920" => 1e6,
                "vision/preprocess_scaled/noise_jpeg_1080x1920" => 14e6,
                "inference/resnet50_cpu/b1" => 30e6,
                "inference/resnet50_cpu/b8" => 200e6,
                "inference/resnet50_cuda/b8" => 80e6,
                other => panic!("{other} is not part of the work"),
            })
        };
        let raw = Route::Rest(HttpVersion::Http1, Body::Raw);
        let base64 = Route::Rest(HttpVersion::Http1, Body::Base64);
        // 20 x (26 ms / 2 cores + 30 ms) = 860 ms
        assert_eq!(floor(id(raw, "cpu_b1"), 2, median), Some(860e6));
        assert_eq!(floor(id(raw, "cpu_b1_pipelined"), 2, median), Some(860e6));
        // 20 x (14 / 2 + 30) = 740; base64: 20 x (30 / 2 + 30) = 900; batch 8: 20 x (13 + 25)
        assert_eq!(floor(id(raw, "cpu_b1_pipelined_scaled"), 2, median), Some(740e6));
        assert_eq!(floor(id(base64, "cpu_b1"), 2, median), Some(900e6));
        assert_eq!(floor(id(Route::Grpc, "cpu_b8"), 2, median), Some(760e6));
        // On a GPU the forward pass (10 ms an image) overlaps the CPU's 13 ms: 20 x 13 ms.
        assert_eq!(floor(id(raw, "cuda_b8"), 2, median), Some(260e6));
        assert_eq!(floor(id(raw, "cpu_b1"), 0, median), None);
        assert_eq!(floor(id(raw, "external"), 2, median), None);
    }
}
