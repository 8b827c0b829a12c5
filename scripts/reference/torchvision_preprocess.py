"""The reference the vision stage is tested against: TorchServe's image_classifier transforms,
run by torchvision itself on PIL images, as the handler runs them.

Usage: python torchvision_preprocess.py OUT_DIR IMAGE...
Writes OUT_DIR/<i>.f32 for the i-th image: the normalized [3, 224, 224] tensor as little-endian
float32, channel-first; and OUT_DIR/<i>.rgb: the image after Resize(256) alone, PIL's RGB bytes.
"""

import sys
from pathlib import Path

from PIL import Image
from torchvision import transforms

TRANSFORM = transforms.Compose(
    [
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ]
)


def main(out_dir: str, images: list[str]) -> None:
    for index, path in enumerate(images):
        with Image.open(path) as image:
            rgb = image.convert("RGB")
        tensor = TRANSFORM(rgb)
        Path(out_dir, f"{index}.f32").write_bytes(tensor.numpy().astype("<f4").tobytes())
        Path(out_dir, f"{index}.rgb").write_bytes(TRANSFORM.transforms[0](rgb).tobytes())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
