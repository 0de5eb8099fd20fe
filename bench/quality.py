"""Quality of the edit on ground-truth renders of the head scan (DESIGN.md §7). Prints tables; asserts nothing.

    python -m bench.quality [--quick] [--sheet PATH] [--json PATH]      (from the repository root)

Each case is an INPUT render and a TARGET render of the same scan (``bench/scan_render.py``, 768 x 1024), under
two lightings ("key": a soft key light near the camera; "side": a hard light from the right, less fill), each over
its own flat, saturated backdrop (so the head's silhouette can be read off an output by colour), at capture
distances 25 cm, 40 cm, 1 m and 2 m with a focal of 96 ("key") or 72 ("side") mm per metre, so the face keeps a
selfie's size in the frame and the two lightings also cover two focal lengths. Per lighting and distance, with a
frontal input:

* undistort (from 1 m and closer): target the same face size from 3 m (a dolly zoom, ``f' = f * 3 / d``), or the
  dolly zoom to 200 mm where 3 m would need a longer lens (the editor's cap);
* yaw +-15, +-25, +-30 and pitch +-10, +-20 (the renderer turns the head about the neck pivot as the editor does);
* combined: yaw +15, pitch +10 and a dolly zoom to twice the focal (at most 200 mm).

``--quick``: the key lighting at 25 cm and 1 m, yaw +-25, pitch +20 and undistort.

Three candidates per case, each compared with the target:

* input: the input unchanged;
* 2D: the input warped onto the target by the least-squares 2D similarity from the input's 468 face landmarks
  to the target's (closed form, Umeyama), border mid-grey;
* ours: ``PortraitRenderer.render(view, full=True)`` with the capture focal given as a user would (EXIF).

Metrics:

* landmark error: MediaPipe is run again on the candidate and on the target; mean distance over the 468 face
  landmarks (irises left out) / the target's inter-ocular distance (its iris centres 468-473);
* PSNR / SSIM inside the head: the target's scan mask AND the convex hull of its face-oval landmarks dilated by
  0.6 x IOD (so shoulders and neck, which the editor keeps still and the renderer turns, are left out); SSIM is
  skimage's full-image SSIM map (channel_axis=2, data_range=255) averaged over that region;
* pose error (deg): head pose (``fit_head_pose``, camera axes) of the candidate minus that of the input,
  against the asked (yaw, pitch): ``max(|dyaw - yaw|, |dpitch - pitch|)``. Each candidate is measured with the
  TARGET camera's intrinsics (a candidate stands for a photo taken by that camera);
* turn error (deg): the same estimator's reading on the candidate minus its reading on the true render of the same
  edit, ``max`` over yaw and pitch, so the estimator's own bias (Face Mesh under-reads real turns) cancels;
* outline score (ours only): IoU of our head silhouette (pixels away from the backdrop colour) with the true
  render's, above the target's chin (the editor holds the neck still, the scan render turns it); the number of
  separate pieces of head there, and of background islands enclosed by it.

The per-distance table holds each distance against issue 9's bars: turn error <= 1.5 deg, landmark error <= 0.30 x
the 2D baseline for turns and <= 0.35 x for undistort, one piece of head, no islands, IoU >= 0.97.

Head scan: "Infinite, 3D Head Scan" by Lee Perry-Smith, CC BY 3.0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

W, H = 768, 1024
MAX_FOCAL = 200.0
FAR_M = 3.0
CREDIT = '"Infinite, 3D Head Scan" by Lee Perry-Smith, CC BY 3.0'
CANDS = ("input", "2D", "ours")


# --------------------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shot:
    distance_m: float
    focal_35mm: float
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    light: str = "key"

    def label(self) -> str:
        s = f"{self.distance_m * 100:.0f} cm {self.focal_35mm:.0f} mm"
        if self.yaw_deg or self.pitch_deg:
            s += f" y{self.yaw_deg:+.0f} p{self.pitch_deg:+.0f}"
        return s + f" {self.light}"

    @property
    def background(self) -> tuple[int, int, int]:
        return BACKGROUNDS[self.light]


# Each lighting has its own flat, saturated backdrop: far from any skin tone, so the edited head's silhouette
# can be read off the output by colour (the outline score) and background islands inside the head show.
BACKGROUNDS = {"key": (70, 150, 80), "side": (60, 90, 170)}
DISTANCES = (0.25, 0.40, 1.0, 2.0)
# Focal per metre of distance: the face keeps a phone-selfie size in the frame at every distance (eye distance
# ~178 px with "key", ~133 px with "side"), so the two lightings also cover two focal lengths.
FOCAL_PER_M = {"key": 96.0, "side": 72.0}


@dataclass
class Case:
    family: str
    name: str
    inp: Shot
    target: Shot
    view: dict                 # View(**view)
    asked: tuple[float, float]  # (yaw, pitch) change asked
    metrics: dict = field(default_factory=dict)


def undistort_target(d: float, f: float) -> tuple[float, float]:
    """(distance, focal) of the 3 m dolly zoom, or of the 200 mm one where 3 m would need more."""
    ft = f * FAR_M / d
    if ft <= MAX_FOCAL:
        return FAR_M, ft
    return MAX_FOCAL / f * d, MAX_FOCAL


def build_cases(quick: bool) -> list[Case]:
    """Per lighting and capture distance, a frontal input and its edits: yaw +-15/25/30, pitch +-10/20, a
    combined turn with a dolly zoom to twice the focal, and (from 1 m and closer) undistort."""
    cases: list[Case] = []
    lights = ("key",) if quick else tuple(BACKGROUNDS)
    distances = (0.25, 1.0) if quick else DISTANCES
    yaws = (25.0, -25.0) if quick else (15.0, -15.0, 25.0, -25.0, 30.0, -30.0)
    pitches = (20.0,) if quick else (10.0, -10.0, 20.0, -20.0)
    for light in lights:
        for d in distances:
            f = round(FOCAL_PER_M[light] * d, 1)
            base = Shot(d, f, light=light)
            tag = f"{d * 100:.0f}cm {light}"
            if d <= 1.0:
                dt, ft = undistort_target(d, f)
                cases.append(Case("undistort", f"{tag}: {f:.0f}mm -> {dt:.2f}m {ft:.0f}mm", base, Shot(dt, ft, light=light),
                                  {"focal_35mm": ft}, (0.0, 0.0)))
            for y in yaws:
                cases.append(Case("yaw", f"{tag}: yaw {y:+.0f}", base, Shot(d, f, yaw_deg=y, light=light), {"yaw_deg": y}, (y, 0.0)))
            for p in pitches:
                cases.append(Case("pitch", f"{tag}: pitch {p:+.0f}", base, Shot(d, f, pitch_deg=p, light=light), {"pitch_deg": p},
                                  (0.0, p)))
            if not quick:
                ft = min(MAX_FOCAL, 2 * f)
                cases.append(Case("combined", f"{tag}: y+15 p+10 {ft:.0f}mm", base, Shot(d * ft / f, ft, 15.0, 10.0, light=light),
                                  {"yaw_deg": 15.0, "pitch_deg": 10.0, "focal_35mm": ft}, (15.0, 10.0)))
    return cases


# --------------------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------------------

def face_oval_indices() -> np.ndarray:
    import mediapipe as mp

    return np.array(sorted({i for e in mp.solutions.face_mesh.FACEMESH_FACE_OVAL for i in e}))


def iod(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[468, :2] - lm[473, :2]))


def head_region(target_mask: np.ndarray, target_lm: np.ndarray | None, oval: np.ndarray) -> np.ndarray:
    if target_lm is None:
        return target_mask.copy()
    hull = cv2.convexHull(np.round(target_lm[oval, :2]).astype(np.int32))
    reg = np.zeros(target_mask.shape, np.uint8)
    cv2.fillConvexPoly(reg, hull, 1)
    r = max(1, int(round(0.6 * iod(target_lm))))
    reg = cv2.dilate(reg, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return (reg > 0) & target_mask


def landmark_error(cand_lm: np.ndarray | None, target_lm: np.ndarray | None) -> float:
    if cand_lm is None or target_lm is None:
        return float("nan")
    return float(np.mean(np.linalg.norm(cand_lm[:468, :2] - target_lm[:468, :2], axis=1)) / iod(target_lm))


def psnr_ssim(cand: np.ndarray, target: np.ndarray, region: np.ndarray) -> tuple[float, float]:
    from skimage.metrics import structural_similarity

    a, b = cand.astype(np.float64), target.astype(np.float64)
    mse = float(np.mean((a[region] - b[region]) ** 2))
    psnr = float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)
    _, smap = structural_similarity(cand, target, channel_axis=2, data_range=255, full=True)
    return psnr, float(np.mean(smap[region]))


def silhouette(image: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """(H, W) bool: pixels that are not the flat backdrop colour (the head, as the image shows it)."""
    d = np.linalg.norm(image.astype(np.float32) - np.array(background, np.float32), axis=2)
    return d > 45.0


def outline_score(ours: np.ndarray, target_mask: np.ndarray, background: tuple[int, int, int],
                  target_lm: np.ndarray | None) -> dict:
    """IoU of our head silhouette with the true render's, above the target's chin (the editor holds the neck
    and torso still, the scan render turns them), and the number of separate pieces of head and of background
    islands enclosed by the head there (components of at least 6 px)."""
    sil = silhouette(ours, background)
    rows = H if target_lm is None else int(min(H, target_lm[152, 1] + 0.15 * iod(target_lm)))
    ours_r, true_r = sil[:rows], target_mask[:rows]
    union = int((ours_r | true_r).sum())
    iou = float((ours_r & true_r).sum() / union) if union else float("nan")
    n, _, stats, _ = cv2.connectedComponentsWithStats(ours_r.astype(np.uint8), connectivity=8)
    pieces = int((stats[1:, cv2.CC_STAT_AREA] >= 6).sum())
    n, lab, stats, _ = cv2.connectedComponentsWithStats((~ours_r).astype(np.uint8), connectivity=4)
    islands = 0
    for k in range(1, n):
        x, y, w, h, area = stats[k]
        touches = x == 0 or y == 0 or x + w >= W or y + h >= rows
        islands += int(area >= 6 and not touches)
    return {"iou": iou, "pieces": pieces, "islands": islands}


def similarity_2d(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares similarity (rotation, uniform scale, translation) taking src onto dst (Umeyama)."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    U, S, Vt = np.linalg.svd(d.T @ s / len(src))
    D = np.diag([1.0, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    scale = float(np.trace(np.diag(S) @ D) / np.mean(np.sum(s ** 2, axis=1)))
    A = np.zeros((2, 3))
    A[:, :2] = scale * R
    A[:, 2] = md - scale * R @ ms
    return A


def pose_of(lm: np.ndarray | None, focal_35mm: float):
    from super_gui.core.camera import Intrinsics
    from super_gui.core.headpose import fit_head_pose

    if lm is None:
        return None
    return fit_head_pose(lm, Intrinsics.from_35mm(focal_35mm, W, H)).pose


def pose_error(p_cand, p_in, asked: tuple[float, float]) -> tuple[float, float, float]:
    """(error, dyaw, dpitch)."""
    if p_cand is None or p_in is None:
        return float("nan"), float("nan"), float("nan")
    dy, dp = p_cand.yaw_deg - p_in.yaw_deg, p_cand.pitch_deg - p_in.pitch_deg
    return max(abs(dy - asked[0]), abs(dp - asked[1])), dy, dp


# --------------------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------------------

# Two standalone GL contexts live on this thread: the scan renderer's and the editor's. Neither makes itself
# current before drawing, so each side is entered (made current) around its own GL calls.

def scan_context():
    from bench.scan_render import _renderer

    return _renderer().ctx


def editor_context():
    from super_gui.render.context import thread_context

    return thread_context()


class Runner:
    """Renders each shot once and prepares each input once."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self._views: dict = {}
        self._lm: dict = {}
        self._prep: dict = {}
        self.timings = {"scan render": 0.0, "landmarks": 0.0, "prepare": 0.0, "edit render": 0.0, "metrics": 0.0}

    def shot(self, s: Shot):
        from bench.scan_render import render_scan

        if s not in self._views:
            t = time.perf_counter()
            with scan_context():
                self._views[s] = render_scan(W, H, s.focal_35mm, s.distance_m, s.yaw_deg, s.pitch_deg, light=s.light,
                                             background=s.background)
            self.timings["scan render"] += time.perf_counter() - t
        return self._views[s]

    def landmarks(self, key, image: np.ndarray):
        from bench.scan_render import detect_landmarks

        if key is None or key not in self._lm:
            t = time.perf_counter()
            lm = detect_landmarks(image)
            self.timings["landmarks"] += time.perf_counter() - t
            if key is None:
                return lm
            self._lm[key] = lm
        return self._lm[key]

    def renderer(self, s: Shot):
        from super_gui.core.image_io import load_photo
        from super_gui.app.pipeline import PortraitRenderer, prepare

        if s not in self._prep:
            view = self.shot(s)
            path = self.tmp / f"input_{len(self._prep)}.png"
            cv2.imwrite(str(path), cv2.cvtColor(view.image, cv2.COLOR_RGB2BGR))
            t = time.perf_counter()
            prep = prepare(load_photo(path), capture_focal_35mm=s.focal_35mm)
            with editor_context() as ctx:
                self._prep[s] = (prep, PortraitRenderer(prep, ctx=ctx))
            self.timings["prepare"] += time.perf_counter() - t
        return self._prep[s]

    def release(self) -> None:
        with editor_context():
            for _, r in self._prep.values():
                r.release()


