"""Named joint layouts (joint order + bones) and conversions between them.

Layouts (joint index = position in ``joints``):

- ``ntu25``: NTU RGB+D / Kinect v2 order (spine base first, then spine mid, neck, head,
  left arm, right arm, left leg, right leg, spine shoulder, left hand tip + thumb, right
  hand tip + thumb). "Left" is always the subject's own left.
- ``sbu15``: SBU Kinect Interaction order (Kinect v1 / OpenNI 15 joints).
- ``hand21``: MediaPipe hand order (wrist, then thumb CMC->tip, index MCP->tip, middle,
  ring, pinky). The H2O dataset uses this same order (its official graph links 0 to
  1, 5, 9, 13, 17 and each finger in sequence), so ``h2o_hand21`` is an alias of it.
- ``asb_hand21``: Assembly101 order, as read from the official ISTA-Net graph: 0-4
  finger tips (thumb..pinky), 5 wrist, 6-7 thumb (two joints: MCP, IP), 8-10 index,
  11-13 middle, 14-16 ring, 17-19 pinky (MCP, PIP, DIP), 20 a joint the official graph
  leaves unconnected; we treat it as the palm centre.
- ``mediapipe_pose33``: MediaPipe Pose landmarks.

``convert`` maps points between layouts along registered mappings (composing them when
there is no direct one, e.g. mediapipe_pose33 -> ntu25 -> sbu15). Synthesised joints:

mediapipe_pose33 -> ntu25
  spine base = mid-hip; spine shoulder = mid-shoulder; spine mid = halfway between
  them; head = mid-ear (centre of the head); neck = 40 % of the way from spine
  shoulder to head; hand (centre) = mean of wrist, index and pinky knuckles;
  hand tip = knuckle midpoint + (knuckle midpoint - wrist) (fingers about as long as
  the palm); thumb = pose thumb; foot = pose foot index.
ntu25 -> sbu15
  head, neck = NTU spine shoulder (Kinect v1 "shoulder centre"), torso = spine mid,
  shoulders, elbows, hands, hips, knees, feet taken as they are.
hand21 -> asb_hand21
  thumb CMC dropped; palm centre (20) = mean of wrist and the four finger MCPs.
asb_hand21 -> hand21
  thumb CMC = midpoint of wrist and thumb MCP (approximation); palm centre dropped.

``attach_hand`` refines the NTU hand joints of a body from a detected hand21 hand.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ista_ros.errors import UserError


class LayoutError(UserError, ValueError):
    """Unknown layout, impossible conversion or points that do not fit a layout."""


@dataclass(frozen=True)
class Layout:
    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    def head_and_feet(self) -> tuple[int, list[int]] | None:
        """(head index, feet indices) of a whole-body layout; None for others (hands)."""
        feet = [i for i, name in enumerate(self.joints) if name in ("foot_left", "foot_right")]
        if "head" not in self.joints or not feet:
            return None
        return self.index("head"), feet


def _bones(joints: tuple[str, ...], pairs: list[tuple[str, str]]):
    return tuple((joints.index(a), joints.index(b)) for a, b in pairs)


_NTU = (
    "spine_base", "spine_mid", "neck", "head",
    "shoulder_left", "elbow_left", "wrist_left", "hand_left",
    "shoulder_right", "elbow_right", "wrist_right", "hand_right",
    "hip_left", "knee_left", "ankle_left", "foot_left",
    "hip_right", "knee_right", "ankle_right", "foot_right",
    "spine_shoulder", "hand_tip_left", "thumb_left", "hand_tip_right", "thumb_right",
)
_NTU_BONES = [
    ("spine_base", "spine_mid"), ("spine_mid", "spine_shoulder"), ("spine_shoulder", "neck"),
    ("neck", "head"),
    ("spine_shoulder", "shoulder_left"), ("shoulder_left", "elbow_left"),
    ("elbow_left", "wrist_left"), ("wrist_left", "hand_left"),
    ("hand_left", "hand_tip_left"), ("wrist_left", "thumb_left"),
    ("spine_shoulder", "shoulder_right"), ("shoulder_right", "elbow_right"),
    ("elbow_right", "wrist_right"), ("wrist_right", "hand_right"),
    ("hand_right", "hand_tip_right"), ("wrist_right", "thumb_right"),
    ("spine_base", "hip_left"), ("hip_left", "knee_left"), ("knee_left", "ankle_left"),
    ("ankle_left", "foot_left"),
    ("spine_base", "hip_right"), ("hip_right", "knee_right"), ("knee_right", "ankle_right"),
    ("ankle_right", "foot_right"),
]

_SBU = (
    "head", "neck", "torso",
    "shoulder_left", "elbow_left", "hand_left",
    "shoulder_right", "elbow_right", "hand_right",
    "hip_left", "knee_left", "foot_left",
    "hip_right", "knee_right", "foot_right",
)
_SBU_BONES = [
    ("head", "neck"), ("neck", "torso"),
    ("neck", "shoulder_left"), ("shoulder_left", "elbow_left"), ("elbow_left", "hand_left"),
    ("neck", "shoulder_right"), ("shoulder_right", "elbow_right"),
    ("elbow_right", "hand_right"),
    ("torso", "hip_left"), ("hip_left", "knee_left"), ("knee_left", "foot_left"),
    ("torso", "hip_right"), ("hip_right", "knee_right"), ("knee_right", "foot_right"),
]

_FINGERS = ("index", "middle", "ring", "pinky")
_HAND = ("wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip") + tuple(
    f"{finger}_{part}" for finger in _FINGERS for part in ("mcp", "pip", "dip", "tip"))
_HAND_BONES = [("wrist", "thumb_cmc"), ("thumb_cmc", "thumb_mcp"), ("thumb_mcp", "thumb_ip"),
               ("thumb_ip", "thumb_tip")]
for _finger in _FINGERS:
    _HAND_BONES += [("wrist", f"{_finger}_mcp"), (f"{_finger}_mcp", f"{_finger}_pip"),
                    (f"{_finger}_pip", f"{_finger}_dip"), (f"{_finger}_dip", f"{_finger}_tip")]

_ASB = ("thumb_tip", "index_tip", "middle_tip", "ring_tip", "pinky_tip", "wrist",
        "thumb_mcp", "thumb_ip") + tuple(
    f"{finger}_{part}" for finger in _FINGERS for part in ("mcp", "pip", "dip")) + (
    "palm_centre",)
_ASB_BONES = [("wrist", "thumb_mcp"), ("thumb_mcp", "thumb_ip"), ("thumb_ip", "thumb_tip")]
for _finger in _FINGERS:
    _ASB_BONES += [("wrist", f"{_finger}_mcp"), (f"{_finger}_mcp", f"{_finger}_pip"),
                   (f"{_finger}_pip", f"{_finger}_dip"), (f"{_finger}_dip", f"{_finger}_tip")]
_ASB_BONES += [("thumb_mcp", "index_mcp"), ("index_mcp", "middle_mcp"),
               ("middle_mcp", "ring_mcp"), ("ring_mcp", "pinky_mcp")]

_POSE = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer", "left_ear", "right_ear",
    "mouth_left", "mouth_right", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
_POSE_BONES = [
    ("nose", "left_eye_inner"), ("left_eye_inner", "left_eye"), ("left_eye", "left_eye_outer"),
    ("left_eye_outer", "left_ear"), ("nose", "right_eye_inner"),
    ("right_eye_inner", "right_eye"), ("right_eye", "right_eye_outer"),
    ("right_eye_outer", "right_ear"), ("mouth_left", "mouth_right"),
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
]
for _side in ("left", "right"):
    _POSE_BONES += [
        (f"{_side}_shoulder", f"{_side}_elbow"), (f"{_side}_elbow", f"{_side}_wrist"),
        (f"{_side}_wrist", f"{_side}_pinky"), (f"{_side}_wrist", f"{_side}_index"),
        (f"{_side}_pinky", f"{_side}_index"), (f"{_side}_wrist", f"{_side}_thumb"),
        (f"{_side}_shoulder", f"{_side}_hip"), (f"{_side}_hip", f"{_side}_knee"),
        (f"{_side}_knee", f"{_side}_ankle"), (f"{_side}_ankle", f"{_side}_heel"),
        (f"{_side}_heel", f"{_side}_foot_index"), (f"{_side}_ankle", f"{_side}_foot_index"),
    ]

LAYOUTS = {
    layout.name: layout for layout in (
        Layout("ntu25", _NTU, _bones(_NTU, _NTU_BONES)),
        Layout("sbu15", _SBU, _bones(_SBU, _SBU_BONES)),
        Layout("hand21", _HAND, _bones(_HAND, _HAND_BONES)),
        Layout("asb_hand21", _ASB, _bones(_ASB, _ASB_BONES)),
        Layout("mediapipe_pose33", _POSE, _bones(_POSE, _POSE_BONES)),
    )
}
ALIASES = {"h2o_hand21": "hand21"}


def get_layout(name: str) -> Layout:
    """The layout called ``name`` (aliases resolved)."""
    layout = LAYOUTS.get(ALIASES.get(name, name))
    if layout is None:
        known = ", ".join(sorted([*LAYOUTS, *ALIASES]))
        raise LayoutError(f"unknown joint layout {name!r}; known layouts: {known}")
    return layout


# ---------------------------------------------------------------------------- mappings
Mapping = Callable[[np.ndarray], np.ndarray]
_MAPPINGS: dict[tuple[str, str], Mapping] = {}


def _mapping(src: str, dst: str):
    def register(fn: Mapping) -> Mapping:
        _MAPPINGS[(src, dst)] = fn
        return fn
    return register


def _picker(src: str):
    """Return ``get(points, joint_name) -> (..., C)`` for layout ``src``."""
    layout = LAYOUTS[src]
    return lambda points, joint: points[..., layout.index(joint), :]


def _assemble(dst: str, joints: dict[str, np.ndarray]) -> np.ndarray:
    return np.stack([joints[name] for name in LAYOUTS[dst].joints], axis=-2)


def _mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a + b) / 2.0


@_mapping("mediapipe_pose33", "ntu25")
def _pose33_to_ntu25(points: np.ndarray) -> np.ndarray:
    get = _picker("mediapipe_pose33")
    spine_base = _mid(get(points, "left_hip"), get(points, "right_hip"))
    spine_shoulder = _mid(get(points, "left_shoulder"), get(points, "right_shoulder"))
    head = _mid(get(points, "left_ear"), get(points, "right_ear"))
    joints = {
        "spine_base": spine_base,
        "spine_mid": _mid(spine_base, spine_shoulder),
        "spine_shoulder": spine_shoulder,
        "head": head,
        "neck": spine_shoulder + 0.4 * (head - spine_shoulder),
    }
    for side in ("left", "right"):
        wrist = get(points, f"{side}_wrist")
        knuckles = _mid(get(points, f"{side}_index"), get(points, f"{side}_pinky"))
        joints.update({
            f"shoulder_{side}": get(points, f"{side}_shoulder"),
            f"elbow_{side}": get(points, f"{side}_elbow"),
            f"wrist_{side}": wrist,
            f"hand_{side}": (wrist + get(points, f"{side}_index")
                             + get(points, f"{side}_pinky")) / 3.0,
            f"hand_tip_{side}": 2.0 * knuckles - wrist,
            f"thumb_{side}": get(points, f"{side}_thumb"),
            f"hip_{side}": get(points, f"{side}_hip"),
            f"knee_{side}": get(points, f"{side}_knee"),
            f"ankle_{side}": get(points, f"{side}_ankle"),
            f"foot_{side}": get(points, f"{side}_foot_index"),
        })
    return _assemble("ntu25", joints)


@_mapping("ntu25", "sbu15")
def _ntu25_to_sbu15(points: np.ndarray) -> np.ndarray:
    get = _picker("ntu25")
    joints = {"head": get(points, "head"), "neck": get(points, "spine_shoulder"),
              "torso": get(points, "spine_mid")}
    for side in ("left", "right"):
        for part in ("shoulder", "elbow", "hand", "hip", "knee", "foot"):
            joints[f"{part}_{side}"] = get(points, f"{part}_{side}")
    return _assemble("sbu15", joints)


def _palm_centre(get, points: np.ndarray) -> np.ndarray:
    parts = [get(points, "wrist")] + [get(points, f"{f}_mcp") for f in _FINGERS]
    return sum(parts) / len(parts)


@_mapping("hand21", "asb_hand21")
def _hand21_to_asb(points: np.ndarray) -> np.ndarray:
    get = _picker("hand21")
    joints = {name: get(points, name) for name in _ASB if name != "palm_centre"}
    joints["palm_centre"] = _palm_centre(get, points)
    return _assemble("asb_hand21", joints)


@_mapping("asb_hand21", "hand21")
def _asb_to_hand21(points: np.ndarray) -> np.ndarray:
    get = _picker("asb_hand21")
    joints = {name: get(points, name) for name in _HAND if name != "thumb_cmc"}
    joints["thumb_cmc"] = _mid(get(points, "wrist"), get(points, "thumb_mcp"))
    return _assemble("hand21", joints)


def _route(src: str, dst: str) -> list[Mapping]:
    """Shortest chain of registered mappings from src to dst (breadth-first)."""
    previous: dict[str, tuple[str, Mapping] | None] = {src: None}
    queue = deque([src])
    while queue:
        here = queue.popleft()
        if here == dst:
            break
        for (a, b), fn in _MAPPINGS.items():
            if a == here and b not in previous:
                previous[b] = (here, fn)
                queue.append(b)
    if dst not in previous:
        raise LayoutError(f"no mapping from joint layout {src!r} to {dst!r}")
    chain = []
    node = dst
    while previous[node] is not None:
        node, fn = previous[node]
        chain.append(fn)
    return chain[::-1]


def convert(points: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Map ``points`` (..., J_src, C) in layout ``src`` to (..., J_dst, C) in ``dst``."""
    source, target = get_layout(src), get_layout(dst)
    points = np.asarray(points)
    if points.ndim < 2 or points.shape[-2] != source.num_joints:
        raise LayoutError(
            f"points of shape {points.shape} do not fit layout {source.name!r}, which "
            f"needs (..., {source.num_joints}, C)")
    if source.name == target.name:
        return points
    for step in _route(source.name, target.name):
        points = step(points)
    return points


