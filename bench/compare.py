#!/usr/bin/python3
"""netc against PyTorch, side by side: training step and inference times.

    /usr/bin/python3 bench/compare.py                      # A, B, C, lenet5, narrow at 1 and 2 threads
    /usr/bin/python3 bench/compare.py --models a --threads 1 --quick
    /usr/bin/python3 bench/compare.py --markdown docs/benchmarks.md

For every model and thread count it measures, in the same run and on the same
machine:

- the training step at batch --batch (100): forward, cross-entropy, backward
  and the SGD update of the graph's optimizer (lr 0.01 for Models A, B, C);
- inference (forward only) at each of --inference-batches (100 and 1000);
- netc's training step at each of --scaling-batches (500 and 1000; none with
  --quick): its cost per image against the training batch's.

netc's side is `netc bench GRAPH --threads T --batch-size B --steps N
--warmup W --json` (one JSON object on stdout; see README.md in this folder).
PyTorch's side is the same graph built by tools/netc_torch.py (from `netc
describe` of $NETC_BINARY, else of build/bin/netc), in a worker
process per thread count (torch.set_num_threads(T), set_num_interop_threads(1),
OMP_NUM_THREADS=T, all set before any parallel work), on random pixels in
[0, 1] and random labels, timed with time.perf_counter after warm-up steps:
a training step is zero_grad + forward + loss + backward + optimizer.step;
inference runs in eval mode under torch.no_grad().

Each (model, threads, batch) is measured in --rounds rounds; a round measures
netc and PyTorch back to back, in alternating order, so that background load
falls on both alike. A round yields the median of its timed steps; a row's time
is the median of its rounds, and its ratio is PyTorch ms / netc ms. Targets
(issues 4 and 14): training of Models A, B, C >= 2.0x at any thread count,
of other graphs >= 1.5x at 1 thread and >= 1.75x at 2 or more; inference >= 1.5x;
netc's training cost per image at a scaling batch at most 1.2x the training
batch's (issue 14: users who raise the batch must not fall off a cliff).
$NETC_HOST_TARGET, when set, reaches netc and is named in the page.

Output: a table on stdout (or, with --json, one JSON object with every round's
numbers and the machine's description); --markdown FILE also writes the table
as a Markdown page (atomically). Progress goes to stderr.

Exit status: 0 when the benchmark ran, whatever the ratios (speed is the
table's business, not a test's; --check turns missed targets into exit 3);
1 when netc or the PyTorch worker failed or netc's JSON breaks the contract;
2 for bad arguments; 77 when Python lacks torch, numpy or yaml (CTest's
SKIP_RETURN_CODE).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NETC = ROOT / "build" / "bin" / "netc"
MODEL_SHORTCUTS = {"a": "model_a", "b": "model_b", "c": "model_c"}

# Keys `netc bench --json` must print (the contract of issue 4).
NETC_KEYS = ("graph", "batch", "threads", "train_step_ms", "inference_ms", "images_per_s",
             "gflops", "peak_gflops", "train_step_gflop", "stages", "schedule")

# Training targets: issue 14's for the tutorial's models at any thread count,
# issue 4's for other graphs (LeNet-5 and narrow networks: 1.5x on one thread).
TUTORIAL_MODELS = ("model_a", "model_b", "model_c")
TUTORIAL_TRAIN_TARGET = 2.0
TRAIN_TARGET_ONE_THREAD = 1.5
TRAIN_TARGET_MORE_THREADS = 1.75
INFERENCE_TARGET = 1.5

# A training step at a scaling batch may cost at most this much more per
# image than at the training batch (issue 14).
SCALING_TARGET = 1.2

# Batches larger than the training batch cost proportionally more per step;
# they get proportionally fewer timed steps, but never fewer than this.
MIN_STEPS_LARGE_BATCH = 10


class BenchError(RuntimeError):
    """A failure of netc, of the PyTorch worker, or of netc's output: exit 1."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median(values: List[float]) -> float:
    return float(statistics.median(values))


