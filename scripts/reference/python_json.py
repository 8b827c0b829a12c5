"""The reference for servebench's codec::python_json: Python's own repr and json.dumps.

Usage: python python_json.py CASES_JSON
CASES_JSON is {"floats": [f64 bit patterns], "objects": [[[key, f32 bit pattern], ...], ...]}.
Prints {"reprs": [repr of each float], "dumps": [json.dumps(object, indent=2) of each object,
its values the f32s as Python floats, as tensor.tolist() gives them]} as one line of JSON.
"""

import json
import struct
import sys

with open(sys.argv[1]) as f:
    cases = json.load(f)


def f64(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


reprs = [repr(f64(bits)) for bits in cases["floats"]]
dumps = [json.dumps({key: f32(bits) for key, bits in pairs}, indent=2) for pairs in cases["objects"]]
print(json.dumps({"reprs": reprs, "dumps": dumps}))
