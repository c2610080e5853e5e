"""Times PyTorch training a graph file's network on a GPU, with netc's
settings, for tools/gpu-check.sh.

The network comes from netc_torch (the graph as `netc describe` of
$NETC_BINARY reads it, and PyTorch's default init from the graph's seed); SGD with the graph's lr and momentum, batches of
the graph's batch size drawn from one reshuffle of the training set per epoch
(on the GPU, so PyTorch's order, not netc's), the whole data set on the GPU
as float pixels / 255, the loss read back only every 100 steps (as netc
logs it), and the test set evaluated every eval_every steps and at the end,
outside the timed part. PyTorch's defaults otherwise (eager mode, cuDNN).

Prints one JSON object per run: {"run": r, "steps": n, "seconds": s,
"test_accuracy": a, "test_loss": l}. The first run includes CUDA's and
cuDNN's start-up costs; the later ones do not.
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netc_torch  # noqa: E402


def on_device(images_u8, labels, device):
    images = torch.as_tensor(images_u8).to(device).float().div_(255)
    return images, torch.as_tensor(labels).to(device)


@torch.no_grad()
def evaluate(model, images, labels, batch):
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=images.device)
    correct = torch.zeros((), dtype=torch.int64, device=images.device)
    for s in range(0, len(images), batch):
        out = model(images[s:s + batch])
        y = labels[s:s + batch]
        loss_sum += F.cross_entropy(out, y, reduction="sum").double()
        correct += (out.argmax(dim=1) == y).sum()
    model.train()
    n = len(images)
    return {"test_loss": float(loss_sum) / n, "test_accuracy": 100.0 * int(correct) / n}


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_once(graph, data, iterations, device):
    cfg = graph.train
    model = netc_torch.build_model(graph, seed=cfg.seed).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.optimizer.lr, momentum=cfg.optimizer.momentum,
                          weight_decay=cfg.optimizer.weight_decay, nesterov=cfg.optimizer.nesterov)
    train_x, train_y, test_x, test_y = data
    n, batch = len(train_x), cfg.batch_size
    generator = torch.Generator(device=device).manual_seed(cfg.seed)
    order = torch.empty(0, dtype=torch.int64, device=device)
    seconds, result = 0.0, {}
    synchronize(device)
    start = time.perf_counter()
    for k in range(1, iterations + 1):
        while len(order) < batch:  # a batch may straddle two epochs
            order = torch.cat([order, torch.randperm(n, generator=generator, device=device)])
        idx, order = order[:batch], order[batch:]
        loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if k % 100 == 0 or k == iterations:
            loss.item()  # read back as netc logs it
        if (cfg.eval_every and k % cfg.eval_every == 0) or k == iterations:
            synchronize(device)
            seconds += time.perf_counter() - start
            result = evaluate(model, test_x, test_y, batch)
            start = time.perf_counter()
    return seconds, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", required=True)
    parser.add_argument("--data", required=True, help="folder of the four MNIST-format IDX files")
    parser.add_argument("--iterations", type=int, default=None, help="default: the graph's")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--device", default="cuda", help="cuda, or cpu to try the script out")
    args = parser.parse_args()
    device = torch.device(args.device)
    graph = netc_torch.read_graph(args.graph)
    train_x, train_y = netc_torch.load_dataset(args.data, "train")
    test_x, test_y = netc_torch.load_dataset(args.data, "test")
    data = on_device(train_x, train_y, device) + on_device(test_x, test_y, device)
    iterations = args.iterations or graph.train.iterations
    for r in range(1, args.runs + 1):
        seconds, result = train_once(graph, data, iterations, device)
        print(json.dumps({"run": r, "steps": iterations, "seconds": seconds, **result}), flush=True)


if __name__ == "__main__":
    main()