# --------------------------------------------------------------------------
# The PyTorch worker: one process per thread count, answering JSON requests
# on stdin with JSON lines on stdout.
# --------------------------------------------------------------------------

def worker_main(threads: int) -> int:
    """Serve timing requests for PyTorch at `threads` threads (see TorchWorker)."""
    protocol_out = sys.stdout
    sys.stdout = sys.stderr  # a stray print must not corrupt the protocol
    import torch
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already fixed by earlier parallel work; reported in the hello
        pass
    sys.path.insert(0, str(ROOT / "tools"))
    import netc_torch  # sets 1 thread on import: undo that below
    torch.set_num_threads(threads)

    def reply(obj) -> None:
        protocol_out.write(json.dumps(obj) + "\n")
        protocol_out.flush()

    reply({"torch": torch.__version__, "threads": torch.get_num_threads(),
           "interop_threads": torch.get_num_interop_threads(),
           "parallel": _parallel_backend(torch.__config__.parallel_info()),
           "mkldnn": bool(torch.backends.mkldnn.is_available())})
    timers = TorchTimers(torch, netc_torch)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply({"ms": timers.measure(**request)})
        except Exception as e:  # the parent reports it and stops
            reply({"error": f"{type(e).__name__}: {e}"})
    return 0


def _parallel_backend(info: str) -> str:
    for line in info.splitlines():
        if line.startswith("ATen parallel backend:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


class TorchTimers:
    """Models (one per graph, shared by training and inference) and random
    batches (one per graph and batch size), built on first use."""

    def __init__(self, torch, netc_torch):
        self.torch, self.nt = torch, netc_torch
        self.models: Dict[str, object] = {}
        self.optimizers: Dict[str, object] = {}
        self.batches: Dict[tuple, tuple] = {}

    def model(self, graph_path: str):
        if graph_path not in self.models:
            model = self.nt.load_graph(graph_path, seed=0)
            o = model.graph.train.optimizer
            self.models[graph_path] = model
            self.optimizers[graph_path] = self.nt.make_optimizer(
                model.parameters(), o.lr, o.momentum, o.weight_decay, o.nesterov)
        return self.models[graph_path], self.optimizers[graph_path]

    def batch(self, graph_path: str, size: int):
        key = (graph_path, size)
        if key not in self.batches:
            model, _ = self.model(graph_path)
            g = model.graph
            classes = g.layer(g.output).output.size()
            gen = self.torch.Generator().manual_seed(size)
            x = self.torch.rand(size, g.input.c, g.input.h, g.input.w, generator=gen)
            y = self.torch.randint(0, classes, (size,), generator=gen)
            self.batches[key] = (x, y)
        return self.batches[key]

    def measure(self, graph: str, task: str, batch: int, steps: int, warmup: int) -> List[float]:
        """Milliseconds of each of `steps` timed steps after `warmup` untimed ones."""
        torch, F = self.torch, self.torch.nn.functional
        model, optimizer = self.model(graph)
        x, y = self.batch(graph, batch)
        if task == "train":
            model.train()

            def step():
                optimizer.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
        elif task == "inference":
            model.eval()

            def step():
                with torch.no_grad():
                    model(x)
        else:
            raise ValueError(f"unknown task {task!r}")
        for _ in range(warmup):
            step()
        samples = []
        for _ in range(steps):
            start = time.perf_counter()
            step()
            samples.append((time.perf_counter() - start) * 1e3)
        return samples


class TorchWorker:
    """The parent's handle on a worker process (compare.py --torch-worker T)."""

    def __init__(self, threads: int):
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(threads)
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--torch-worker", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.info = self._read()
        if self.info.get("threads") != threads:
            raise BenchError(f"PyTorch worker runs {self.info.get('threads')} threads, asked for {threads}")

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise BenchError(f"the PyTorch worker exited (status {code}); its messages are above")
        return json.loads(line)

    def measure(self, graph: Path, task: str, batch: int, steps: int, warmup: int) -> List[float]:
        request = {"graph": str(graph), "task": task, "batch": batch, "steps": steps, "warmup": warmup}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise BenchError(f"PyTorch {task} of {graph.name} at batch {batch}: {answer['error']}")
        return answer["ms"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------
# netc
# --------------------------------------------------------------------------

def run_netc_bench(netc: str, graph: Path, threads: int, batch: int, steps: int, warmup: int,
                   schedule: Optional[str], timeout_s: float) -> dict:
    """One `netc bench ... --json` run, its output checked against the contract."""
    cmd = [netc, "bench", str(graph), "--threads", str(threads), "--batch-size", str(batch),
           "--steps", str(steps), "--warmup", str(warmup), "--json"]
    if schedule:
        cmd += ["--schedule", schedule]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except OSError as e:
        raise BenchError(f"cannot run {netc}: {e}") from None
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {timeout_s:.0f} s: {shlex.join(cmd)}") from None
    if done.returncode != 0:
        raise BenchError(f"exit status {done.returncode}: {shlex.join(cmd)}\n{done.stderr.rstrip()}")
    return check_netc_output(done.stdout, cmd, threads, batch)


def check_netc_output(stdout: str, cmd: List[str], threads: int, batch: int) -> dict:
    where = shlex.join(cmd)
    try:
        result = json.loads(stdout)
    except json.JSONDecodeError as e:
        raise BenchError(f"{where}: stdout is not one JSON object ({e}):\n{stdout[:2000]}") from None
    if not isinstance(result, dict):
        raise BenchError(f"{where}: stdout is JSON but not an object")
    missing = [k for k in NETC_KEYS if k not in result]
    if missing:
        raise BenchError(f"{where}: JSON lacks {', '.join(missing)}")
    for key in ("train_step_ms", "inference_ms", "images_per_s", "gflops", "peak_gflops", "train_step_gflop"):
        value = result[key]
        if not _is_number(value) or value < 0:
            raise BenchError(f"{where}: \"{key}\" is {value!r}, expected a finite number >= 0")
    for key in ("train_step_ms", "inference_ms"):
        if result[key] <= 0:
            raise BenchError(f"{where}: \"{key}\" is {result[key]!r}, expected a time > 0")
    if result["batch"] != batch or result["threads"] != threads:
        raise BenchError(f"{where}: ran batch {result['batch']!r} at {result['threads']!r} threads, "
                         f"asked for batch {batch} at {threads}")
    stages = result["stages"]
    if not isinstance(stages, list) or not all(
            isinstance(s, dict) and isinstance(s.get("name"), str) and _is_number(s.get("ms"))
            and _is_number(s.get("percent")) for s in stages):
        raise BenchError(f"{where}: \"stages\" must be a list of {{name, ms, percent}} objects")
    return result


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------
# Rows and the measurement plan
# --------------------------------------------------------------------------

@dataclass
class Row:
    model: str
    graph: Path
    task: str  # "train" or "inference"
    batch: int
    threads: int
    steps: int
    netc_rounds: List[float] = field(default_factory=list)
    torch_rounds: List[float] = field(default_factory=list)
    netc_report: Optional[dict] = None  # the last `netc bench` output at this batch

    @property
    def target(self) -> float:
        if self.task == "inference":
            return INFERENCE_TARGET
        if self.model in TUTORIAL_MODELS:
            return TUTORIAL_TRAIN_TARGET
        return TRAIN_TARGET_ONE_THREAD if self.threads == 1 else TRAIN_TARGET_MORE_THREADS

    @property
    def netc_ms(self) -> float:
        return median(self.netc_rounds)

    @property
    def torch_ms(self) -> float:
        return median(self.torch_rounds)

    @property
    def ratio(self) -> float:
        return self.torch_ms / self.netc_ms

    @property
    def passed(self) -> bool:
        return self.ratio >= self.target

    @property
    def netc_gflops(self) -> float:
        """The step's work over the median time shown, not over the last round's time."""
        return self.netc_report["train_step_gflop"] / (self.netc_ms / 1e3)

    def to_json(self) -> dict:
        out = {"model": self.model, "graph": str(self.graph), "task": self.task, "batch": self.batch,
               "threads": self.threads, "steps": self.steps,
               "netc_ms": self.netc_ms, "pytorch_ms": self.torch_ms, "ratio": self.ratio,
               "target": self.target, "pass": self.passed,
               "netc_round_ms": self.netc_rounds, "pytorch_round_ms": self.torch_rounds}
        if self.task == "train" and self.netc_report:
            r = self.netc_report
            out.update({"netc_gflops": self.netc_gflops, "peak_gflops": r["peak_gflops"],
                        "train_step_gflop": r["train_step_gflop"],
                        "pytorch_gflops": r["train_step_gflop"] / (self.torch_ms / 1e3),
                        "stages": r["stages"], "schedule": r["schedule"]})
        return out


@dataclass
class ScalingRow:
    """netc's training step at a larger batch, per image against `base` (the training batch's row)."""
    model: str
    batch: int
    threads: int
    steps: int
    base: Row
    netc_rounds: List[float] = field(default_factory=list)

    @property
    def netc_ms(self) -> float:
        return median(self.netc_rounds)

    @property
    def ms_per_image(self) -> float:
        return self.netc_ms / self.batch

    @property
    def cost_ratio(self) -> float:
        return self.ms_per_image / (self.base.netc_ms / self.base.batch)

    @property
    def passed(self) -> bool:
        return self.cost_ratio <= SCALING_TARGET

    def to_json(self) -> dict:
        return {"model": self.model, "task": "train", "batch": self.batch, "threads": self.threads,
                "steps": self.steps, "netc_ms": self.netc_ms, "ms_per_image": self.ms_per_image,
                "base_batch": self.base.batch, "base_ms_per_image": self.base.netc_ms / self.base.batch,
                "cost_ratio": self.cost_ratio, "target": SCALING_TARGET, "pass": self.passed,
                "netc_round_ms": self.netc_rounds}


def steps_at(batch: int, train_batch: int, steps: int) -> int:
    """Timed steps at `batch`: `steps` at the training batch, fewer for larger ones."""
    if batch <= train_batch:
        return steps
    return max(min(steps, MIN_STEPS_LARGE_BATCH), math.ceil(steps * train_batch / batch))


def measure_model(args, worker: TorchWorker, model: str, graph: Path, threads: int):
    """All rows of one model at one thread count, netc and PyTorch alternating, and the
    scaling rows (netc only; its run at an inference batch times that batch's training step too)."""
    batches = [args.batch] + [b for b in args.inference_batches + args.scaling_batches if b != args.batch]
    batches = list(dict.fromkeys(batches))
    train = Row(model, graph, "train", args.batch, threads, args.steps)
    inference = {b: Row(model, graph, "inference", b, threads, steps_at(b, args.batch, args.steps))
                 for b in args.inference_batches}
    scaling = {b: ScalingRow(model, b, threads, steps_at(b, args.batch, args.steps), train)
               for b in args.scaling_batches}
    for r in range(args.rounds):
        for batch in batches:
            steps = steps_at(batch, args.batch, args.steps)
            with_train = batch == args.batch

            def netc_side():
                report = run_netc_bench(args.netc, graph, threads, batch, steps, args.warmup,
                                        args.schedule, args.netc_timeout)
                if with_train:
                    train.netc_rounds.append(report["train_step_ms"])
                    train.netc_report = report
                if batch in inference:
                    inference[batch].netc_rounds.append(report["inference_ms"])
                    inference[batch].netc_report = report
                if batch in scaling:
                    scaling[batch].netc_rounds.append(report["train_step_ms"])

            def torch_side():
                if with_train:
                    train.torch_rounds.append(median(worker.measure(graph, "train", batch, steps, args.warmup)))
                if batch in inference:
                    inference[batch].torch_rounds.append(
                        median(worker.measure(graph, "inference", batch, steps, args.warmup)))

            # Alternate who goes first, so that neither always runs in the
            # other's wake (caches, clock boost, a load that comes and goes).
            for side in ((netc_side, torch_side) if r % 2 == 0 else (torch_side, netc_side)):
                side()
            parts = []
            if with_train:
                parts.append(f"train netc {train.netc_rounds[-1]:.2f} ms, PyTorch {train.torch_rounds[-1]:.2f} ms")
            if batch in inference:
                row = inference[batch]
                parts.append(f"inference netc {row.netc_rounds[-1]:.2f} ms, PyTorch {row.torch_rounds[-1]:.2f} ms")
            if batch in scaling:
                parts.append(f"train netc {scaling[batch].netc_rounds[-1]:.2f} ms")
            log(f"  {model} {threads} thread(s) batch {batch} round {r + 1}/{args.rounds}: " + "; ".join(parts))
    return [train] + [inference[b] for b in args.inference_batches], [scaling[b] for b in args.scaling_batches]


# --------------------------------------------------------------------------
# The machine, the build, and the output
# --------------------------------------------------------------------------

def cpu_description() -> dict:
    model, cores = "unknown", set()
    physical, core = None, None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and model == "unknown":
                    model = value
                elif key == "physical id":
                    physical = value
                elif key == "core id":
                    core = value
                elif not key and core is not None:  # end of one processor's block
                    cores.add((physical, core))
                    physical, core = None, None
        if core is not None:
            cores.add((physical, core))
    except OSError:
        pass
    return {"cpu": model, "logical_cpus": os.cpu_count(), "physical_cores": len(cores) or None,
            "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "kernel": platform.release()}


def load_average() -> Optional[List[float]]:
    try:
        with open("/proc/loadavg", encoding="utf-8") as f:
            return [float(x) for x in f.read().split()[:3]]
    except (OSError, ValueError):
        return None


def git_commit() -> str:
    def git(*argv):
        return subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, text=True, check=True).stdout
    try:
        commit = git("rev-parse", "--short=12", "HEAD").strip()
        dirty = git("status", "--porcelain", "--untracked-files=no").strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def halide_version(netc_reports: List[dict]) -> str:
    for report in netc_reports:
        if isinstance(report.get("halide"), str):
            return report["halide"]
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libhalide14-0-dev"],
                              capture_output=True, text=True, check=True).stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def describe_run(args, rows: List[Row], torch_info: Dict[int, dict], started: datetime.datetime,
                 load_before, load_after) -> dict:
    reports = [r.netc_report for r in rows if r.netc_report]
    first_torch = next(iter(torch_info.values()), {})
    return {
        "date": started.isoformat(timespec="seconds"),
        "machine": cpu_description(),
        "load_average_before": load_before, "load_average_after": load_after,
        "netc_commit": git_commit(),
        "host_target": os.environ.get("NETC_HOST_TARGET"),
        "netc": args.netc,
        "schedule": args.schedule or (reports[0]["schedule"] if reports else None),
        "pytorch": first_torch.get("torch"),
        "pytorch_parallel": first_torch.get("parallel"),
        "pytorch_mkldnn": first_torch.get("mkldnn"),
        "pytorch_threads": {str(t): {"intra_op": i.get("threads"), "inter_op": i.get("interop_threads")}
                            for t, i in torch_info.items()},
        "halide": halide_version(reports),
        "python": platform.python_version(),
        "command": shlex.join([sys.executable] + sys.argv),
        "steps": args.steps, "warmup": args.warmup, "rounds": args.rounds, "quick": args.quick,
    }


def table_lines(rows: List[Row]) -> List[List[str]]:
    """Header and one line per row, as cells (text and Markdown share them)."""
    lines = [["Model", "Task", "Batch", "Threads", "netc ms", "PyTorch ms", "Ratio", "Target", "Result",
              "netc GFLOP/s (% of peak)", "PyTorch GFLOP/s"]]
    for row in rows:
        netc_gflops = torch_gflops = ""
        if row.task == "train" and row.netc_report:
            r = row.netc_report
            # A peak below the step's own GFLOP/s was probed on a busy machine.
            peak = r["peak_gflops"] or 0
            share = f" ({100 * row.netc_gflops / peak:.0f}%)" if peak >= row.netc_gflops else " (peak not measured)"
            netc_gflops = f"{row.netc_gflops:.1f}{share}"
            torch_gflops = f"{r['train_step_gflop'] / (row.torch_ms / 1e3):.1f}"
        lines.append([row.model, row.task, str(row.batch), str(row.threads), f"{row.netc_ms:.2f}",
                      f"{row.torch_ms:.2f}", f"{row.ratio:.2f}x", f"{row.target:.2f}x",
                      "pass" if row.passed else "FAIL", netc_gflops, torch_gflops])
    return lines


def scaling_lines(rows: List[ScalingRow]) -> List[List[str]]:
    """Header and one line per scaling row, as cells."""
    lines = [["Model", "Threads", "Batch", "netc ms", "ms per image", "Base batch", "Base ms per image",
              "Cost ratio", "Target", "Result"]]
    for row in rows:
        lines.append([row.model, str(row.threads), str(row.batch), f"{row.netc_ms:.2f}", f"{row.ms_per_image:.4f}",
                      str(row.base.batch), f"{row.base.netc_ms / row.base.batch:.4f}", f"{row.cost_ratio:.2f}x",
                      f"<= {SCALING_TARGET:.2f}x", "pass" if row.passed else "FAIL"])
    return lines


def text_table(lines: List[List[str]], left=(0, 1, 8)) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []  # text columns (`left`) align left, numbers right
    for n, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in out)