def run_case(run: Runner, case: Case, oval: np.ndarray) -> dict:
    from super_gui.core.camera import View

    inp, tgt = run.shot(case.inp), run.shot(case.target)
    lm_in = run.landmarks(("shot", case.inp), inp.image)
    lm_t = run.landmarks(("shot", case.target), tgt.image)
    _, renderer = run.renderer(case.inp)
    t = time.perf_counter()
    with editor_context():
        ours = renderer.render(View(**case.view), full=True).image
    run.timings["edit render"] += time.perf_counter() - t
    if lm_in is not None and lm_t is not None:
        A = similarity_2d(lm_in[:468, :2], lm_t[:468, :2])
        two_d = cv2.warpAffine(inp.image, A, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=(128, 128, 128))
    else:
        two_d = inp.image.copy()
    images = {"input": inp.image, "2D": two_d, "ours": ours}
    t = time.perf_counter()
    region = head_region(tgt.mask, lm_t, oval)
    p_in = pose_of(lm_in, case.inp.focal_35mm)
    m: dict = {"region_px": int(region.sum()), "target_iod_px": iod(lm_t) if lm_t is not None else None}
    for k, img in images.items():
        lm = lm_in if k == "input" else run.landmarks(None, img)
        ps, ss = psnr_ssim(img, tgt.image, region)
        err, dy, dp = pose_error(pose_of(lm, case.target.focal_35mm), p_in, case.asked)
        m[k] = {"landmark_err": landmark_error(lm, lm_t), "psnr": ps, "ssim": ss, "pose_err": err,
                "dyaw": dy, "dpitch": dp, "detected": lm is not None}
    err, dy, dp = pose_error(pose_of(lm_t, case.target.focal_35mm), p_in, case.asked)
    m["target"] = {"pose_err": err, "dyaw": dy, "dpitch": dp}
    # Turn error: the estimator's reading on ours minus its reading on the true render of the same edit, so
    # the estimator's own bias (Face Mesh under-reads real turns) cancels.
    for k in CANDS:
        ty, tp = m[k]["dyaw"] - dy, m[k]["dpitch"] - dp
        m[k]["turn_err"] = max(abs(ty), abs(tp))
        m[k]["turn_err_yaw"], m[k]["turn_err_pitch"] = ty, tp
    m["outline"] = outline_score(ours, tgt.mask, case.target.background, lm_t)
    run.timings["metrics"] += time.perf_counter() - t
    m["_images"] = {"input": inp.image, "ours": ours, "target": tgt.image}
    return m


