//! `inference/...`: the forward pass and its copies (`benches/inference.rs`).

use super::{Family, Group, counted, family, named};

/// The batch sizes the inference bench measures.
pub const BATCHES: [usize; 3] = [1, 8, 20];

/// A model servebench generates (`scripts/setup`, into `fixtures/models/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Model {
    /// torchvision's ResNet-50, servebench's default.
    Resnet50,
    /// torchvision's DenseNet-161, the study's model.
    Densenet161,
}

impl Model {
    /// Both models.
    pub const ALL: [Self; 2] = [Self::Resnet50, Self::Densenet161];

    /// `resnet50` or `densenet161`: in ids, and the model's file name without `.pt`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Resnet50 => "resnet50",
            Self::Densenet161 => "densenet161",
        }
    }
}

/// Where a model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Device {
    /// The CPU.
    Cpu,
    /// The first CUDA device.
    Cuda,
}

impl Device {
    /// Both devices.
    pub const ALL: [Self; 2] = [Self::Cpu, Self::Cuda];

    /// `cpu` or `cuda`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        }
    }
}

/// An inference id; each is per batch of `images` images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InferenceId {
    /// `inference/batch/b<n>`: stacking preprocessed images on the host.
    Batch {
        /// Images in the batch.
        images: usize,
    },
    /// `inference/<model>_<device>/b<n>`: the forward pass, input already on the device.
    Forward {
        /// The model.
        model: Model,
        /// Where it runs.
        device: Device,
        /// Images in the batch.
        images: usize,
    },
    /// `inference/h2d_cuda/b<n>`: copying a batch to the GPU.
    HostToDevice {
        /// Images in the batch.
        images: usize,
    },
    /// `inference/d2h_cuda/b<n>`: copying a batch's scores back from the GPU.
    DeviceToHost {
        /// Images in the batch.
        images: usize,
    },
}

impl InferenceId {
    /// The device the id runs on (stacking runs on the host).
    pub fn device(&self) -> Device {
        match self {
            Self::Batch { .. } => Device::Cpu,
            Self::Forward { device, .. } => *device,
            Self::HostToDevice { .. } | Self::DeviceToHost { .. } => Device::Cuda,
        }
    }
}

family!(InferenceId, Inference);

impl Family for InferenceId {
    const GROUP: Group = Group::Inference;

    // Criterion's function is the whole id after the group (`batch/b8`): so it has always
    // been filed, and its folders keep their names.
    fn function(&self) -> String {
        match self {
            Self::Batch { images } => format!("batch/b{images}"),
            Self::Forward { model, device, images } => {
                format!("{}_{}/b{images}", model.name(), device.name())
            }
            Self::HostToDevice { images } => format!("h2d_cuda/b{images}"),
            Self::DeviceToHost { images } => format!("d2h_cuda/b{images}"),
        }
    }

    fn parameter(&self) -> Option<String> {
        None
    }

    fn from_segments(segments: &[&str]) -> Option<Self> {
        let [what, images] = segments else { return None };
        let images = counted('b', images)?;
        Some(match *what {
            "batch" => Self::Batch { images },
            "h2d_cuda" => Self::HostToDevice { images },
            "d2h_cuda" => Self::DeviceToHost { images },
            forward => {
                let (model, device) = forward.rsplit_once('_')?;
                Self::Forward {
                    model: named(&Model::ALL, Model::name, model)?,
                    device: named(&Device::ALL, Device::name, device)?,
                    images,
                }
            }
        })
    }

    fn all() -> Vec<Self> {
        let mut all: Vec<Self> = BATCHES.map(|images| Self::Batch { images }).into();
        for device in Device::ALL {
            for model in Model::ALL {
                all.extend(BATCHES.map(|images| Self::Forward { model, device, images }));
            }
        }
        for images in BATCHES {
            all.extend([Self::HostToDevice { images }, Self::DeviceToHost { images }]);
        }
        all
    }
}
