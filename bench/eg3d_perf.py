"""EG3D inversion speed and memory (issue 11, item 8; printed, never asserted).

Run: .venv/bin/python -m bench.eg3d_perf [--config ffhq512-128|tiny] [--device auto|cpu|cuda] [--repeats N]
                                         [--whole PHOTO [--steps quick|paper|N] [--checkpoint PKL]]

For one generator configuration (:data:`super_gui.inversion.eg3d.loader.CONFIGS`) with random weights (the
speed does not depend on the weights), on the device:

* a no-grad forward of one view: the whole 512 px output (tri-planes, volume rendering, super-resolution) and
  the neural-resolution image only;
* seconds per step (wall, and the process's CPU seconds over all its threads: less sensitive to other
  jobs on a shared machine) of each inversion stage (camera warm-up, latent + camera, pivotal tuning): ``invert`` itself
  run for 1 + ``--repeats`` steps per stage, each step timed from one progress report to the next; the first
  step of each stage (its set-up: planes, the generator's copy, optimiser state) is left out and the median of
  the others is given; from them the average step of the ``quick`` schedule (what
  ``backend.CPU_SECONDS_PER_STEP`` / ``CUDA_SECONDS_PER_STEP`` should hold) and the schedules' totals;
* peak memory of each phase: on the CPU the process's VmHWM (reset between phases through
  ``/proc/self/clear_refs``, else cumulative: said so), on CUDA ``torch.cuda.max_memory_allocated``;
* with ``--whole PHOTO``: ``prepare(photo, backend_name="eg3d", ...)`` with a random checkpoint written in
  NVIDIA's format (tests/inversion/eg3d/nvidia_format.py; or ``--checkpoint``) and ``--steps``, a fresh
  cache folder: its wall time, then a second ``prepare`` in the same process (the inversion cache: no fitting).

The inversion target is a real photo's (``--whole`` PHOTO, else matplotlib's Grace Hopper portrait): analysed,
inverted by the landmark backend and cropped exactly as the eg3d backend does, so the camera (a selfie distance
doubles the samples per ray, ``invert.close_camera_options``) is the real one. Each part runs in a fresh child
process, so its memory is its own. Figures are printed as they come, then as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# -- shared ---------------------------------------------------------------------------------------------


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (5 min {five:.2f}) on {os.cpu_count()} cores"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda}, torch {torch.__version__})"
    return f"CPU: {cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads (torch {torch.__version__})"


def emit(key: str, label: str, value: float | str, unit: str = "") -> None:
    """A figure, from a child process to the parent (one line of stdout)."""
    print("FIG " + json.dumps({"key": key, "label": label, "value": value, "unit": unit}), flush=True)


class Peak:
    """Peak memory since the last reset: CUDA's max_memory_allocated, or the CPU process's VmHWM."""

    def __init__(self, device) -> None:
        import torch

        self.torch, self.cuda = torch, device.type == "cuda"
        self.resettable = True if self.cuda else self._clear_refs()

    @staticmethod
    def _clear_refs() -> bool:
        try:  # "5": reset the peak RSS to the current RSS (Linux >= 4.0)
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def reset(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()
            self.torch.cuda.reset_peak_memory_stats()
        elif self.resettable:
            self._clear_refs()

    def mb(self) -> float:
        if self.cuda:
            self.torch.cuda.synchronize()
            return self.torch.cuda.max_memory_allocated() / 2**20
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024.0

    def label(self) -> str:
        if self.cuda:
            return "CUDA max_memory_allocated"
        return "VmHWM" + ("" if self.resettable else ", cumulative: clear_refs refused")


def default_photo() -> Path:
    """matplotlib's Grace Hopper portrait (bench/perf.py's source photo), as a file."""
    import matplotlib.cbook as cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


# -- child: forwards and steps ----------------------------------------------------------------------------


def real_target(photo_path: Path, G):
    """(target, cam2world, intrinsics) of ``photo_path``, exactly as EG3DBackend.invert makes them."""
    from super_gui.core.analysis import analyze_photo
    from super_gui.core.image_io import load_photo
    from super_gui.inversion.eg3d.align import align_crop
    from super_gui.inversion.eg3d.backend import make_target
    from super_gui.inversion.landmark import LandmarkBackend

    photo = load_photo(photo_path)
    analysis = analyze_photo(photo)
    base = LandmarkBackend().invert(photo, analysis)
    crop = align_crop(analysis.faces.face.landmarks[:, :2], (photo.width, photo.height), int(G.img_resolution))
    return make_target(photo, analysis, base, crop)


def _median_seconds(fn, repeats: int, sync) -> tuple[float, float]:
    """Median wall seconds and median process CPU seconds (all threads) of ``fn`` after a warm-up call."""
    fn()  # warm-up
    sync()
    walls, cpus = [], []
    for _ in range(repeats):
        t, p = time.perf_counter(), time.process_time()
        fn()
        sync()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - p)
    return statistics.median(walls), statistics.median(cpus)


def child_steps(args: argparse.Namespace) -> None:
    import torch

    from super_gui.core.native_log import silence_native_logging
    from super_gui.inversion.eg3d import camera
    from super_gui.inversion.eg3d.backend import pick_device
    from super_gui.inversion.eg3d.invert import Schedule, close_camera_options, invert, render
    from super_gui.inversion.eg3d.loader import random_generator
    from super_gui.inversion.eg3d.losses import PhotoLoss

    silence_native_logging()
    device = pick_device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    peak = Peak(device)
    emit("device", "device", device_name(device))
    t = time.perf_counter()
    G = random_generator(args.config, seed=0, device=device)
    emit("build", f"build the {args.config} generator (random weights, {sum(p.numel() for p in G.parameters()):,} parameters)",
         time.perf_counter() - t, "s")
    target, cam2world, intr = real_target(Path(args.photo), G)
    c = camera.make_c(cam2world, intr).to(device)
    opts = close_camera_options(G.rendering_kwargs, c.cpu())
    radius = float(cam2world[:3, 3].norm())
    emit("camera", "starting camera: radius (EG3D units) / samples per ray (coarse + fine)",
         f"{radius:.2f} / {opts['depth_resolution']} + {opts['depth_resolution_importance']} (ray limits {opts['ray_start']})")
    emit("peak.setup", f"peak memory after set-up (generator, analysis, target; {peak.label()})", peak.mb(), "MB")
    ws = G.backbone.mapping.w_avg.view(1, 1, -1).repeat(1, G.num_ws, 1).to(device)
    res, full = G.neural_rendering_resolution, int(G.img_resolution)
    for key, label, sr in (("forward.full", f"no-grad forward, {full} px (planes + rendering + super-resolution), median", True),
                           ("forward.neural", f"no-grad forward, neural resolution {res} px only (planes + rendering), median", False)):
        peak.reset()
        with torch.no_grad():
            wall, cpu = _median_seconds(lambda: render(G, ws, c, super_resolution=sr), args.repeats, sync)
        emit(key, label + f" of {args.repeats}: wall (process CPU)", f"{wall:.3g} ({cpu:.3g})", "s")
        emit("peak." + key, f"peak memory, {label.split(',')[0]} {full if sr else res} px ({peak.label()})", peak.mb(), "MB")

    n = args.repeats + 1
    stamps: list[tuple[str, float, float]] = []
    peaks: dict[str, float] = {}

    def progress(fraction: float, message: str) -> None:
        sync()
        now = time.perf_counter()
        stage = re.search(r"\((\w+)\)", message).group(1)
        stamps.append((stage, now, time.process_time()))
        peaks[stage] = max(peaks.get(stage, 0.0), peak.mb())
        peak.reset()
        print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    peak.reset()
    stamps.append(("start", time.perf_counter(), time.process_time()))
    invert(G, target, cam2world, intr, Schedule(n, n, n), PhotoLoss(), progress=progress, device=device)
    names = {"camera": ("camera", f"camera warm-up step ({res} px, camera only)"),
             "shape": ("latent", f"latent + camera step ({full} + {res} px, w+ and camera)"),
             "details": ("tuning", f"pivotal tuning step ({full} + {res} px, every weight)")}
    for stage, (key, label) in names.items():
        steps = [(b - a, q - p) for (_, a, p), (s, b, q) in zip(stamps, stamps[1:]) if s == stage]
        wall, cpu = statistics.median(w for w, _ in steps[1:]), statistics.median(c for _, c in steps[1:])
        emit("step." + key, f"{label}: first / median of the next {len(steps) - 1}: wall (process CPU)",
             f"{steps[0][0]:.3g} / {wall:.3g} ({cpu:.3g})", "s")
        emit("seconds." + key, "", wall, "s")
        emit("cpu." + key, "", cpu, "s")
        emit("peak." + key, f"peak memory, {label.split(' (')[0]} ({peak.label()})", peaks[stage], "MB")


# -- child: a whole inversion through prepare ----------------------------------------------------------


def child_whole(args: argparse.Namespace) -> None:
    import torch

    from super_gui.app.pipeline import prepare
    from super_gui.core.native_log import silence_native_logging
    from super_gui.core.image_io import load_photo
    from super_gui.inversion.eg3d.backend import pick_device

    silence_native_logging()
    device = pick_device(args.device)
    peak = Peak(device)
    if device.type == "cuda":
        peak.reset()
    photo = load_photo(args.whole)
    options = dict(checkpoint=args.checkpoint, steps=args.steps, cache_dir=args.cache_dir, device=str(device))
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        if time.perf_counter() - last[0] > 10 or fraction >= 1.0:
            last[0] = time.perf_counter()
            print(f"  [{time.strftime('%H:%M:%S')}] {fraction:4.0%} {message}", file=sys.stderr, flush=True)

    name = f"{Path(args.whole).name}, {photo.width}x{photo.height}, steps {args.steps}"
    for key, label in (("whole.first", f"whole prepare (eg3d backend), {name}: fresh cache"),
                       ("whole.cached", "the same prepare again in the same process (inversion cache; generator kept)")):
        t = time.perf_counter()
        prepared = prepare(photo, backend_name="eg3d", backend_options=options, progress=progress)
        wall = time.perf_counter() - t
        inv = {k: round(v, 2) for k, v in prepared.inversion.timings_s.items() if k.startswith("eg3d.")}
        emit(key, label, wall, "s")
        parts = inv | {"analysis": round(prepared.timings_s["analysis"], 2)}
        emit(key + ".parts", "  of which", ", ".join(f"{k} {v:g} s" for k, v in parts.items()))
        if device.type == "cuda":
            torch.cuda.synchronize()
    emit("peak.whole", f"peak memory of the whole-run process ({'CUDA max_memory_allocated' if device.type == 'cuda' else 'VmHWM'})",
         peak.mb(), "MB")


# -- parent ---------------------------------------------------------------------------------------------


def run_child(argv: list[str], rows: list[tuple[str, str]], figures: dict[str, float]) -> int:
    """Run this module as a child with ``argv``; print its figures as they come and keep them."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.eg3d_perf", *argv], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if not line.startswith("FIG "):
            sys.stderr.write(line)
            continue
        fig = json.loads(line[4:])
        value = fig["value"]
        if isinstance(value, (int, float)):
            figures[fig["key"]] = value
            shown = f"{value:.0f} {fig['unit']}" if fig["unit"] == "MB" else f"{value:.3g} {fig['unit']}".rstrip()
        else:
            shown = f"{value} {fig['unit']}".rstrip()
        if fig["label"]:
            rows.append((fig["label"], shown))
            print(f"{fig['label']}: {shown}", flush=True)
    return proc.wait()