# --------------------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------------------

def _f(x: float, fmt: str) -> str:
    return "  nan" if x is None or not np.isfinite(x) else format(x, fmt)


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n== {title} ==")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def trio(m: dict, key: str, fmt: str) -> str:
    return " / ".join(_f(m[c][key], fmt) for c in CANDS)


def family_table(fam: str, cases: list[Case]) -> None:
    header = ["case", "lm err in/2D/ours", "ours/2D", "PSNR in/2D/ours", "SSIM in/2D/ours",
              "turn err ours (yaw,pitch)", "ours dyaw,dpitch (target)", "IoU", "pieces", "islands"]
    rows = []
    for c in cases:
        m = c.metrics
        ratio = m["ours"]["landmark_err"] / m["2D"]["landmark_err"]
        o = m["outline"]
        rows.append([c.name, trio(m, "landmark_err", ".4f"), _f(ratio, ".2f"), trio(m, "psnr", ".2f"),
                     trio(m, "ssim", ".3f"),
                     f"{_f(m['ours']['turn_err'], '.1f')} ({_f(m['ours']['turn_err_yaw'], '+.1f')},{_f(m['ours']['turn_err_pitch'], '+.1f')})",
                     f"{_f(m['ours']['dyaw'], '+.1f')},{_f(m['ours']['dpitch'], '+.1f')} "
                     f"({_f(m['target']['dyaw'], '+.1f')},{_f(m['target']['dpitch'], '+.1f')})",
                     _f(o["iou"], ".3f"), str(o["pieces"]), str(o["islands"])])
    print_table(f"{fam} (landmark error / target IOD; pose err in deg)", header, rows)


