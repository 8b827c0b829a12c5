"""The reference the postprocess stage is tested against: TorchServe's image_classifier
postprocess (softmax, topk(5), label map) run by torch itself.

Usage: python torch_postprocess.py SCORES_F32 CLASSES LABELS_JSON
SCORES_F32 holds rows of CLASSES little-endian float32 scores; prints one JSON list with a
[[label, probability], ...] list per row, most probable first.
"""

import json
import sys

import numpy as np
import torch
import torch.nn.functional as F

scores_path, classes, labels_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
scores = torch.from_numpy(np.fromfile(scores_path, dtype="<f4").reshape(-1, classes))
with open(labels_path) as f:
    labels = {key: (value[-1] if isinstance(value, list) else value) for key, value in json.load(f).items()}
probs, indices = torch.topk(F.softmax(scores, dim=1), 5, dim=1)
rows = [
    [[labels[str(index)], prob] for index, prob in zip(row_indices, row_probs)]
    for row_indices, row_probs in zip(indices.tolist(), probs.tolist())
]
print(json.dumps(rows))
