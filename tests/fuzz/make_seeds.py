#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses: corpus/<harness>/seed-*.

Small valid files and near misses of each format, so that fuzzing starts
past the first checks. Files named regress-* are inputs that once found a
defect; they are kept as they are and never rewritten here.

    python3 tests/fuzz/make_seeds.py
"""
import gzip
import json
import pathlib
import struct
import zlib

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
GRAPHS = HERE.parents[1] / "graphs"


def write(harness, name, data):
    folder = CORPUS / harness
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (folder / f"seed-{name}").write_bytes(data)


def gz(data):
    # mtime=0: the same bytes on every run.
    return gzip.compress(data, mtime=0)


# ------------------------------------------------------------------ graphs

GRAPH_SEEDS = {
    # Every op and attribute form in one DAG.
    "dag.yaml": """name: dag
input: {channels: 2, height: 6, width: 6}
layers:
  - {name: a, op: conv2d, out_channels: 2, kernel_size: 3, padding: same}
  - {name: b, op: avgpool2d, kernel_size: 3, stride: 1, padding: 1, input: input}
  - {name: s, op: add, input: [a, b]}
  - {name: t, op: tanh}
  - {name: g, op: sigmoid, input: s}
  - {name: c, op: concat, input: [s, t, g, input]}
  - {name: p, op: maxpool2d, kernel_size: [2, 3], stride: [2, 1], padding: [1, 0]}
  - {name: v, op: conv2d, out_channels: 3, kernel_size: [1, 2], padding: valid, bias: false}
  - {name: r, op: relu}
  - {name: f, op: flatten}
  - {name: l, op: leaky_relu, negative_slope: 0.2}
  - {name: fc, op: linear, out_features: 3, in_features: 36, bias: false}
output: fc
loss: cross_entropy
train: {dataset: fashion-mnist, batch_size: 4, iterations: 0, eval_every: 0, shuffle: false, seed: 7,
        optimizer: {type: sgd, lr: 1e-3, momentum: 0.9, weight_decay: 5e-4, nesterov: true}}
""",
    # Block style throughout, comments, a quoted string, an explicit document.
    "block.yaml": """%YAML 1.2
---
# a comment
name: block
description: "quoted: text"
input:
  channels: 1
  height: 4
  width: 4
layers:
  - name: c
    op: conv2d
    out_channels: 2
    kernel_size: 2
  - name: f
    op: flatten
  - name: o
    op: linear
    out_features: 2
...
""",
    # Anchors, aliases and a flow map: YAML features the format does not ban.
    "anchors.yaml": """name: anchors
input: &in {channels: 1, height: 2, width: 2}
layers:
  - &flat {name: f, op: flatten}
  - {name: o, op: linear, out_features: &n 2}
train: {batch_size: *n, seed: *n}
""",
    "json.yaml": '{"name": "j", "input": {"channels": 1, "height": 1, "width": 3}, '
                 '"layers": [{"name": "f", "op": "flatten"}, {"name": "o", "op": "linear", "out_features": 2}]}\n',
    # Near misses, each wrong in one way.
    "shape-mismatch.yaml": """name: bad
input: {channels: 1, height: 5, width: 5}
layers:
  - {name: c, op: conv2d, out_channels: 4, kernel_size: 7}
  - {name: f, op: flatten}
  - {name: o, op: linear, out_features: 2, in_features: 99}
""",
    "huge-numbers.yaml": """name: huge
input: {channels: 4611686018427387904, height: 3037000500, width: 9223372036854775807}
layers:
  - {name: c, op: conv2d, out_channels: 9223372036854775807, kernel_size: [1, 1], stride: 99999999999999999999}
  - {name: f, op: flatten}
  - {name: o, op: linear, out_features: 4294967296}
train: {optimizer: {lr: 1e999}}
""",
    "cycle.yaml": """name: cycle
input: {channels: 1, height: 2, width: 2}
layers:
  - {name: a, op: add, input: [b, input]}
  - {name: b, op: concat, input: [a, a]}
  - {name: b, op: relu, input: b}
