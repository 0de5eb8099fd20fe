"""The output of the quality benchmark (``bench/quality.py``): the per-family, summary, per-distance (against
issue 9's bars) and capture-distance tables printed to stdout, the PNG contact sheet (``--sheet``) and the
JSON-safe copy of every number (``--json``). Moved out of bench/quality.py unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from bench.quality_cases import CANDS, CREDIT, H, W, Case

if TYPE_CHECKING:
    from bench.quality import Runner


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
