#!/usr/bin/env python
"""The GPU route: the large recipe on one CUDA GPU inside a hard wall-clock budget, from a payload packed here.

    python scripts/gpu_train.py pack                                  # here: -> artifacts/gpu/fer2013-gpu.npz
    PYTHONPATH=src python scripts/gpu_train.py train --out "$OUT"     # on the GPU machine: < 9 min in all
    python scripts/gpu_train.py collect DIR                           # here: DIR's files -> runs/gpu_*/best.pt

``pack`` writes FER2013 Training as JPEG and PublicTest exact (no PrivateTest: nothing there can select on it) and
checks that the payload and the working tree fit the GPU machine's transfer limit. ``train`` runs a short probe (all
seeds at once, a few epochs) to time an epoch on this GPU, then plans seeds x epochs to end inside ``--budget``; a
run projected far past it is restarted once with a corrected plan, and any worker still running at the deadline is
stopped (its ``best.pt``, written atomically whenever PublicTest improves, is kept). It writes each seed's best
checkpoint as fp16 weights and one bundle of configs, metrics and logs, at most 8 files. ``collect`` lays them out
as run directories that ``facemotion export`` and ``scripts/release_model.sh`` take.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PAYLOAD = Path("artifacts/gpu/fer2013-gpu.npz")
DATA = REPO.parent / "shared" / "data" / "fer2013" / "fer2013.csv.gz"
MiB = 2**20
TRANSFER_LIMIT = 64 * MiB       # the working tree plus the carried paths
HEADROOM_MIB = 4.0              # left free under TRANSFER_LIMIT by default
RESULT_FILE_LIMIT = 16 * MiB    # each file that comes back
RESULT_FILES = 8                # files that come back
FINISH_SECONDS = 25.0           # fp16 conversion and the bundle, after the workers stop
RECIPE = {"batch_size": 256, "lr": 0.1, "warmup_epochs": 5.0}  # the rest are TrainConfig's defaults

log = logging.getLogger("gpu_train")


# ---------------------------------------------------------------- pack (here)
def working_tree_bytes() -> int:
    """What the device tool sends besides the carried paths: tracked files and untracked ones git does not ignore."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                         check=True).stdout
    total = 0
    for name in filter(None, out.decode().split("\0")):
        try:
            total += (REPO / name).stat().st_size
        except FileNotFoundError:  # listed but deleted since (git lists removed tracked files too)
            pass
    return total


def pack(args: argparse.Namespace) -> None:
    from facemotion.data import load_fer2013, write_packed

    data = load_fer2013(args.data)
    if args.subset:
        data = dataclasses.replace(data, train=data.train.subset(args.subset), val=data.val.subset(args.subset))
    tree = working_tree_bytes()
    out = args.out if args.out.is_absolute() else REPO / args.out
    for quality in args.quality:
        meta = write_packed(data, out, jpeg_quality={"train": quality}, splits=("train", "val"),
                            meta={"source_hash": data.content_hash(), "source_name": Path(data.source).name})
        size = out.stat().st_size
        total = tree + size
        train, val = meta["splits"]["train"], meta["splits"]["val"]
        print(f"{out.relative_to(REPO) if out.is_relative_to(REPO) else out}: {size / MiB:.2f} MiB "
              f"(Training {train['images']:,} as JPEG quality {quality}: mean abs pixel error "
              f"{train['mean_abs_error']:.3f}, max {train['max_abs_error']}; PublicTest {val['images']:,} exact)")
        print(f"working tree {tree / MiB:.2f} MiB + payload = {total / MiB:.2f} MiB of {TRANSFER_LIMIT / MiB:.0f} MiB "
              f"({(TRANSFER_LIMIT - total) / MiB:.2f} MiB left; at least {args.headroom:.0f} MiB wanted)")
        if total + args.headroom * MiB <= TRANSFER_LIMIT:
            return
        print(f"quality {quality} leaves too little room; trying the next quality")
    out.unlink()
    sys.exit(f"no quality in {args.quality} fits {TRANSFER_LIMIT / MiB:.0f} MiB with {args.headroom} MiB to spare")