def summary_table(fams: dict[str, list[Case]]) -> list[dict]:
    header = ["family", "n", "mean lm err input", "2D", "ours", "ours/2D", "ours <= 0.5x2D", "worst case (ours, ours/2D)"]
    rows, out = [], []
    for fam, cs in fams.items():
        means = {k: float(np.nanmean([c.metrics[k]["landmark_err"] for c in cs])) for k in CANDS}
        worst = max(cs, key=lambda c: np.nan_to_num(c.metrics["ours"]["landmark_err"], nan=np.inf))
        ratio = means["ours"] / means["2D"]
        ok = means["ours"] <= 0.5 * means["2D"]
        wr = worst.metrics["ours"]["landmark_err"] / worst.metrics["2D"]["landmark_err"]
        rows.append([fam, str(len(cs)), _f(means["input"], ".4f"), _f(means["2D"], ".4f"), _f(means["ours"], ".4f"),
                     _f(ratio, ".2f"), "PASS" if ok else "FAIL",
                     f"{worst.name} ({_f(worst.metrics['ours']['landmark_err'], '.4f')}, {_f(wr, '.2f')})"])
        out.append({"family": fam, "cases": len(cs), "mean_landmark_err": means, "ratio_ours_2d": ratio,
                    "pass": bool(ok), "worst_case": worst.name})
    print_table("summary (mean landmark error / IOD; bar: ours <= 0.5 x 2D)", header, rows)
    return out


