"""Exports the models the inference stage serves, as TorchScript, with seeded random weights.

torchvision's ResNet-50 (servebench's default) and DenseNet-161 (the study's model), built from
their architectures alone: nothing is downloaded, so the weights are random (seed 2023). Timing
does not depend on the weights; the predicted classes are meaningless.

Usage: python export_models.py OUT_DIR
"""

import sys
from pathlib import Path

import torch
import torchvision

SEED = 2023
MODELS = {"resnet50": torchvision.models.resnet50, "densenet161": torchvision.models.densenet161}


def main(out_dir: str) -> None:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, 3, 224, 224)
    for name, build in MODELS.items():
        torch.manual_seed(SEED)
        model = build(weights=None).eval()
        with torch.no_grad():
            traced = torch.jit.trace(model, example)
        path = Path(out_dir, f"{name}.pt")
        partial = path.with_suffix(".pt.partial")
        traced.save(str(partial))
        partial.replace(path)
        print(path)


if __name__ == "__main__":
    main(sys.argv[1])
