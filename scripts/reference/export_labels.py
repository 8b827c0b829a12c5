"""Writes fixtures/index_to_name.json: ImageNet's 1000 class names by index, in TorchServe's
index_to_name.json shape ({"0": "tench", ...}), from the categories torchvision ships (no
download). Run with the project venv's Python; the file is committed, so builds need no Python.
"""

import json
import sys

from torchvision.models import ResNet50_Weights

categories = ResNet50_Weights.IMAGENET1K_V2.meta["categories"]
mapping = {str(index): name for index, name in enumerate(categories)}
with open(sys.argv[1] if len(sys.argv) > 1 else "fixtures/index_to_name.json", "w") as out:
    json.dump(mapping, out, indent=1)
    out.write("\n")
