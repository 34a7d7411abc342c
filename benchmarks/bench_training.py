"""Training throughput (images/s) per registered model, and cold/warm FER2013 load time. Prints a Markdown table.

    python benchmarks/bench_training.py --data ../shared/data/fer2013/fer2013.csv.gz [--device cuda] [--steps 8]

Throughput is measured through the real training step (on-device augmentation, forward, backward, optimiser) on
the first images of the training split, after warm-up steps. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import tempfile
import time
from pathlib import Path

import torch

from facemotion.data import load_fer2013
from facemotion.models import count_macs, count_parameters, create_model, list_models
from facemotion.training import TrainConfig
from facemotion.training.fit import channels_last_safe, resolve_device
from facemotion.training.loop import train_one_epoch
from facemotion.training.optim import build_optimizer


def load_times(data: Path) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        load_fer2013(data, cache_dir=Path(cache))
        cold = time.perf_counter() - start
        start = time.perf_counter()
        load_fer2013(data, cache_dir=Path(cache))
        return cold, time.perf_counter() - start


def throughput(name: str, images: torch.Tensor, labels: torch.Tensor, device: torch.device, steps: int,
               batch_size: int) -> float:
    torch.manual_seed(0)
    cfg = TrainConfig(data="-", out="-", model=name, batch_size=batch_size, device=device.type)
    model = create_model(name).to(device)
    if not channels_last_safe(model, device):
        cfg = dataclasses.replace(cfg, channels_last=False)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, name="sgd", lr=0.01, weight_decay=5e-4)
    gen = torch.Generator(device=device).manual_seed(0)

    def run(n_steps: int) -> float:
        order = torch.arange(n_steps * batch_size, device=device)
        metrics = train_one_epoch(model, optimizer, images, labels, order, gen, cfg, lr_for_step=lambda s: 0.01,
                                  first_step=0)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return metrics.seconds

    run(2)
    return steps * batch_size / run(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--no-load", action="store_true", help="Skip the cold/warm data-load timing.")
    args = parser.parse_args()

    device = resolve_device(args.device)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"device {device}{' ' + torch.cuda.get_device_name() if device.type == 'cuda' else ''}, "
          f"torch {torch.__version__}")
    for form in () if args.no_load else (args.data, args.data.parent if args.data.is_file() else args.data):
        cold, warm = load_times(form)
        print(f"load {form}: cold {cold:.1f} s, warm {warm:.2f} s")
    data = load_fer2013(args.data)
    n = (args.steps + 2) * args.batch_size
    images = torch.from_numpy(data.train.images[:n, None]).to(device)
    labels = torch.from_numpy(data.train.labels[:n]).to(device)
    print("\n| model | params | MACs (48x48) | train images/s |\n|---|---|---|---|")
    for name in args.models or list_models():
        model = create_model(name)
        rate = throughput(name, images, labels, device, args.steps, args.batch_size)
        print(f"| {name} | {count_parameters(model):,} | {count_macs(model) / 1e6:.1f} M | {rate:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
