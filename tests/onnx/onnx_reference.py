"""A small reference evaluator of ONNX models, on torch.nn.functional.

ONNX 1.12 (Debian's python3-onnx) has no reference runtime (``onnx.reference``
came in 1.13), so the tests run exported models with this one. It knows the
ops ``netc export`` writes (docs/onnx.md) and refuses any other op or any
attribute it does not read, so that it never evaluates a model wrongly.

    run(model, {"input": x}) -> {output name: tensor}
"""

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F


def _attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pads(a):
    p = a.pop("pads", [0, 0, 0, 0])
    if p[0] != p[2] or p[1] != p[3]:
        raise ValueError(f"asymmetric pads {p}")
    return (p[0], p[1])


def _node(node, x, a):
    op = node.op_type
    if op == "Conv":
        assert a.pop("group", 1) == 1 and a.pop("dilations", [1, 1]) == [1, 1]
        a.pop("kernel_shape", None)
        return F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=tuple(a.pop("strides", [1, 1])),
                        padding=_pads(a))
    if op in ("MaxPool", "AveragePool"):
        k, s, p = tuple(a.pop("kernel_shape")), tuple(a.pop("strides", [1, 1])), _pads(a)
        if op == "MaxPool":
            return F.max_pool2d(x[0], k, s, p)
        return F.avg_pool2d(x[0], k, s, p, count_include_pad=bool(a.pop("count_include_pad", 0)))
    if op == "Relu":
        return torch.relu(x[0])
    if op == "Tanh":
        return torch.tanh(x[0])
    if op == "Sigmoid":
        return torch.sigmoid(x[0])
    if op == "LeakyRelu":
        return F.leaky_relu(x[0], a.pop("alpha", 0.01))
    if op == "Flatten":
        return torch.flatten(x[0], a.pop("axis", 1))
    if op == "Identity":
        return x[0]
    if op == "Gemm":
        A, B = x[0], x[1]
        B = B.t() if a.pop("transB", 0) else B
        assert a.pop("transA", 0) == 0
        y = a.pop("alpha", 1.0) * (A @ B)
        return y + a.pop("beta", 1.0) * x[2] if len(x) > 2 else y
    if op in ("Add", "Sum"):
        return sum(x[1:], x[0])
    if op == "Concat":
        return torch.cat(x, a.pop("axis"))
    if op == "Softmax":
        return torch.softmax(x[0], a.pop("axis", -1))
    raise ValueError(f"op {op} is not one this evaluator knows")


def run(model, inputs):
    """Evaluates `model` (a ModelProto) on `inputs` (name -> tensor), in float32."""
    values = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    values.update({k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in inputs.items()})
    for node in model.graph.node:
        a = _attributes(node)
        out = _node(node, [values[i] for i in node.input if i], a)
        if a:
            raise ValueError(f"node {node.name} ({node.op_type}): attributes {sorted(a)} not read")
        values[node.output[0]] = out
    return {o.name: values[o.name] for o in model.graph.output}
