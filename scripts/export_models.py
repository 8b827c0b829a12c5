"""Exports the models the inference stage serves, as TorchScript, with seeded random weights.

torchvision's ResNet-50 (servebench's default) and DenseNet-161 (the study's model), built from
their architectures alone: nothing is downloaded, so the weights are random (seed 2023). Timing
does not depend on the weights, and the classes mean nothing, but the answers must depend on the
image, or a reference test cannot tell a right preprocessing from a wrong one. Freshly
initialised, both networks answer one class for nearly any input (ResNet-50: class 497 for
ones, noise, a constant or any fixture): in eval mode their BatchNorm layers keep the identity
statistics, so activations drift layer by layer until one input-independent direction dominates
the pooled features. So each model is calibrated on seeded synthetic images first:
  1. BatchNorm running statistics are set from those images (a cumulative average in train
     mode), so every layer sees unit-scale activations in eval mode;
  2. the last Linear layer is centred on the images' mean features and scaled so its logits
     spread by LOGIT_SPREAD across images: the scores then follow each image's own features,
     and the top class and every probability move when a pixel, a channel or a constant does.

Usage: python export_models.py OUT_DIR
"""

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision

SEED = 2023
MODELS = {"resnet50": torchvision.models.resnet50, "densenet161": torchvision.models.densenet161}
CALIBRATION_IMAGES = 16
# The standard deviation of the calibrated logits over images and classes.
LOGIT_SPREAD = 2.0
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def calibration_images(generator: torch.Generator) -> torch.Tensor:
    """Normalized 224x224 images: smooth random colour fields with some fine noise."""
    coarse = torch.rand(CALIBRATION_IMAGES, 3, 6, 6, generator=generator)
    fields = F.interpolate(coarse, size=224, mode="bilinear", align_corners=False)
    noise = torch.rand(CALIBRATION_IMAGES, 3, 224, 224, generator=generator) - 0.5
    amount = torch.rand(CALIBRATION_IMAGES, 1, 1, 1, generator=generator)
    return ((fields + amount * noise).clamp(0, 1) - MEAN) / STD


def calibrate(model: torch.nn.Module, images: torch.Tensor) -> None:
    """BatchNorm statistics from `images`, then a centred, scaled classifier (module docs)."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over every batch
    model.train()
    with torch.no_grad():
        for batch in images.split(8):
            model(batch)
    model.eval()

    head = [module for module in model.modules() if isinstance(module, torch.nn.Linear)][-1]
    captured = []
    hook = head.register_forward_hook(lambda _module, inputs, _output: captured.append(inputs[0]))
    with torch.no_grad():
        for batch in images.split(8):
            model(batch)
    hook.remove()
    features = torch.cat(captured)
    mean = features.mean(dim=0)
    with torch.no_grad():
        spread = ((features - mean) @ head.weight.T).std()
        head.weight.mul_(LOGIT_SPREAD / spread)
        head.bias.copy_(-(head.weight @ mean))


def main(out_dir: str) -> None:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, 3, 224, 224)
    for name, build in MODELS.items():
        torch.manual_seed(SEED)
        model = build(weights=None)
        calibrate(model, calibration_images(torch.Generator().manual_seed(SEED)))
        with torch.no_grad():
            traced = torch.jit.trace(model, example)
        path = Path(out_dir, f"{name}.pt")
        partial = path.with_suffix(".pt.partial")
        traced.save(str(partial))
        partial.replace(path)
        print(path)


if __name__ == "__main__":
    main(sys.argv[1])
