"""The cases of the quality benchmark (``bench/quality.py``): the image size and the credit, the shots (capture
distance, focal, head turn, lighting and its flat backdrop) and the cases built from them, each an INPUT shot, a
TARGET shot and the edit asked (``build_cases``: per lighting and capture distance, the yaw, pitch, combined and
undistort edits; ``--quick`` keeps a few). Moved out of bench/quality.py unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

W, H = 768, 1024
MAX_FOCAL = 200.0
FAR_M = 3.0
CREDIT = '"Infinite, 3D Head Scan" by Lee Perry-Smith, CC BY 3.0'
CANDS = ("input", "2D", "ours")


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
