"""PyTorch twin of netc: graphs, weights and data files, and training.

The reference against which netc is tested, following the contracts the
README documents:

- ``load_graph(path)`` returns a ``torch.nn.Module`` of a graph file whose
  ``state_dict()`` keys are exactly ``<layer>.weight`` / ``<layer>.bias`` in
  PyTorch's layouts. The file is read by netc itself: ``netc describe`` prints
  the validated graph with every attribute's default resolved, so that one
  front end, the C++ one, decides what a graph means (see ``netc_binary`` for
  which netc runs).
- ``save_safetensors`` / ``load_safetensors``: the safetensors format (written
  here from scratch: Python's ``safetensors`` package is not a dependency).
- ``read_idx`` / ``write_idx`` / ``load_dataset``: IDX files, raw or gzip.
- ``train(...)``: SGD, Adam or AdamW with a learning-rate schedule exactly as
  ``netc train --no-shuffle`` specifies it;
  ``evaluate(...)``: test loss / accuracy as ``netc eval``.

Two implementations of the ops exist: ``impl="torch"`` (torch.nn.functional,
the reference) and ``impl="manual"`` (convolution as a sum over kernel
offsets, pooling over explicit window slices, linear as an elementwise
product and sum, log-softmax by hand, SGD written out). The second one sums in
a different order than the first and is used to self-check the reference and
to estimate how far two correct float32 implementations drift apart.

Use /usr/bin/python3 (Debian's torch 1.13). Everything is float32 unless a
caller asks for float64; ``torch.set_num_threads(1)`` is set on import for
determinism (callers may change it).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

torch.set_num_threads(1)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

__all__ = [
    "GraphError", "Graph", "Layer", "Shape", "netc_binary", "describe", "read_graph", "load_graph",
    "build_model", "build_layer_spec", "make_module", "GraphModule", "init_params", "state_to_file",
    "load_state_file", "save_safetensors", "load_safetensors", "read_idx", "write_idx", "load_dataset",
    "find_idx_file", "cross_entropy", "ManualSGD", "make_optimizer", "make_scheduler", "lr_sequence",
    "batch_indices", "train", "evaluate",
    "summary",
]


class GraphError(ValueError):
    """netc rejects a graph file (its message, FILE:LINE:COLUMN: ...)."""


# --------------------------------------------------------------------------
# The graph, as `netc describe` prints it
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Shape:
    """A layer's output: an image C x H x W, or `c` flat features (h = w = 1)."""

    c: int
    h: int = 1
    w: int = 1
    flat: bool = False

    def size(self) -> int:
        return self.c * self.h * self.w

    def dims(self) -> List[int]:
        return [self.c] if self.flat else [self.c, self.h, self.w]

    def __str__(self) -> str:
        return str(self.c) if self.flat else f"{self.c} x {self.h} x {self.w}"

    @staticmethod
    def from_dims(dims: Sequence[int]) -> "Shape":
        dims = [int(d) for d in dims]
        if len(dims) == 1:
            return Shape(dims[0], 1, 1, True)
        return Shape(dims[0], dims[1], dims[2], False)


@dataclass
class Layer:
    name: str
    op: str
    inputs: List[str]         # layer names; "input" is the graph input
    attrs: Dict[str, object]  # every attribute, defaults resolved; pairs as (h, w)
    output: Shape
    params: List[dict]        # {"name", "shape" (PyTorch layout), "fan_in"}, weight before bias


@dataclass
class Optimizer:
    """train.optimizer as `netc describe` gives it: each type's own keys."""
    type: str
    lr: float
    weight_decay: float
    momentum: float = 0.0            # sgd
    nesterov: bool = False           # sgd
    betas: Tuple[float, float] = (0.9, 0.999)  # adam, adamw
    eps: float = 1e-8                # adam, adamw


@dataclass
class LrSchedule:
    """train.lr_schedule as `netc describe` gives it: each type's own keys."""
    type: str
    warmup: int
    step_size: int = 0               # step
    gamma: float = 0.1               # step, multistep
    milestones: Tuple[int, ...] = () # multistep
    t_max: int = 0                   # cosine
    eta_min: float = 0.0             # cosine


@dataclass
class TrainConfig:
    dataset: str
    batch_size: int
    iterations: int
    eval_every: int
    shuffle: bool
    seed: int
    optimizer: Optimizer
    lr_schedule: LrSchedule
    validation: int           # the last N training images, held out
    augment: dict             # {"shift": P}: random translations of up to P pixels