# ---------------------------------------------------------------- train (GPU machine)
def worker(config: Path) -> None:
    """One seed's fit(), in its own process so that several seeds share the GPU."""
    import importlib

    import torch

    from facemotion.training import TrainConfig, fit

    fit_module = importlib.import_module("facemotion.training.fit")  # the package's ``fit`` is the function
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.backends.cudnn.benchmark = True  # fixed 48x48 shapes: autotuned kernels pay back within an epoch
    # A GPU epoch takes seconds; drawing 200+ figures would cost as much. collect draws curves.png from metrics.csv.
    fit_module.plot_curves = lambda run_dir: None
    fit(TrainConfig.from_dict(json.loads(config.read_text())))


class Workers:
    """Seed processes on the GPU, watched through their metrics.csv rows (one per finished epoch)."""

    def __init__(self, configs: list[dict[str, Any]], env: dict[str, str]) -> None:
        self.dirs = [Path(c["out"]) for c in configs]
        self.epochs = configs[0]["epochs"]
        self.started = time.time()
        self.seen: list[list[float]] = [[] for _ in configs]  # the metrics.csv mtime when each row was seen
        self.procs = []
        for cfg, run in zip(configs, self.dirs):
            run.mkdir(parents=True, exist_ok=True)
            (run / "train_config.json").write_text(json.dumps(cfg))
            with open(run / "worker.log", "ab") as out:
                command = [sys.executable, __file__, "_worker", str(run / "train_config.json")]
                self.procs.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT))

    def poll(self) -> None:
        for i, run in enumerate(self.dirs):
            metrics = run / "metrics.csv"
            if metrics.is_file():
                rows = max(len(metrics.read_text().splitlines()) - 1, 0)
                while len(self.seen[i]) < rows:
                    self.seen[i].append(metrics.stat().st_mtime)

    def running(self) -> bool:
        return any(p.poll() is None for p in self.procs)

    def epoch_seconds(self) -> float | None:
        """The slowest worker's wall time per epoch after its first, or None before every worker has two rows."""
        rates = []
        for times in self.seen:
            if len(times) < 2:
                return None
            rates.append((times[-1] - times[0]) / (len(times) - 1))
        return max(rates)

    def first_epoch_at(self) -> float:
        """Seconds from launch until the slowest worker finished its first epoch (start-up plus one epoch)."""
        return max(t[0] for t in self.seen) - self.started

    def projected_end(self) -> float:
        rate = self.epoch_seconds() or 0.0
        return time.time() + max((self.epochs - len(t)) * rate for t in self.seen)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL: a checkpoint is replaced atomically, so a stop at any moment leaves best.pt whole."""
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        end = time.time() + grace
        for p in self.procs:
            try:
                p.wait(max(end - time.time(), 0.1))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def plan(epoch_seconds: float, concurrency: int, available: float, args: argparse.Namespace) -> tuple[int, int]:
    """(seeds, epochs): the most seeds that still reach ``--epochs`` in ``available`` seconds, epochs up to
    ``--max-epochs``, never more seeds than the ``concurrency`` measured. An epoch of k concurrent seeds is taken
    as ``k / concurrency`` of the measured one (the GPU is the bottleneck); the check after a few epochs of the real
    run corrects that guess."""
    for seeds in range(min(args.seeds, concurrency), 0, -1):
        # a tiny probe can finish its epochs within the clock's resolution: never plan on a zero-length epoch
        per_epoch = max(epoch_seconds * (seeds / concurrency if seeds < concurrency else 1.0), 1e-3)
        epochs = min(int(available / per_epoch), args.max_epochs)
        if epochs >= args.epochs or seeds == 1:
            return seeds, epochs
    raise AssertionError("unreachable")


def run_configs(args: argparse.Namespace, seeds: int, epochs: int, work: Path, tag: str,
                subset: int = 0) -> list[dict[str, Any]]:
    from facemotion.training import TrainConfig

    settings = {**RECIPE, **dict(args.set)}
    threads = max(1, (os.cpu_count() or 2) // seeds)
    configs = []
    for seed in range(args.first_seed, args.first_seed + seeds):
        name = f"probe_s{seed}" if tag == "probe" else f"gpu_{args.model}_e{epochs}_s{seed}"
        cfg = TrainConfig(data=str(args.data), out=str(work / tag / name), model=args.model, epochs=epochs,
                          seed=seed, subset=subset or args.subset, device=args.device, threads=threads, **settings)
        configs.append(cfg.to_dict())
    return configs


def watch(workers: Workers, deadline: float, check_after: int | None = None) -> str:
    """Wait for the workers; 'done', 'deadline' (stopped at it) or 'overrun' (projected far past it)."""
    while workers.running():
        time.sleep(0.5)
        workers.poll()
        if time.time() >= deadline:
            workers.stop()
            return "deadline"
        if check_after and all(len(t) >= check_after for t in workers.seen):
            check_after = None
            planned = deadline - workers.started
            overrun = workers.projected_end() - deadline
            log.info("after %d epochs: %.1f s per epoch, projected %+.0f s against the deadline",
                     len(workers.seen[0]), workers.epoch_seconds(), overrun)
            if overrun > 0.1 * planned:
                workers.stop()
                return "overrun"
    workers.poll()
    return "done"


def half_checkpoint(best: Path, out: Path) -> dict[str, Any]:
    """best.pt with fp16 weights (vgg_xl: 15.7 MB against 31 in fp32); the loader casts them back to fp32."""
    import torch

    checkpoint = torch.load(best, map_location="cpu", weights_only=True)
    checkpoint["state_dict"] = {k: v.half() if v.is_floating_point() else v
                                for k, v in checkpoint["state_dict"].items()}
    checkpoint["weights_dtype"] = "float16"
    torch.save(checkpoint, out)
    return {"file": out.name, "bytes": out.stat().st_size, "epoch": checkpoint.get("epoch"),
            "val_accuracy": checkpoint.get("val_accuracy")}


def train(args: argparse.Namespace) -> None:
    start = time.time()
    deadline = start + args.budget - FINISH_SECONDS
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.StreamHandler(), logging.FileHandler(args.out / "gpu_train.log")])
    if args.seeds + 2 > RESULT_FILES:
        sys.exit(f"--seeds {args.seeds}: at most {RESULT_FILES - 2} (one file each, plus the bundle and the log)")
    if args.probe_epochs < 2:
        sys.exit("--probe-epochs must be at least 2: the first epoch also holds start-up and kernel autotuning")
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="facemotion-gpu-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK)
                                 else None))
    env = {**os.environ, "FACEMOTION_CACHE": str(work / "cache"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    os.environ["FACEMOTION_CACHE"] = env["FACEMOTION_CACHE"]
    from facemotion.data import load_fer2013
    from facemotion.data.packed import packed_meta

    data = load_fer2013(args.data)  # decoded once into the shared cache; every worker then reads arrays
    report: dict[str, Any] = {"payload": packed_meta(args.data), "budget_s": args.budget, "recipe": {
        **RECIPE, **dict(args.set)}, "model": args.model, "train_images": len(data.train), "val_images": len(data.val)}
    try:
        import torch

        report["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
        report["torch"] = torch.__version__
    except ImportError:
        pass
    log.info("payload %s: %d train, %d val images; %s", args.data, len(data.train), len(data.val), report.get("gpu"))

    n_train = min(args.subset, len(data.train)) if args.subset else len(data.train)
    n_probe = min(args.probe_subset, n_train) if args.probe_subset else n_train
    probe = Workers(run_configs(args, args.seeds, args.probe_epochs, work, "probe", subset=n_probe), env)
    state = watch(probe, deadline)
    if state != "done" or probe.epoch_seconds() is None or any(p.returncode for p in probe.procs):
        _finish(args, work, report, [], f"probe failed ({state}); see the probe logs in the bundle")
        sys.exit(1)
    startup = probe.first_epoch_at() - probe.epoch_seconds()
    epoch_s = probe.epoch_seconds() * n_train / n_probe  # a little high: the PublicTest pass does not scale
    report["probe"] = {"seeds": args.seeds, "images": n_probe, "epoch_seconds": epoch_s, "startup_seconds": startup}
    log.info("probe: %d seeds at once on %d images: %.2f s per full epoch, %.1f s start-up", args.seeds, n_probe,
             epoch_s, startup)

    runs: list[Workers] = []
    for attempt in (1, 2):
        available = (deadline - time.time() - startup) * 0.95
        seeds, epochs = plan(epoch_s, args.seeds if attempt == 1 else len(runs[-1].procs), available, args)
        if epochs < 1:
            state = "no time left for one epoch"
            break
        log.info("plan %d: %d seeds x %d epochs (%.0f s available)", attempt, seeds, epochs, available)
        report.setdefault("plans", []).append({"seeds": seeds, "epochs": epochs, "available_s": available})
        runs.append(Workers(run_configs(args, seeds, epochs, work, f"run{attempt}"), env))
        state = watch(runs[-1], deadline, check_after=args.check_after if attempt == 1 else None)
        report["plans"][-1].update(ended=state, returncodes=[p.returncode for p in runs[-1].procs])
        if state != "overrun":
            break
        epoch_s = runs[-1].epoch_seconds()
    _finish(args, work, report, runs[-1].dirs if runs and state != "overrun" else [], state)
    log.info("total %.0f s", time.time() - start)


def _finish(args: argparse.Namespace, work: Path, report: dict[str, Any], dirs: list[Path], state: str) -> None:
    """fp16 best checkpoints and one bundle of configs, metrics and logs into --out; prints what to run next."""
    report["ended"], report["checkpoints"] = state, []
    from facemotion.training.checkpoint import BEST

    for run in dirs:
        best = run / BEST
        if not best.is_file():
            log.info("%s: no %s (no epoch finished)", run.name, BEST)
            continue
        entry = {**half_checkpoint(best, args.out / f"{run.name}.pt"), "run": f"{run.parent.name}/{run.name}"}
        if entry["bytes"] > RESULT_FILE_LIMIT:
            log.info("%s: %.1f MiB is over the %d MiB a result file may have; dropped", entry["file"],
                     entry["bytes"] / MiB, RESULT_FILE_LIMIT // MiB)
            (args.out / entry["file"]).unlink()
            continue
        report["checkpoints"].append(entry)
        log.info("%s: best PublicTest %.4f at epoch %s (%.1f MiB)", entry["file"], entry["val_accuracy"],
                 entry["epoch"], entry["bytes"] / MiB)
    (work / "report.json").write_text(json.dumps(report, indent=2))
    with tarfile.open(args.out / "runs.tar.gz", "w:gz") as bundle:
        bundle.add(work / "report.json", "report.json")
        for tag in ("probe", "run1", "run2"):
            for run in sorted((work / tag).glob("*")) if (work / tag).is_dir() else []:
                for name in ("config.json", "metrics.csv", "worker.log"):
                    if (run / name).is_file():
                        bundle.add(run / name, f"{tag}/{run.name}/{name}")
    shutil.rmtree(work, ignore_errors=True)
    log.info("next, on the machine that made the payload: python scripts/gpu_train.py collect FILES_AT "
             "(FILES_AT: the folder the files came back to)")


# ---------------------------------------------------------------- collect (here)
def collect(args: argparse.Namespace) -> None:
    import torch

    from facemotion.training.checkpoint import BEST
    from facemotion.training.run_dir import plot_curves, read_metrics, write_config

    with tarfile.open(args.results / "runs.tar.gz") as bundle:
        bundle.extractall(args.tmp, filter="data")
    report = json.loads((args.tmp / "report.json").read_text())
    runs = []
    for entry in report["checkpoints"]:
        name = Path(entry["file"]).stem
        run = args.runs / name
        if run.exists():
            sys.exit(f"{run} exists already; move it away or pass another --runs")
        shutil.copytree(args.tmp / entry["run"], run)
        checkpoint = torch.load(args.results / entry["file"], map_location="cpu", weights_only=True)
        checkpoint["config"]["out"] = str(run)  # where the run lives now, for the model card's command
        torch.save(checkpoint, run / BEST)
        config = json.loads((run / "config.json").read_text())
        config["config"]["out"] = str(run)
        write_config(run, config)
        plot_curves(run)
        rows = read_metrics(run)
        print(f"{run}: best PublicTest {entry['val_accuracy']:.4f} at epoch {entry['epoch']} of {len(rows)}")
        runs.append(run)
    print(f"GPU {report.get('gpu')}, plans {report.get('plans')}, ended: {report['ended']}")
    if runs:
        data = os.environ.get("FACEMOTION_DATA", "../shared/data/fer2013/fer2013.csv.gz")
        weights = " ".join(f"--model {r}/best.pt" for r in runs)
        print("score each on PublicTest:  for r in " + " ".join(map(str, runs)) +
              f"; do facemotion evaluate --model $r/best.pt --data {data} --split val --out $r/eval-val; done")
        print(f"ensemble of all, to try:   facemotion export {weights} --out artifacts/gpu/ensemble.onnx "
              f"--calibrate {data} --no-flip-tta")
        print("release a chosen set:      scripts/release_model.sh NAME --int8 --no-flip-tta "
              + " ".join(map(str, runs)))


def _setting(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.replace("-", "_"), json.loads(value)
    except json.JSONDecodeError:
        return key.replace("-", "_"), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="FER2013 -> the compact payload (here)")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, default=PAYLOAD)
    p.add_argument("--quality", type=int, nargs="+", default=[95, 92, 90, 85, 80, 75, 70],
                   help="JPEG qualities to try, in order; the first that fits is kept")
    p.add_argument("--headroom", type=float, default=HEADROOM_MIB, help="MiB to leave free under the 64 MiB limit")
    p.add_argument("--subset", type=int, default=0, help="stratified images per split, for tests")
    t = sub.add_parser("train", help="probe, plan, train all seeds within --budget (GPU machine)")
    t.add_argument("--data", type=Path, default=PAYLOAD)
    t.add_argument("--out", type=Path, required=True, help="where the results go ($OUT)")
    t.add_argument("--budget", type=float, default=510.0, help="seconds for the whole command, finishing included")
    t.add_argument("--arch", "--model", dest="model", default="vgg_xl", help="architecture to train (--model: old)")
    t.add_argument("--epochs", type=int, default=200, help="epochs every seed should reach; seeds are cut first")
    t.add_argument("--max-epochs", type=int, default=300, help="epochs to go up to when time allows")
    t.add_argument("--seeds", type=int, default=4, help="most seeds at once (at most 6)")
    t.add_argument("--first-seed", type=int, default=1)
    t.add_argument("--probe-epochs", type=int, default=3)
    t.add_argument("--probe-subset", type=int, default=8192, help="training images per probe epoch (0: all)")
    t.add_argument("--check-after", type=int, default=3, help="epochs of the real run before its projection check")
    t.add_argument("--subset", type=int, default=0, help="training images per seed, for dry runs")
    t.add_argument("--device", default="cuda", help="cuda (fails at once without one), or cpu for dry runs")
    t.add_argument("--set", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                   help="any TrainConfig setting, e.g. --set erase=0.25 --set model_kwargs='{\"dropout\": 0.4}'")
    c = sub.add_parser("collect", help="the returned files -> run directories, and what to run next (here)")
    c.add_argument("results", type=Path, help="the folder holding runs.tar.gz and the .pt files")
    c.add_argument("--runs", type=Path, default=Path("runs"))
    w = sub.add_parser("_worker")
    w.add_argument("config", type=Path)
    args = parser.parse_args()
    if args.command == "pack":
        pack(args)
    elif args.command == "train":
        train(args)
    elif args.command == "collect":
        with tempfile.TemporaryDirectory() as tmp:
            args.tmp = Path(tmp)
            collect(args)
    else:
        worker(args.config)


if __name__ == "__main__":
    main()