TURN_BAR, TURN_RATIO_BAR, UNDISTORT_RATIO_BAR, IOU_BAR = 1.5, 0.30, 0.35, 0.97


def per_distance_table(cases: list[Case]) -> list[dict]:
    """Per capture distance: landmark error vs the 2D baseline (turns, undistort), the worst turn error, and the
    outline score, against the bars of issue 9 (turn error <= 1.5 deg; ours/2D <= 0.30 for turns and 0.35 for
    undistort; one head piece, no islands, IoU >= 0.97)."""
    header = ["distance", "turns ours/2D", "undistort ours/2D", "turn err max (case)", "turn err median",
              "PSNR ours (in)", "IoU min", "pieces max", "islands max", "verdict"]
    rows, out = [], []
    for d in sorted({c.inp.distance_m for c in cases}):
        cs = [c for c in cases if c.inp.distance_m == d]
        turns = [c for c in cs if c.family != "undistort"]
        und = [c for c in cs if c.family == "undistort"]

        def ratio(group):
            if not group:
                return float("nan")
            return float(np.nanmean([c.metrics["ours"]["landmark_err"] for c in group])
                         / np.nanmean([c.metrics["2D"]["landmark_err"] for c in group]))

        te = [c.metrics["ours"]["turn_err"] for c in cs]
        worst = max(cs, key=lambda c: np.nan_to_num(c.metrics["ours"]["turn_err"], nan=np.inf))
        iou = min(c.metrics["outline"]["iou"] for c in cs)
        pieces = max(c.metrics["outline"]["pieces"] for c in cs)
        islands = max(c.metrics["outline"]["islands"] for c in cs)
        rt, ru = ratio(turns), ratio(und)
        ok = (np.nanmax(te) <= TURN_BAR and rt <= TURN_RATIO_BAR and (not und or ru <= UNDISTORT_RATIO_BAR)
              and iou >= IOU_BAR and pieces == 1 and islands == 0)
        psnr = f"{np.nanmean([c.metrics['ours']['psnr'] for c in cs]):.1f} ({np.nanmean([c.metrics['input']['psnr'] for c in cs]):.1f})"
        rows.append([f"{d * 100:.0f} cm", _f(rt, ".2f"), _f(ru, ".2f"),
                     f"{_f(np.nanmax(te), '.1f')} ({worst.name})", _f(float(np.nanmedian(te)), ".1f"), psnr,
                     _f(iou, ".3f"), str(pieces), str(islands), "PASS" if ok else "FAIL"])
        out.append({"distance_m": d, "turns_ratio_2d": rt, "undistort_ratio_2d": ru, "turn_err_max": float(np.nanmax(te)),
                    "turn_err_median": float(np.nanmedian(te)), "iou_min": iou, "pieces_max": pieces,
                    "islands_max": islands, "pass": bool(ok)})
    print_table("per capture distance (bars: turn err <= 1.5 deg, turns ours/2D <= 0.30, undistort <= 0.35, "
                "IoU >= 0.97, 1 piece, 0 islands)", header, rows)
    return out


