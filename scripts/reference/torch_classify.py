"""The end-to-end reference for the vision, inference and postprocess stages: TorchServe's
image_classifier path (torchvision transforms on PIL, the TorchScript model, softmax) in Python.

Usage: python torch_classify.py MODEL IMAGE...
Prints a JSON list with [top-1 class index, its probability] per image.
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
answers = []
for path in sys.argv[2:]:
    with Image.open(path) as image:
        batch = TRANSFORM(image.convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        probabilities = F.softmax(model(batch), dim=1)[0]
    top = int(probabilities.argmax())
    answers.append([top, float(probabilities[top])])
print(json.dumps(answers))
