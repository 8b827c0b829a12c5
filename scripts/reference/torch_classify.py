"""The end-to-end reference for the vision, inference and postprocess stages: TorchServe's
image_classifier path (torchvision transforms on PIL, the TorchScript model, softmax) in Python.

Usage: python torch_classify.py MODEL IMAGE...
The images go through the model as one batch, in the order given, as servebench batches them.
Prints a JSON list with, per image, the softmax probabilities of every class.
"""

import json
import sys

import torch
import torch.nn.functional as F
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

model = torch.jit.load(sys.argv[1], map_location="cpu").eval()
images = []
for path in sys.argv[2:]:
    with Image.open(path) as image:
        images.append(TRANSFORM(image.convert("RGB")))
with torch.no_grad():
    probabilities = F.softmax(model(torch.stack(images)), dim=1)
print(json.dumps(probabilities.tolist()))