def attach_hand(body: np.ndarray, hand: np.ndarray, side: str) -> np.ndarray:
    """Copy of ntu25 ``body`` (J=25, C) whose ``side`` hand joints come from hand21 ``hand``.

    wrist = hand wrist, hand centre = palm centre (wrist and four MCPs), hand tip =
    middle finger tip, thumb = thumb tip.
    """
    if side not in ("left", "right"):
        raise LayoutError(f"hand side must be 'left' or 'right', not {side!r}")
    ntu, hand_layout = LAYOUTS["ntu25"], LAYOUTS["hand21"]
    if body.shape[-2] != ntu.num_joints or hand.shape[-2] != hand_layout.num_joints:
        raise LayoutError(
            f"attach_hand needs ntu25 and hand21 points, got shapes {body.shape} and "
            f"{hand.shape}")
    get = _picker("hand21")
    out = np.array(body, dtype=np.result_type(body, hand), copy=True)
    out[..., ntu.index(f"wrist_{side}"), :] = get(hand, "wrist")
    out[..., ntu.index(f"hand_{side}"), :] = _palm_centre(get, hand)
    out[..., ntu.index(f"hand_tip_{side}"), :] = get(hand, "middle_tip")
    out[..., ntu.index(f"thumb_{side}"), :] = get(hand, "thumb_tip")
    return out