""",
    "duplicate-key.yaml": "name: d\nname: e\ninput: {channels: 1, height: 1, width: 1, width: 2}\nlayers: []\n",
    "two-documents.yaml": "name: a\n---\nname: b\n",
    "tabs-and-bytes.yaml": "name: x\n\tinput: {channels: \x00}\nlayers: [{op: \xff\xfe}]\n",
}


def graph_seeds():
    for path in sorted(GRAPHS.glob("*.yaml")):
        write("graph", path.name, path.read_bytes())
    for name, text in GRAPH_SEEDS.items():
        write("graph", name, text)


# ------------------------------------------------------------------ IDX

def idx_images(count, rows, cols, pixels=None):
    if pixels is None:
        pixels = bytes((i * 37) % 256 for i in range(count * rows * cols))
    return struct.pack(">IIII", 0x803, count, rows, cols) + pixels


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def idx_seeds():
    images = idx_images(3, 4, 2)
    labels = idx_labels([0, 9, 3, 1])
    for name, data in {
        "images": images,
        "labels": labels,
        "empty-images": idx_images(0, 28, 28),
        "empty-labels": idx_labels([]),
        "truncated-images": images[:-3],
        "trailing-byte-labels": labels + b"\x00",
        "label-out-of-range": idx_labels([1, 10, 255]),
        "huge-count": idx_images(0xFFFFFFFF, 28, 28, b"\x01" * 16),
        "zero-rows": idx_images(1, 0, 3, b""),
        "short-header": struct.pack(">II", 0x803, 1),
        "wrong-magic": struct.pack(">II", 0x802, 1) + b"\x00",
    }.items():
        write("idx", name, data)
        write("idx", name + ".gz", gz(data))
    write("idx", "labels-two-members.gz", gz(labels[:5]) + gz(labels[5:]))
    write("idx", "images-gz-truncated.gz", gz(images)[:-6])


# ------------------------------------------------------------------ gzip

def gzip_seeds():
    text = b"netc gzip seed: " + bytes(range(256))
    member = gz(text)
    # FEXTRA, FNAME, FCOMMENT and FHCRC in the header (flags 0x1e), as zlib
    # accepts; the body is the same deflate stream.
    header = b"\x1f\x8b\x08\x1e" + b"\x00" * 4 + b"\x00\x03" + b"\x02\x00ab" + b"name\x00" + b"comment\x00"

    crc16 = zlib.crc32(header) & 0xFFFF
    flagged = header + struct.pack("<H", crc16) + member[10:]
    for name, data in {
        "raw": text,
        "empty": b"",
        "one-byte": b"\x1f",
        "magic-only": b"\x1f\x8b",
        "member.gz": member,
        "empty-member.gz": gz(b""),
        "two-members.gz": member + gz(b"second"),
        "header-flags.gz": flagged,
        "trailing-garbage.gz": member + b"junk",
        "trailing-zeros.gz": member + b"\x00" * 8,
        "truncated.gz": member[:-5],
        "bad-crc.gz": member[:-8] + b"\x00\x00\x00\x00" + member[-4:],
        "stored-block.gz": gzip.compress(text, compresslevel=0, mtime=0),
        "repetitive.gz": gz(b"a" * 4096),
    }.items():
        write("gzip", name, data)


# ------------------------------------------------------------------ safetensors

def safetensors(tensors, metadata=None, header_override=None, pad=True):
    """tensors: {name: (shape, [floats])}, written as the reference does."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = header_override if header_override is not None else json.dumps(header, separators=(",", ":"))
    text = text.encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    two = {"fc.weight": ([2, 3], [0.5, -1.0, 2.0, 0.0, 1e-3, -7.25]), "fc.bias": ([2], [1.0, -1.0])}
    for name, data in {
        "two-tensors": safetensors(two),
        "metadata": safetensors(two, metadata={"format": "pt", "netc": "1"}),
        "scalar": safetensors({"s": ([], [3.0])}),
        "zero-size": safetensors({"z": ([0, 4], []), "o": ([1], [1.0])}),
        "empty": safetensors({}),
        "unpadded": safetensors({"a": ([1], [2.0])}, pad=False),
        "f16": safetensors({}, header_override='{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}') + b"\x00" * 4,
        "overlap": safetensors({}, header_override='{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                                   '"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}') + b"\x00" * 4,
        "gap": safetensors({}, header_override='{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}') + b"\x00" * 8,
        "duplicate-key": safetensors({}, header_override='{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                                         '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}') + b"\x00" * 4,
        "huge-shape": safetensors({}, header_override='{"a":{"dtype":"F32","shape":[4611686018427387904,4],'
                                                      '"data_offsets":[0,0]}}'),
        "negative-offset": safetensors({}, header_override='{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}'),
        "header-too-long": struct.pack("<Q", 1 << 40) + b"{}",
        "not-json": struct.pack("<Q", 8) + b"{\"a\":[1,",
    }.items():
        write("safetensors", name, data)


# ------------------------------------------------------------------ images

def png(width, height, color_type, bit_depth, rows, extra_chunks=b""):
    """A PNG of `rows` (bytes of one row each, without the filter byte)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra_chunks +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def image_seeds():
    gray = [bytes((x * 40 + y * 7) % 256 for x in range(5)) for y in range(4)]
    palette = struct.pack(">I", 6) + b"PLTE" + bytes(range(6)) + struct.pack(">I", zlib.crc32(b"PLTE" + bytes(range(6))))
    for name, data in {
        "gray8.png": png(5, 4, 0, 8, gray),
        "rgb8.png": png(2, 2, 2, 8, [bytes(range(6)), bytes(range(6, 12))]),
        "gray-alpha16.png": png(2, 1, 4, 16, [bytes(range(8))]),
        "rgba8.png": png(1, 2, 6, 8, [b"\x10\x20\x30\x80", b"\xff\x00\x00\x00"]),
        "palette.png": png(3, 1, 3, 1, [b"\xa0"], palette),
        "gray1.png": png(9, 1, 0, 1, [b"\xaa\x80"]),
        "bad-depth.png": png(1, 1, 2, 4, [b"\x00"]),
        "truncated.png": png(5, 4, 0, 8, gray)[:-20],
        "huge.png": png(1 << 20, 1 << 20, 0, 8, [b"\x00"]),
        "p5.pgm": b"P5\n# seed\n5 4\n255\n" + b"".join(gray),
        "p5-16.pgm": b"P5 2 1 65535\n\x12\x34\xff\xff",
        "p2.pgm": b"P2\n3 2\n# comment\n15\n0 1 2\n3 14 15\n",
        "p2-above-maxval.pgm": b"P2 2 1 9 3 10\n",
        "p5-truncated.pgm": b"P5 4 4 255\n" + b"\x00" * 7,
        "p5-huge.pgm": b"P5 999999999 999999999 255\n",
        "p2-trailing.pgm": b"P2 1 1 255 7 8\n",
    }.items():
        write("image", name, data)


# ------------------------------------------------------------------ checkpoints

# Edits of a valid checkpoint's metadata (fuzz_checkpoint.cpp says the form):
# each reaches one of the reader's checks with a good checksum.
CHECKPOINT_SEEDS = {
    "unchanged": "",
    "adam": "adam\n",
    "step": "step=5\n",
    "step-negative": "step=-2\n",
    "step-huge": "step=9223372036854775807\n",
    "no-batch-order": "-batch_order\n",
    "batch-order-epoch": "batch_order=netc-batch-order/1 10 2 1 7 99 4\n",
    "batch-order-size": "batch_order=netc-batch-order/1 -10 0 1 7 1 4\n",
    "metrics-bytes": "metrics_bytes=18446744073709551616\n",
    "format-2": "netc_checkpoint=netc-checkpoint/2\n-optimizer\n-betas\n-eps\n-lr_schedule\n",
    "adam-betas": "adam\nbetas=0.9,1.5\neps=-1\n",
    "schedule": "adam\nlr_schedule=cosine t_max=0 eta_min=-1 warmup=3\n",
    "validation": 'validation_augment={"validation":4,"shift":2,"best_val_accuracy":50}\n'
                  "run.validation=4\nrun.augment_shift=2\n",
    "validation-forged": 'validation_augment={"validation":4,"shift":2,"best_val_accuracy":1e999}\n'
                         "run.validation=4\nrun.augment_shift=2\n",
    "run-batch": "run.batch_size=3\nrun.train_images=9\n",
    "unknown-key": "epoch=3\n",
}


def checkpoint_seeds():
    for name, edits in CHECKPOINT_SEEDS.items():
        write("checkpoint", name, edits)


def main():
    # Only the harnesses seeded here: others keep their hand-written seeds.
    for harness in ("graph", "idx", "gzip", "safetensors", "image", "checkpoint"):
        for seed in (CORPUS / harness).glob("seed-*"):
            seed.unlink()
    graph_seeds()
    idx_seeds()
    gzip_seeds()
    safetensors_seeds()
    image_seeds()
    checkpoint_seeds()


if __name__ == "__main__":
    main()