def schedule_rows(figures: dict[str, float]) -> list[tuple[str, str]]:
    from super_gui.inversion.eg3d import backend
    from super_gui.inversion.eg3d.invert import PRESETS

    if not all(f"seconds.{k}" in figures for k in ("camera", "latent", "tuning")):
        return []
    rows = []
    for name, s in PRESETS.items():
        total = (s.camera_steps * figures["seconds.camera"] + s.latent_steps * figures["seconds.latent"]
                 + s.tuning_steps * figures["seconds.tuning"])
        cpu = (s.camera_steps * figures["cpu.camera"] + s.latent_steps * figures["cpu.latent"]
               + s.tuning_steps * figures["cpu.tuning"])
        rows.append((f"'{name}' schedule ({s.camera_steps}+{s.latent_steps}+{s.tuning_steps} steps): average step / total, wall (process CPU)",
                     f"{total / s.total:.3g} s / {total / 60:.1f} min ({cpu / s.total:.3g} s / {cpu / 60:.1f} min)"))
    rows.append(("backend.py's constants now: CPU / CUDA seconds per step",
                 f"{backend.CPU_SECONDS_PER_STEP:g} / {backend.CUDA_SECONDS_PER_STEP:g} s"))
    return rows


def write_checkpoint(config: str, folder: Path) -> Path:
    """A random generator of ``config`` pickled in NVIDIA's format (the tests' fixture)."""
    from tests.inversion.eg3d import nvidia_format

    pkl = folder / f"{config}-random.pkl"
    standins = nvidia_format.write_standins(folder / "standins")
    nvidia_format.run_in_standins(standins, str(pkl), str(folder / "ref.safetensors"), "3", config, script="build_mirror.py")
    (folder / "ref.safetensors").unlink(missing_ok=True)
    return pkl


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"\n{title}\n")
    print(f"| {'what'.ljust(width)} | figure |")
    print(f"|{'-' * (width + 2)}|--------|")
    for k, v in rows:
        print(f"| {k.ljust(width)} | {v} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="ffhq512-128", help="a loader.CONFIGS name (ffhq512-128, tiny)")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ap.add_argument("--repeats", type=int, default=3, help="timed steps/forwards after the warm-up one (default 3)")
    ap.add_argument("--whole", metavar="PHOTO", help="also time a whole inversion of PHOTO through prepare")
    ap.add_argument("--steps", default="quick", help="the whole run's schedule: quick, paper or N (default quick)")
    ap.add_argument("--checkpoint", metavar="PKL", help="the whole run's checkpoint (default: a random one written now)")
    ap.add_argument("--photo", help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", help=argparse.SUPPRESS)
    ap.add_argument("--child", choices=("steps", "whole"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child == "steps":
        child_steps(args)
        return 0
    if args.child == "whole":
        child_whole(args)
        return 0

    common = ["--config", args.config, "--device", args.device, "--repeats", str(args.repeats)]
    rows: list[tuple[str, str]] = [("load average at start", load_average())]
    figures: dict[str, float] = {}
    photo = Path(args.whole) if args.whole else default_photo()
    print(f"load average at start: {rows[0][1]}", flush=True)
    rc = run_child([*common, "--child", "steps", "--photo", str(photo)], rows, figures)
    rows += schedule_rows(figures)
    if rc == 0 and args.whole:
        with tempfile.TemporaryDirectory(prefix="eg3d_perf_") as tmp:
            pkl = args.checkpoint
            if pkl is None:
                t = time.perf_counter()
                pkl = str(write_checkpoint(args.config, Path(tmp)))
                rows.append((f"write a random {args.config} checkpoint in NVIDIA's format ({Path(pkl).stat().st_size / 1e6:.0f} MB)",
                             f"{time.perf_counter() - t:.1f} s"))
            rows.append(("load average before the whole run", load_average()))
            rc = run_child([*common, "--child", "whole", "--whole", str(args.whole), "--steps", str(args.steps),
                            "--checkpoint", pkl, "--cache-dir", str(Path(tmp) / "cache")], rows, figures)
    rows.append(("load average at end", load_average()))
    print_table(f"EG3D inversion, {args.config}, random weights (bench/eg3d_perf.py)", rows)
    if rc != 0:
        print(f"\na child process exited with {rc}; the figures above are incomplete", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