@dataclass
class Graph:
    name: str
    description: str
    input: Shape
    layers: List[Layer]
    output: str               # the logits layer
    loss: str
    train: TrainConfig
    fingerprint: str
    path: str = "<graph>"

    def layer(self, name: str) -> Layer:
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(name)


def netc_binary() -> str:
    """The netc that reads graph files: $NETC_BINARY, else the repository's
    build/bin/netc (where tools/build.sh puts it)."""
    return os.environ.get("NETC_BINARY") or os.path.join(ROOT, "build", "bin", "netc")


def describe(path: str) -> dict:
    """`netc describe PATH`'s JSON object; GraphError when netc rejects the file."""
    cmd = [netc_binary(), "describe", path]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise RuntimeError(f"cannot run {cmd[0]} (set NETC_BINARY to the netc binary): {e}") from None
    if done.returncode == 2:  # bad input, as every netc command reports it
        raise GraphError(done.stderr.strip().removeprefix("netc: error: "))
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit status {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def _layer(d: dict) -> Layer:
    attrs = {k: tuple(v) if isinstance(v, list) else v for k, v in d["attributes"].items()}
    return Layer(d["name"], d["op"], d["inputs"], attrs, Shape.from_dims(d["output"]), d["params"])


def graph_from_description(d: dict, path: str = "<graph>") -> Graph:
    t = dict(d["train"])
    o = dict(t.pop("optimizer"))
    if "betas" in o:
        o["betas"] = tuple(o["betas"])
    sch = dict(t.pop("lr_schedule"))
    if "milestones" in sch:
        sch["milestones"] = tuple(sch["milestones"])
    train = TrainConfig(optimizer=Optimizer(**o), lr_schedule=LrSchedule(**sch), **t)
    return Graph(name=d["name"], description=d["description"], input=Shape.from_dims(d["input"]),
                 layers=[_layer(l) for l in d["layers"]], output=d["output"], loss=d["loss"], train=train,
                 fingerprint=d["fingerprint"], path=path)


def read_graph(path: str) -> Graph:
    return graph_from_description(describe(path), path)


def _projection_graph(m: dict, input_shapes: Sequence[Sequence[int]], name: str) -> dict:
    """A graph around layer map `m`: the graph input (one channel) projected to
    each of `input_shapes` by a 1x1 convolution (images; all of one height and
    width) or a linear layer (flat), then `m` on those, then a flatten (the
    logits must be a vector)."""
    flat = len(input_shapes[0]) == 1
    h, w = (1, 1) if flat else input_shapes[0][1:]
    layers = [{"name": "flat", "op": "flatten"}] if flat else []
    for i, s in enumerate(input_shapes):
        proj = {"op": "linear", "out_features": s[0]} if len(s) == 1 else \
            {"op": "conv2d", "out_channels": s[0], "kernel_size": 1}
        layers.append({"name": f"x{i}", "input": "flat" if flat else "input", **proj})
    names = [f"x{i}" for i in range(len(input_shapes))]
    layers.append({**m, "name": name, "input": names[0] if len(names) == 1 else names})
    layers.append({"name": "logits", "op": "flatten"})
    return {"name": "layer", "input": {"channels": 1, "height": h, "width": w}, "layers": layers}


def build_layer_spec(m: dict, input_shapes: Sequence[Sequence[int]], name: str = "layer") -> Layer:
    """The Layer netc makes of one YAML layer map without name and input, e.g.
    {"op": "conv2d", "out_channels": 3, "kernel_size": [3, 2]}, on inputs of the
    given shapes ([C, H, W] or [F] each). Used by the fixture generator."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(_projection_graph(m, input_shapes, name), f, sort_keys=False)
        f.flush()
        return read_graph(f.name).layer(name)


def _out_dim(n: int, k: int, p: int, s: int) -> int:
    return (n - k + 2 * p) // s + 1


# --------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------

def _conv_manual(x, weight, bias, stride, padding):
    """Convolution as a sum over kernel offsets (a different summation order
    than torch's im2col/GEMM or oneDNN)."""
    o, c, kh, kw = weight.shape
    n, _, h, w = x.shape
    oh = _out_dim(h, kh, padding[0], stride[0])
    ow = _out_dim(w, kw, padding[1], stride[1])
    xp = F.pad(x, (padding[1], padding[1], padding[0], padding[0]))
    y = None
    for dy in range(kh):
        for dx in range(kw):
            xs = xp[:, :, dy:dy + stride[0] * (oh - 1) + 1:stride[0], dx:dx + stride[1] * (ow - 1) + 1:stride[1]]
            t = torch.einsum("nchw,oc->nohw", xs, weight[:, :, dy, dx])
            y = t if y is None else y + t
    if bias is not None:
        y = y + bias.view(1, -1, 1, 1)
    return y


def _pool_windows(x, k, s, p, pad_value):
    n, c, h, w = x.shape
    oh, ow = _out_dim(h, k[0], p[0], s[0]), _out_dim(w, k[1], p[1], s[1])
    xp = F.pad(x, (p[1], p[1], p[0], p[0]), value=pad_value)
    return [xp[:, :, dy:dy + s[0] * (oh - 1) + 1:s[0], dx:dx + s[1] * (ow - 1) + 1:s[1]]
            for dy in range(k[0]) for dx in range(k[1])]


class Conv2d(nn.Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, bias, impl="torch"):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
        self.impl = impl

    def forward(self, x):
        if self.impl == "manual":
            return _conv_manual(x, self.weight, self.bias, self.stride, self.padding)
        return super().forward(x)


class Linear(nn.Linear):
    def __init__(self, in_features, out_features, bias, impl="torch"):
        super().__init__(in_features, out_features, bias=bias)
        self.impl = impl

    def forward(self, x):
        if self.impl == "manual":
            y = (x.unsqueeze(1) * self.weight.unsqueeze(0)).sum(-1)
            return y if self.bias is None else y + self.bias
        return super().forward(x)


class Pool2d(nn.Module):
    """maxpool2d / avgpool2d with the spec's padding rules: padded cells never
    win a max; they count as zeros in an average (count_include_pad=True)."""

    def __init__(self, kind, kernel_size, stride, padding, impl="torch"):
        super().__init__()
        self.kind, self.kernel_size, self.stride, self.padding, self.impl = kind, kernel_size, stride, padding, impl

    def extra_repr(self):
        return f"{self.kind}, kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        k, s, p = self.kernel_size, self.stride, self.padding
        pad_value = -math.inf if self.kind == "max" else 0.0
        if self.impl == "manual":
            wins = _pool_windows(x, k, s, p, pad_value)
            if self.kind == "max":
                return torch.stack(wins, dim=-1).max(dim=-1).values
            acc = wins[0]
            for t in wins[1:]:
                acc = acc + t
            return acc / (k[0] * k[1])
        if p[0] > k[0] // 2 or p[1] > k[1] // 2:
            # PyTorch's pooling refuses padding > kernel/2; explicit padding is
            # equivalent (-inf never wins, zeros count in the average).
            x = F.pad(x, (p[1], p[1], p[0], p[0]), value=pad_value)
            p = (0, 0)
        if self.kind == "max":
            return F.max_pool2d(x, k, s, p)
        return F.avg_pool2d(x, k, s, p, ceil_mode=False, count_include_pad=True)


class Add(nn.Module):
    def forward(self, *xs):
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y


class Concat(nn.Module):
    def forward(self, *xs):
        return torch.cat(xs, dim=1)


class Flatten(nn.Module):
    def forward(self, x):
        return x.reshape(x.shape[0], -1)


def make_module(layer: Layer, impl: str = "torch") -> nn.Module:
    a, op = layer.attrs, layer.op
    if op == "conv2d":
        in_channels = layer.params[0]["shape"][1]  # weight [O, I, kh, kw]
        return Conv2d(in_channels, a["out_channels"], a["kernel_size"], a["stride"], a["padding"], a["bias"], impl)
    if op == "linear":
        return Linear(a["in_features"], a["out_features"], a["bias"], impl)
    if op in ("maxpool2d", "avgpool2d"):
        return Pool2d(op[:3], a["kernel_size"], a["stride"], a["padding"], impl)
    if op == "relu":
        return nn.ReLU()
    if op == "tanh":
        return nn.Tanh()
    if op == "sigmoid":
        return nn.Sigmoid()
    if op == "leaky_relu":
        return nn.LeakyReLU(a["negative_slope"])
    if op == "flatten":
        return Flatten()
    if op == "add":
        return Add()
    if op == "concat":
        return Concat()
    raise AssertionError(op)


class GraphModule(nn.Module):
    """The network of a graph file. Each layer is a submodule named after the
    layer, so state_dict() keys are exactly `<layer>.weight` / `<layer>.bias`.
    forward(x) takes N x C x H x W float images and returns the logits."""

    def __init__(self, graph: Graph, impl: str = "torch"):
        super().__init__()
        object.__setattr__(self, "graph", graph)
        object.__setattr__(self, "impl", impl)
        for layer in graph.layers:
            # Straight into _modules: a layer may be called e.g. `train` or
            # `forward`, which add_module would refuse as attribute clashes.
            self._modules[layer.name] = make_module(layer, impl)
        # Free intermediate values as soon as their last consumer has run.
        last_use: Dict[str, int] = {}
        for i, layer in enumerate(graph.layers):
            for x in layer.inputs:
                last_use[x] = i
        object.__setattr__(self, "_last_use", last_use)

    def layer_module(self, name: str) -> nn.Module:
        return self._modules[name]

    def forward(self, x):
        values = {"input": x}
        for i, layer in enumerate(self.graph.layers):
            ins = [values[n] for n in layer.inputs]
            values[layer.name] = self._modules[layer.name](*ins)
            for n in set(layer.inputs):
                if self._last_use.get(n) == i and n != self.graph.output:
                    del values[n]
        return values[self.graph.output]


def build_model(graph: Graph, impl: str = "torch", dtype=torch.float32, seed: Optional[int] = None) -> GraphModule:
    model = GraphModule(graph, impl).to(dtype)
    if seed is not None:
        init_params(model, seed)
    return model


def load_graph(path: str, impl: str = "torch", dtype=torch.float32, seed: Optional[int] = None) -> GraphModule:
    """The nn.Module of graph file `path` (its Graph is `module.graph`).
    With `seed`, parameters get PyTorch's default init from that seed (else
    from torch's global generator, as nn.Conv2d/nn.Linear do)."""
    return build_model(read_graph(path), impl, dtype, seed)


def init_params(model: GraphModule, seed: int) -> None:
    """PyTorch's default initialization (reset_parameters of nn.Conv2d and
    nn.Linear, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias),
    layer by layer in file order, weight before bias, from torch.manual_seed(seed).
    The global RNG state is restored afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in model.graph.layers:
            m = model.layer_module(layer.name)
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.reset_parameters()


@torch.no_grad()
def summary(graph: Graph) -> dict:
    """What `netc summary --json` prints, measured on the PyTorch model: each
    layer's output shape from a forward pass of one zero image, its parameter
    count from its module."""
    model = GraphModule(graph)
    shapes = {}
    for l in graph.layers:
        model.layer_module(l.name).register_forward_hook(
            lambda mod, ins, out, name=l.name: shapes.__setitem__(name, list(out.shape[1:])))
    model(torch.zeros([1] + graph.input.dims()))
    layers = [{"name": l.name, "op": l.op, "output": shapes[l.name],
               "params": sum(p.numel() for p in model.layer_module(l.name).parameters())} for l in graph.layers]
    return {"name": graph.name, "input": graph.input.dims(), "layers": layers,
            "params": sum(l["params"] for l in layers)}


# --------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------

_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
              "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_NP_TO_ST = {np.dtype(v).str.lstrip("<>|="): k for k, v in _ST_DTYPES.items()}


def _to_numpy(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().contiguous().numpy()
    return np.ascontiguousarray(t)


def save_safetensors(path: str, tensors: Dict[str, object], metadata: Optional[Dict[str, str]] = None) -> None:
    """Write `tensors` (name -> torch.Tensor or ndarray) as safetensors.

    Keys are sorted and the data is laid out in that order; the JSON header is
    padded with spaces to a multiple of 8 bytes; little-endian. The file is
    written to a temporary name and renamed into place."""
    arrays = {k: _to_numpy(v) for k, v in tensors.items()}
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    blobs = []
    for name in sorted(arrays):
        a = arrays[name]
        code = _NP_TO_ST.get(a.dtype.str.lstrip("<>|="))
        if code is None:
            raise ValueError(f"safetensors: tensor '{name}' has unsupported dtype {a.dtype}")
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    hjson = json.dumps(header, separators=(",", ":"), sort_keys=False).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(hjson)))
            f.write(hjson)
            for b in blobs:
                f.write(b)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_safetensors(path: str, as_torch: bool = True) -> Dict[str, object]:
    """Read a safetensors file; returns name -> tensor (torch or numpy), with
    the file's dtypes. Raises ValueError on any malformed file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (hlen,) = struct.unpack("<Q", raw[:8])
    if hlen > len(raw) - 8:
        raise ValueError(f"{path}: header length {hlen} exceeds the file size")
    try:
        header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: bad safetensors header: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: safetensors header is not a JSON object")
    data = memoryview(raw)[8 + hlen:]
    out = {}
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = _ST_DTYPES[info["dtype"]]
            shape = [int(s) for s in info["shape"]]
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: tensor '{name}': bad entry {info!r}") from None
        if any(s < 0 for s in shape):
            raise ValueError(f"{path}: tensor '{name}': negative dimension in {shape}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if not (0 <= begin <= end <= len(data)) or end - begin != nbytes:
            raise ValueError(f"{path}: tensor '{name}': data_offsets [{begin}, {end}] do not hold "
                             f"{info['dtype']} {shape} within {len(data)} data bytes")
        spans.append((begin, end, name))
        a = np.frombuffer(data[begin:end], dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
        a = a.astype(np.dtype(dtype), copy=True)
        out[name] = torch.from_numpy(a) if as_torch else a
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ValueError(f"{path}: tensors '{n0}' and '{n1}' overlap")
    return out


def state_to_file(model: nn.Module, path: str) -> None:
    """The model's parameters as F32 safetensors (graph-format names)."""
    save_safetensors(path, {k: v.detach().to(torch.float32) for k, v in model.state_dict().items()})


def load_state_file(model: nn.Module, path: str) -> None:
    """Load parameters from safetensors; names, shapes and dtype F32 must match."""
    tensors = load_safetensors(path)
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    if missing or extra:
        raise ValueError(f"{path}: parameter names differ from the graph's: missing {missing}, unexpected {extra}")
    for k, v in tensors.items():
        if v.dtype != torch.float32:
            raise ValueError(f"{path}: tensor '{k}' is {v.dtype}, expected F32")
        if tuple(v.shape) != tuple(own[k].shape):
            raise ValueError(f"{path}: tensor '{k}' has shape {list(v.shape)}, expected {list(own[k].shape)}")
    dtype = next(iter(own.values())).dtype if own else torch.float32
    model.load_state_dict({k: v.to(dtype) for k, v in tensors.items()})


# --------------------------------------------------------------------------
# IDX
# --------------------------------------------------------------------------

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32, 0x0E: np.float64}
_IDX_CODES = {np.dtype(v): k for k, v in _IDX_TYPES.items()}


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file, raw or gzip (detected from the content)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic)")
    dtype = np.dtype(_IDX_TYPES[raw[2]]).newbyteorder(">")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    count = int(np.prod(dims, dtype=np.int64)) if ndim else 1
    need = 4 + 4 * ndim + count * dtype.itemsize
    if len(raw) != need:
        raise ValueError(f"{path}: IDX dims {list(dims)} need {need} bytes, file has {len(raw)}")
    a = np.frombuffer(raw, dtype=dtype, count=count, offset=4 + 4 * ndim).reshape(dims)
    return a.astype(dtype.newbyteorder("="))


def write_idx(path: str, array, gz: Optional[bool] = None) -> None:
    """Write an IDX file; gzip when `gz` (default: when `path` ends in .gz)."""
    a = np.ascontiguousarray(array)
    if a.dtype not in _IDX_CODES:
        raise ValueError(f"IDX cannot hold dtype {a.dtype}")
    raw = bytes([0, 0, _IDX_CODES[a.dtype], a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    raw += a.astype(a.dtype.newbyteorder(">")).tobytes()
    if gz is None:
        gz = path.endswith(".gz")
    if gz:
        raw = gzip.compress(raw, compresslevel=6, mtime=0)
    with open(path, "wb") as f:
        f.write(raw)


IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def find_idx_file(directory: str, base: str) -> str:
    for name in (base, base + ".gz"):
        p = os.path.join(directory, name)
        if os.path.isfile(p):
            return p
    raise FileNotFoundError(f"{directory}: neither {base} nor {base}.gz exists")


def load_dataset(directory: str, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, C, H, W], labels int64 [N]) of `split` (train or test)
    from a folder holding the MNIST-named IDX files, each raw or .gz. A 3-dim
    image file [N, H, W] has one channel; a 4-dim one is [N, C, H, W]."""
    img_name, lab_name = IDX_NAMES[split]
    images = read_idx(find_idx_file(directory, img_name))
    labels = read_idx(find_idx_file(directory, lab_name))
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise ValueError(f"{directory}: {split} images and labels must be unsigned bytes")
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{directory}: {split} images {images.shape} and labels {labels.shape} do not match")
    return images, labels.astype(np.int64)


# --------------------------------------------------------------------------
# Loss, optimizer, training, evaluation
# --------------------------------------------------------------------------

def cross_entropy(logits, labels, impl: str = "torch", reduction: str = "mean"):
    if impl == "manual":
        logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        nll = -logp.gather(1, labels.view(-1, 1)).squeeze(1)
        return nll.mean() if reduction == "mean" else (nll.sum() if reduction == "sum" else nll)
    return F.cross_entropy(logits, labels, reduction=reduction)


class ManualSGD:
    """torch.optim.SGD's rule (dampening 0), written out:
        d = g + weight_decay * p
        b = d (first step) or momentum * b + d   (when momentum != 0)
        d = d + momentum * b (nesterov) or b
        p = p - lr * d"""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
        self.params = [p for p in params]
        self.lr, self.momentum, self.weight_decay, self.nesterov = lr, momentum, weight_decay, nesterov
        self.buf: Dict[int, torch.Tensor] = {}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            d = p.grad
            if self.weight_decay != 0:
                d = d + self.weight_decay * p
            if self.momentum != 0:
                if i not in self.buf:
                    self.buf[i] = d.clone()
                else:
                    self.buf[i] = self.momentum * self.buf[i] + d
                d = d + self.momentum * self.buf[i] if self.nesterov else self.buf[i]
            p.copy_(p - self.lr * d)


def make_optimizer(params, lr, momentum=0.0, weight_decay=0.0, nesterov=False, impl="torch", type="sgd",
                   betas=(0.9, 0.999), eps=1e-8):
    """torch.optim.SGD, Adam or AdamW as netc's train.optimizer of that type
    (Adam and AdamW have no manual implementation: PyTorch's serves both)."""
    if type == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, foreach=False)
    if type == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, foreach=False)
    if nesterov and momentum <= 0:
        raise ValueError("nesterov needs momentum > 0")
    if impl == "manual":
        return ManualSGD(params, lr, momentum, weight_decay, nesterov)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, dampening=0, weight_decay=weight_decay,
                           nesterov=nesterov)


def make_scheduler(optimizer, schedule: Optional[LrSchedule]):
    """PyTorch's equivalent of netc's train.lr_schedule (docs/graph-format.md),
    stepped once after every optimizer.step(); None for a constant lr without
    warm-up. A warm-up of W steps is LinearLR(start_factor=1/W,
    total_iters=W-1) followed, in a SequentialLR at milestone W, by the
    schedule."""
    if schedule is None:
        return None
    from torch.optim import lr_scheduler as ls
    main = None
    if schedule.type == "step":
        main = ls.StepLR(optimizer, step_size=schedule.step_size, gamma=schedule.gamma)
    elif schedule.type == "multistep":
        main = ls.MultiStepLR(optimizer, milestones=list(schedule.milestones), gamma=schedule.gamma)
    elif schedule.type == "cosine":
        main = ls.CosineAnnealingLR(optimizer, T_max=schedule.t_max, eta_min=schedule.eta_min)
    elif schedule.type != "constant":
        raise ValueError(f"unknown lr_schedule type {schedule.type!r}")
    if schedule.warmup == 0:
        return main
    w = schedule.warmup
    warmup = ls.LinearLR(optimizer, start_factor=1.0 / w, end_factor=1.0, total_iters=w - 1)
    if main is None:
        return warmup
    return ls.SequentialLR(optimizer, [warmup, main], milestones=[w])


def lr_sequence(schedule: Optional[LrSchedule], lr: float, steps: int) -> List[float]:
    """The lr of each of `steps` steps under `schedule`, as PyTorch gives it."""
    import warnings
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "lr_scheduler.step() before optimizer.step()": no gradients here
        sched = make_scheduler(opt, schedule)
        out = []
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            if sched is not None:
                sched.step()
    return out


def batch_indices(k: int, batch_size: int, n: int, shuffle: bool = False, seed: int = 0) -> np.ndarray:
    """Indices of batch k (0-based). Without shuffle: images [k*B, (k+1)*B) of
    the training set, wrapping modulo N (a batch may straddle the end). With
    shuffle: the same over a stream of per-epoch permutations from a torch
    generator seeded by `seed` (this is NOT netc's shuffle order)."""
    start = k * batch_size
    pos = np.arange(start, start + batch_size, dtype=np.int64)
    if not shuffle:
        return pos % n
    epochs = sorted(set((pos // n).tolist()))
    perms = {}
    for e in epochs:
        g = torch.Generator().manual_seed(seed * 1_000_003 + e)
        perms[e] = torch.randperm(n, generator=g).numpy()
    return np.array([perms[p // n][p % n] for p in pos.tolist()], dtype=np.int64)


def to_input(images_u8, dtype=torch.float32) -> torch.Tensor:
    """uint8 N x C x H x W -> float pixels / 255 (as transforms.ToTensor())."""
    t = torch.as_tensor(np.ascontiguousarray(images_u8))
    if t.dim() == 3:
        t = t.unsqueeze(1)
    return t.to(dtype).div(255)


def train(model: nn.Module, images, labels, batch_size: int, iterations: int, lr: float,
          momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
          shuffle: bool = False, seed: int = 0, loss_impl: Optional[str] = None,
          optimizer_impl: Optional[str] = None, on_step=None, optimizer_type: str = "sgd",
          betas=(0.9, 0.999), eps: float = 1e-8, lr_schedule: Optional[LrSchedule] = None) -> List[float]:
    """Training as netc does it; returns the loss of every step (computed on
    the batch before that step's update). The optimizer is SGD unless
    optimizer_type is adam or adamw; lr_schedule is stepped after every
    optimizer step (make_scheduler).

    images: uint8 [N, C, H, W] (or [N, H, W]); labels: ints [N].
    Step k (1-based) uses batch_indices(k - 1, ...), pixels / 255 in the
    model's dtype, F.cross_entropy (mean over the batch), then one
    torch.optim.SGD step. `on_step(k, loss)` is called after each step.
    loss_impl / optimizer_impl default to the model's impl ("torch"/"manual")."""
    impl = getattr(model, "impl", "torch")
    loss_impl = loss_impl or impl
    optimizer_impl = optimizer_impl or impl
    images = np.asarray(images)
    labels_t = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    n = len(images)
    if n == 0 or len(labels_t) != n:
        raise ValueError("train: images and labels must be non-empty and of equal length")
    params = list(model.parameters())
    dtype = params[0].dtype if params else torch.float32
    opt = make_optimizer(params, lr, momentum, weight_decay, nesterov, optimizer_impl, optimizer_type, betas, eps)
    sched = make_scheduler(opt, lr_schedule)
    model.train()
    losses = []
    for k in range(iterations):
        idx = batch_indices(k, batch_size, n, shuffle, seed)
        x = to_input(images[idx], dtype)
        y = labels_t[idx]
        opt.zero_grad()
        loss = cross_entropy(model(x), y, loss_impl)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(float(loss.item()))
        if on_step is not None:
            on_step(k + 1, losses[-1])
    return losses


@torch.no_grad()
def evaluate(model: nn.Module, images, labels, batch_size: int = 500, return_logits: bool = False) -> dict:
    """{"test_loss": mean cross-entropy, "test_accuracy": percent correct,
    "images": N}; predictions are the first maximal logit. The loss is summed
    in float64. With return_logits, also "logits" (float64 numpy [N, K])."""
    impl = getattr(model, "impl", "torch")
    params = list(model.parameters())
    dtype = params[0].dtype if params else torch.float32
    model.eval()
    images = np.asarray(images)
    labels_t = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    total, correct, n = 0.0, 0, len(images)
    all_logits = []
    for s in range(0, n, batch_size):
        x = to_input(images[s:s + batch_size], dtype)
        y = labels_t[s:s + batch_size]
        out = model(x)
        total += float(cross_entropy(out, y, impl, reduction="none").double().sum())
        correct += int((out.argmax(dim=1) == y).sum())
        if return_logits:
            all_logits.append(out.double().numpy())
    res = {"test_loss": total / n if n else float("nan"),
           "test_accuracy": 100.0 * correct / n if n else float("nan"), "images": n}
    if return_logits:
        res["logits"] = np.concatenate(all_logits) if all_logits else np.zeros((0, 0))
    return res