def distance_table(run: Runner, cases: list[Case]) -> list[dict]:
    rows, out, seen = [], [], set()
    for c in cases:
        if c.inp in seen:
            continue
        seen.add(c.inp)
        prep, _ = run.renderer(c.inp)
        s = prep.analysis.summary()
        est = s["capture_distance_cm"]
        true = c.inp.distance_m * 100
        rows.append([c.inp.label(), ",".join(sorted({x.family for x in cases if x.inp == c.inp})), f"{true:.1f}",
                     f"{est:.1f}", f"{(est / true - 1) * 100:+.1f}%", s["capture_distance_source"],
                     f"{s['head_pose_camera_axes_deg']['yaw']:+.2f},{s['head_pose_camera_axes_deg']['pitch']:+.2f},"
                     f"{s['head_pose_camera_axes_deg']['roll']:+.2f}"])
        out.append({"input": c.inp.label(), "true_cm": true, "estimated_cm": est, "summary": s})
    print_table("capture distance: estimate vs truth (prep.analysis.summary())",
                ["input", "families", "true cm", "est cm", "error", "source", "pose cam axes y,p,r"], rows)
    return out


def write_sheet(path: Path, cases: list[Case]) -> None:
    tw = 256
    th = round(H * tw / W)
    lab_h, font = 22, cv2.FONT_HERSHEY_SIMPLEX
    rows = []
    for c in cases:
        ims = c.metrics["_images"]
        diff = np.clip(np.abs(ims["ours"].astype(np.int16) - ims["target"].astype(np.int16)) * 3, 0, 255).astype(np.uint8)
        tiles = [cv2.resize(x, (tw, th), interpolation=cv2.INTER_AREA) for x in (ims["input"], ims["ours"], ims["target"], diff)]
        band = np.full((lab_h, 4 * tw, 3), 255, np.uint8)
        txt = f"{c.family}: {c.name}   lm err ours {_f(c.metrics['ours']['landmark_err'], '.3f')} / 2D {_f(c.metrics['2D']['landmark_err'], '.3f')}"
        cv2.putText(band, txt, (6, 16), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        rows.append(band)
        rows.append(np.hstack(tiles))
    head = np.full((lab_h, 4 * tw, 3), 230, np.uint8)
    for i, t in enumerate(("input", "ours (super_gui)", "target", "|ours - target| x3")):
        cv2.putText(head, t, (i * tw + 6, 16), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    foot = np.full((lab_h, 4 * tw, 3), 230, np.uint8)
    cv2.putText(foot, "Renders of " + CREDIT, (6, 16), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    sheet = np.vstack([head, *rows, foot])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items() if not k.startswith("_")}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one case per family")
    ap.add_argument("--sheet", type=Path, help="write a PNG contact sheet here")
    ap.add_argument("--json", type=Path, help="write every number here")
    args = ap.parse_args(argv)

    from bench.scan_render import SCAN_DIR, scan_available

    if not scan_available():
        print(f"quality benchmark skipped: head scan not found in {SCAN_DIR}")
        return 0
    from super_gui.core.face import silence_native_logging

    silence_native_logging()
    t0 = time.perf_counter()
    cases = build_cases(args.quick)
    oval = face_oval_indices()
    with tempfile.TemporaryDirectory() as tmp:
        run = Runner(Path(tmp))
        try:
            for c in cases:
                c.metrics = run_case(run, c, oval)
            fams: dict[str, list[Case]] = {}
            for c in cases:
                fams.setdefault(c.family, []).append(c)
            print(f"Quality on renders of {CREDIT}; {W}x{H}; candidates: input unchanged, 2D similarity, ours.")
            for fam, cs in fams.items():
                family_table(fam, cs)
            summary = summary_table(fams)
            per_distance = per_distance_table(cases)
            dist = distance_table(run, cases)
        finally:
            run.release()
    if args.sheet:
        write_sheet(args.sheet, cases)
        print(f"\ncontact sheet: {args.sheet}")
    total = time.perf_counter() - t0
    print("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in run.timings.items()) + f"; total {total:.1f} s")
    if args.json:
        data = {"image_size": [W, H], "credit": CREDIT,
                "cases": [{"family": c.family, "name": c.name, "input": vars(c.inp), "target": vars(c.target),
                           "view": c.view, "asked_yaw_pitch": c.asked, "metrics": c.metrics} for c in cases],
                "summary": summary, "per_distance": per_distance, "capture_distance": dist, "timings_s": run.timings, "total_s": total}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_jsonable(data), indent=1))
        print(f"numbers: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
