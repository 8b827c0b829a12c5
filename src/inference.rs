//! Inference stage (feature `torch`): model input to scores on a device, through libtorch.
//!
//! Each step is its own function so the benches can time it alone: [`batch`] stacks images into
//! one NCHW tensor on the host, [`to_device`] copies it to the model's device (host-to-device),
//! [`Classifier::forward`] runs the model without autograd, [`scores`] copies the scores back
//! (device-to-host). Any TorchScript image classifier loads, servebench's generated ones
//! (`fixtures/models/`, made by `scripts/setup`) or a user's own.

use std::path::{Path, PathBuf};

use tch::{CModule, Device, Kind, Tensor};

use crate::ids;
use crate::vision::{CROP, ChwImage};

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// No file at the path.
    #[error("model file {0} does not exist (scripts/setup makes the default ones)")]
    Missing(PathBuf),
    /// The file is not a TorchScript module libtorch can load.
    #[error("cannot load {path} as TorchScript")]
    NotTorchScript {
        /// The file.
        path: PathBuf,
        /// libtorch's reason.
        #[source]
        source: tch::TchError,
    },
    /// The model does not answer an image with one row of class scores.
    #[error("{path} answers a [1, 3, 224, 224] image with shape {shape:?}, not [1, classes]")]
    OutputShape {
        /// The file.
        path: PathBuf,
        /// What it returned.
        shape: Vec<i64>,
    },
    /// CUDA was asked for on a machine without it.
    #[error("CUDA is not available on this machine")]
    NoCuda,
    /// A batch needs at least one image, all of one size.
    #[error("cannot batch {0}")]
    Batch(&'static str),
    /// The model answered a batch with a different number of rows than it had images.
    #[error("the model answered {images} images with {rows} rows of scores")]
    RowCount {
        /// Images in the batch.
        images: usize,
        /// Rows of scores it returned.
        rows: usize,
    },
    /// libtorch failed while running the model or copying tensors.
    #[error("libtorch failed")]
    Torch(#[from] tch::TchError),
}

/// libtorch's device for a device named in ids and on the command line (CUDA: the first one).
pub fn device(device: ids::Device) -> Device {
    match device {
        ids::Device::Cpu => Device::Cpu,
        ids::Device::Cuda => Device::Cuda(0),
    }
}

/// Where `scripts/setup` writes a generated model: `fixtures/models/<name>.pt`.
pub fn model_path(model: ids::Model) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/models")
        .join(format!("{}.pt", model.name()))
}

/// Whether libtorch sees a usable CUDA device.
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}

/// Sets libtorch's intra-op thread count for CPU work (its default: one per core).
pub fn set_threads(threads: usize) {
    tch::set_num_threads(i32::try_from(threads).unwrap_or(i32::MAX));
}

/// Waits for the device's queued work, so a timer around CUDA calls measures the work itself.
pub fn synchronize(device: Device) {
    if let Device::Cuda(index) = device {
        tch::Cuda::synchronize(index as i64);
    }
}

/// A TorchScript image classifier on one device.
#[derive(Debug)]
pub struct Classifier {
    module: CModule,
    device: Device,
    classes: usize,
}

impl Classifier {
    /// Loads the model onto `device` and checks it is an image classifier by running one
    /// black 224x224 image through it: the answer must be `[1, classes]`.
    ///
    /// The check runs on a thread of its own that then exits. libtorch's OpenMP keeps a team of
    /// helper threads for every thread that ran parallel work, and once a process holds more
    /// of them than there are cores, every team's idle threads stop spinning and sleep, so each
    /// parallel region pays to wake them: a server's worker thread ran ResNet-50 in 45-49 ms
    /// instead of 31 (2 cores) while the loading thread's team lived on.
    pub fn load(path: &Path, device: Device) -> Result<Self, InferenceError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| Self::load_here(path, device))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    fn load_here(path: &Path, device: Device) -> Result<Self, InferenceError> {
        if !path.is_file() {
            return Err(InferenceError::Missing(path.to_owned()));
        }
        if matches!(device, Device::Cuda(_)) && !cuda_available() {
            return Err(InferenceError::NoCuda);
        }
        let module = CModule::load_on_device(path, device)
            .map_err(|source| InferenceError::NotTorchScript { path: path.to_owned(), source })?;
        let probe = Tensor::zeros([1, 3, i64::from(CROP), i64::from(CROP)], (Kind::Float, device));
        let output = tch::no_grad(|| module.forward_ts(&[probe]))?;
        match output.size()[..] {
            [1, classes] if classes > 0 => Ok(Self { module, device, classes: classes as usize }),
            ref shape => {
                Err(InferenceError::OutputShape { path: path.to_owned(), shape: shape.to_vec() })
            }
        }
    }

    /// The device the model lives on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Scores per image the model returns.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Runs the model on a batch already on its device, without autograd (`no_grad`: tch 0.24
    /// binds no `InferenceMode` guard, whose further savings are small for a forward pass);
    /// returns `[N, classes]`.
    pub fn forward(&self, batch: &Tensor) -> Result<Tensor, InferenceError> {
        Ok(tch::no_grad(|| self.module.forward_ts(&[batch]))?)
    }
}

/// Stacks images into one `[N, 3, H, W]` float tensor in host memory (a slice of images, or
/// references to them: the pixels are copied once, into the tensor).
pub fn batch<'a>(images: impl IntoIterator<Item = &'a ChwImage>) -> Result<Tensor, InferenceError> {
    let images: Vec<&ChwImage> = images.into_iter().collect();
    let first = images.first().ok_or(InferenceError::Batch("an empty list of images"))?;
    if images.iter().any(|image| (image.height, image.width) != (first.height, first.width)) {
        return Err(InferenceError::Batch("images of different sizes"));
    }
    let mut data = Vec::with_capacity(images.len() * first.data.len());
    for image in &images {
        data.extend_from_slice(&image.data);
    }
    let shape = [images.len() as i64, 3, i64::from(first.height), i64::from(first.width)];
    Ok(Tensor::f_from_slice(&data)?.f_view(shape)?)
}

/// Copies a tensor to `device` (host-to-device for CUDA) and waits for the copy.
pub fn to_device(tensor: &Tensor, device: Device) -> Result<Tensor, InferenceError> {
    let moved = tensor.f_to_device(device)?;
    synchronize(device);
    Ok(moved)
}

/// Copies `[N, classes]` scores to the host (device-to-host for CUDA), one row per image.
pub fn scores(output: &Tensor) -> Result<Vec<Vec<f32>>, InferenceError> {
    let host = output.f_to_device(Device::Cpu)?.f_to_kind(Kind::Float)?;
    Ok(Vec::<Vec<f32>>::try_from(&host)?)
}