def summary_line(rows: list) -> str:
    failed = [r for r in rows if not r.passed]
    if not failed:
        return f"All {len(rows)} rows meet their targets."
    return f"{len(failed)} of {len(rows)} rows miss their targets."


def markdown_table(lines: List[List[str]], left=(0, 1, 8)) -> List[str]:
    out = ["| " + " | ".join(lines[0]) + " |",
           "|" + "|".join("---" if i in left else "---:" for i in range(len(lines[0]))) + "|"]
    return out + ["| " + " | ".join(line) + " |" for line in lines[1:]]


SCALING_NOTE = ("Training cost per image as the batch grows (netc alone): the median training step at each "
                "larger batch, per image, against the training batch's; target (issue 14): at most "
                f"{SCALING_TARGET:.1f}x.")


def markdown_page(rows: List[Row], scaling: List[ScalingRow], meta: dict) -> str:
    m = meta["machine"]
    cores = f"{m['physical_cores']} cores" if m["physical_cores"] else "cores unknown"
    out = ["# Benchmarks: netc against PyTorch", "",
           "Generated by `bench/compare.py` (see `bench/README.md`); do not edit by hand.", ""]
    if meta["quick"]:
        out += ["**A `--quick` run: a few steps only, not a measurement.**", ""]
    def load(v):
        return " / ".join(f"{x:.2f}" for x in v) if v else "unknown"

    out += [
        f"- Date: {meta['date']}",
        f"- Machine: {m['cpu']}, {cores}, {m['logical_cpus']} logical CPUs "
        f"({m['usable_cpus']} usable by this run), Linux {m['kernel']}",
        f"- Load average (1/5/15 min) before: {load(meta['load_average_before'])}, "
        f"after: {load(meta['load_average_after'])}",
        f"- netc commit: `{meta['netc_commit']}`, schedule: `{meta['schedule']}`, "
        f"target: `{meta['host_target'] or 'host'}`",
        f"- PyTorch {meta['pytorch']} ({meta['pytorch_parallel']} backend, oneDNN "
        f"{'on' if meta['pytorch_mkldnn'] else 'off'}), Halide {meta['halide']}, Python {meta['python']}",
        f"- Steps: {meta['steps']} timed after {meta['warmup']} warm-up, {meta['rounds']} rounds per row "
        "(fewer timed steps for batches above the training batch)",
        f"- Command: `{meta['command']}`",
        "",
    ]
    out += markdown_table(table_lines(rows))
    if scaling:
        out += ["", SCALING_NOTE, ""] + markdown_table(scaling_lines(scaling), left=(0, 9))
    out += ["", summary_line(rows + scaling), "",
            "Times are medians: the median of the timed steps in each round, then the median of the "
            "rounds. A round measures netc and PyTorch back to back, in alternating order. Ratio = "
            "PyTorch ms / netc ms; targets (issues 4 and 14): training 2.0x for Models A, B, C, 1.5x for "
            "other graphs at 1 thread and 1.75x at 2 or more, inference 1.5x. A training step is forward, cross-entropy, backward and the SGD update "
            "(batch 100); inference is the forward pass. GFLOP/s of a training step: netc's count of "
            "the step's work divided by its time; % of peak: against the FMA peak netc measures at "
            "that thread count.", ""]
    for row in rows:
        if row.task != "train" or not row.netc_report or not row.netc_report["stages"]:
            continue
        out += [f"### netc stages: {row.model}, {row.threads} thread(s), batch {row.batch}", "",
                "| Stage | ms | % |", "|---|---:|---:|"]
        for s in sorted(row.netc_report["stages"], key=lambda s: -s["ms"]):
            out.append(f"| {s['name']} | {s['ms']:.2f} | {s['percent']:.1f} |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def write_file_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def graph_of(name: str) -> Path:
    """a, model_a or a path to a graph file -> the graph file."""
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        return Path(name).resolve()
    return ROOT / "graphs" / f"{MODEL_SHORTCUTS.get(name.lower(), name)}.yaml"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def parse_args(argv: List[str]):
    p = argparse.ArgumentParser(
        prog="compare.py", description="netc against PyTorch, side by side (see bench/README.md).")
    p.add_argument("--netc", default=str(DEFAULT_NETC), help="the netc binary (default: build/bin/netc)")
    p.add_argument("--models", nargs="+", default=["a", "b", "c", "lenet5", "narrow"], metavar="M",
                   help="a, b, c, a graph name in graphs/, or a graph file (default: a b c lenet5 narrow)")
    p.add_argument("--threads", nargs="+", type=positive_int, default=[1, 2], metavar="T",
                   help="thread counts (default: 1 2)")
    p.add_argument("--batch", type=positive_int, default=100, help="training batch (default 100)")
    p.add_argument("--inference-batches", nargs="+", type=positive_int, default=[100, 1000], metavar="B",
                   help="inference batches (default: 100 1000)")
    p.add_argument("--scaling-batches", nargs="+", type=positive_int, metavar="B",
                   help="batches at which netc's training cost per image is compared with the training "
                        "batch's (default: 500 1000; --quick: none)")
    p.add_argument("--no-scaling", action="store_true", help="measure no scaling batches")
    p.add_argument("--steps", type=positive_int, help="timed steps per round (default 50; --quick: 3)")
    p.add_argument("--warmup", type=int, help="untimed warm-up steps per round (default 5; --quick: 1)")
    p.add_argument("--rounds", type=positive_int, help="rounds per row (default 3; --quick: 1)")
    p.add_argument("--quick", action="store_true", help="few steps and one round: a smoke test, not a measurement")
    p.add_argument("--schedule", help="schedule file for netc (default: netc's own)")
    p.add_argument("--netc-timeout", type=float, default=1800, metavar="S",
                   help="seconds one `netc bench` may take, compiling included (default 1800)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown (e.g. docs/benchmarks.md)")
    p.add_argument("--check", action="store_true", help="exit 3 when a row misses its target")
    args = p.parse_args(argv)
    netc = shutil.which(args.netc)
    if netc is None:
        p.error(f"--netc: {args.netc} is not an executable program (build netc first, or pass --netc PATH)")
    args.netc = os.path.abspath(netc) if os.sep in args.netc else netc
    quick = args.quick
    args.steps = args.steps or (3 if quick else 50)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 5)
    args.rounds = args.rounds or (1 if quick else 3)
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    args.threads = list(dict.fromkeys(args.threads))
    args.inference_batches = list(dict.fromkeys(args.inference_batches))
    if args.no_scaling:
        args.scaling_batches = []
    elif args.scaling_batches is None:
        args.scaling_batches = [] if quick else [500, 1000]
    args.scaling_batches = [b for b in dict.fromkeys(args.scaling_batches) if b != args.batch]
    args.graphs = {}
    for name in args.models:
        graph = graph_of(name)
        if not graph.is_file():
            p.error(f"--models: no graph file {graph}")
        args.graphs[graph.stem] = graph
    if args.schedule:
        if not os.path.isfile(args.schedule):
            p.error(f"--schedule: no such file {args.schedule}")
        args.schedule = os.path.abspath(args.schedule)
    return args


def missing_python_modules() -> List[str]:
    return [m for m in ("torch", "numpy", "yaml") if importlib.util.find_spec(m) is None]


def run(args) -> int:
    started = datetime.datetime.now(datetime.timezone.utc).astimezone()
    load_before = load_average()
    if load_before and load_before[0] > 0.5 * (os.cpu_count() or 1):
        log(f"compare.py: warning: load average {load_before[0]:.2f}: other work will distort the timings")
    rows: List[Row] = []
    scaling: List[ScalingRow] = []
    torch_info: Dict[int, dict] = {}
    for threads in args.threads:
        # A fresh worker per thread count: torch's thread settings only hold
        # when made before any parallel work.
        with TorchWorker(threads) as worker:
            torch_info[threads] = worker.info
            for model, graph in args.graphs.items():
                log(f"{model}, {threads} thread(s):")
                measured, scaled = measure_model(args, worker, model, graph, threads)
                rows += measured
                scaling += scaled
    # Measured thread count by thread count; shown model by model.
    models = list(args.graphs)
    rows.sort(key=lambda r: (models.index(r.model), r.task != "train", r.batch, r.threads))
    scaling.sort(key=lambda r: (models.index(r.model), r.threads, r.batch))
    meta = describe_run(args, rows, torch_info, started, load_before, load_average())
    if args.json:
        print(json.dumps({"meta": meta, "rows": [r.to_json() for r in rows],
                          "scaling_rows": [r.to_json() for r in scaling]}, indent=2))
    else:
        print(text_table(table_lines(rows)))
        if scaling:
            print()
            print(SCALING_NOTE)
            print(text_table(scaling_lines(scaling), left=(0, 9)))
        print()
        print(summary_line(rows + scaling))
    if args.markdown:
        write_file_atomically(Path(args.markdown), markdown_page(rows, scaling, meta))
        log(f"wrote {args.markdown}")
    return 3 if args.check and not all(r.passed for r in rows + scaling) else 0


def main(argv: List[str]) -> int:
    if len(argv) == 2 and argv[0] == "--torch-worker":
        return worker_main(int(argv[1]))
    args = parse_args(argv)
    missing = missing_python_modules()
    if missing:
        log(f"compare.py: skipped: Python lacks {', '.join(missing)} "
            "(Debian's python3-torch, python3-numpy, python3-yaml)")
        return 77
    try:
        return run(args)
    except BenchError as e:
        log(f"compare.py: error: {e}")
        return 1
    except KeyboardInterrupt:
        log("compare.py: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
