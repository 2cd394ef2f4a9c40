"""Procedural two-person interactions in the NTU RGB+D 25-joint layout (Kinect v2 order).

A dataset that no licence blocks, and the live source of the demo. Each sample is built
from a small kinematic skeleton: bone lengths scaled by body size, a pelvis trajectory on
the floor, a few torso angles, legs driven by a gait cycle (plus a kick), and arms solved
by two-bone inverse kinematics towards hand targets (the partner's hand, chest, back,
face). Bones therefore keep their length in every frame; only the joint noise of the
simulated tracker changes them. The last class, none, holds what real footage shows most of
the time: scenes without an interaction (NEGATIVE_KINDS: people passing each other,
walking side by side or apart, standing and talking, one person's own action next to an
idle other, a person alone, pedestrians crossing at any angle), in which no hand comes
near the other person.

Coordinates are those of NTU RGB+D (Kinect v2 camera space), in metres: x to the camera's
left, y up, z away from the camera (right-handed; the camera optical frame turned half a
turn about z). The camera stands 2.8-4.5 m from the pair. Samples are NOT centred here: the demo
recipe's `Preprocessing(centre_joint=1)` subtracts the middle of the spine of entity 0 at
the first frame of every model input (training sample and live window alike), so the
model sees the same normalisation in training and in the live node.

A sample is (C=3, T, J=25, E=2) float32; frames where the tracker lost a person are zero
for that person (a brief dropout), as in NTU.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ista_ros.errors import ConfigError

CLASS_NAMES = (
    "handshake", "hug", "push", "punch", "kick",
    "point at", "wave at", "hand over", "approach", "walk apart", "none",
)
NONE = len(CLASS_NAMES) - 1  # no interaction: last, so the interactions keep their ids
INTERACTIONS = range(NONE)
# The scenes of class none, as real footage has them; in generate_windows and
# generate_dataset each is drawn with its weight.
NEGATIVE_KINDS = ("pass", "side by side", "apart", "talk", "one-person action", "alone", "crossing")
NEGATIVE_WEIGHTS = (0.15, 0.1, 0.08, 0.15, 0.15, 0.12, 0.25)
LAYOUT = "ntu25"
AXES = "kinect"  # ista_ros.core.axes: x to the camera's left, y up, z away from the camera
NUM_JOINTS = 25
FPS = 30

# NTU-25 joint indices (0-based).
BASE, MID, NECK, HEAD = 0, 1, 2, 3
SHOULDER, ELBOW, WRIST, HAND = (4, 8), (5, 9), (6, 10), (7, 11)  # (left, right)
HIP, KNEE, ANKLE, FOOT = (12, 16), (13, 17), (14, 18), (15, 19)
SPINE_SHOULDER = 20
HAND_TIP, THUMB = (21, 23), (22, 24)
LEFT, RIGHT = 0, 1
SIDE_SIGN = (1.0, -1.0)  # body-local x points to the person's left

# Rigid links (parent, child) of the kinematic skeleton; their lengths never change.
BONES = (
    (BASE, MID), (MID, SPINE_SHOULDER), (SPINE_SHOULDER, NECK), (NECK, HEAD),
    *((SPINE_SHOULDER, SHOULDER[s]) for s in (0, 1)),
    *((SHOULDER[s], ELBOW[s]) for s in (0, 1)), *((ELBOW[s], WRIST[s]) for s in (0, 1)),
    *((WRIST[s], HAND[s]) for s in (0, 1)), *((HAND[s], HAND_TIP[s]) for s in (0, 1)),
    *((HAND[s], THUMB[s]) for s in (0, 1)), *((BASE, HIP[s]) for s in (0, 1)),
    *((HIP[s], KNEE[s]) for s in (0, 1)), *((KNEE[s], ANKLE[s]) for s in (0, 1)),
    *((ANKLE[s], FOOT[s]) for s in (0, 1)),
)

# Segment lengths in metres of a 1.70 m adult.
NOMINAL_HEIGHT = 1.70
NOMINAL_BODY = {
    "spine_low": 0.26, "spine_up": 0.22, "neck": 0.07, "head": 0.12,
    "shoulder_width": 0.18, "shoulder_drop": 0.04, "upper_arm": 0.29, "forearm": 0.25,
    "hand": 0.08, "finger": 0.07, "thumb": 0.05, "hip_width": 0.09, "hip_drop": 0.07,
    "thigh": 0.43, "shin": 0.41, "ankle": 0.08, "foot": 0.13,
}

# Natural duration of each class in seconds at speed 1.
DURATION_S = (3.2, 4.0, 2.6, 2.2, 2.6, 3.0, 3.0, 3.6, 3.2, 3.2, 3.2)


@dataclass(frozen=True)
class Variation:
    """Ranges of the per-sample variation (uniform between the two values)."""

    height: tuple[float, float] = (1.50, 1.95)  # body height, m
    speed: tuple[float, float] = (0.8, 1.25)  # playback speed factor
    facing_deg: float = 12.0  # std of each person's facing around "towards the partner"
    centre_offset: float = 0.4  # m, half-range of the pair's position on the floor
    camera_yaw_deg: tuple[float, float] = (-60.0, 60.0)  # 0: side view of the pair
    camera_pitch_deg: tuple[float, float] = (0.0, 20.0)  # looking down
    camera_distance: tuple[float, float] = (2.8, 4.5)  # m, to the pair's midpoint
    noise_std: tuple[float, float] = (0.003, 0.012)  # m, per joint and frame
    dropout_rate: float = 0.25  # probability that a sample has one tracker dropout
    dropout_frames: tuple[int, int] = (3, 10)  # its length
    # Relative error of each person's distance from the camera, as a pose source without
    # depth makes it (ista_ros.keypoints.geometry lifts from body size: 10-20 %): the
    # sample's error size is drawn from this range; 0 is a depth camera (Kinect, NTU).
    depth_error: tuple[float, float] = (0.0, 0.0)


EXACT = Variation(speed=(1.0, 1.0), facing_deg=0.0, centre_offset=0.0, camera_yaw_deg=(0.0, 0.0),
                  camera_pitch_deg=(0.0, 0.0), noise_std=(0.0, 0.0), dropout_rate=0.0)


# --------------------------------------------------------------------------- geometry

def _rot_y(angle):
    """(T, 3, 3) rotations about the vertical: local z (forward) -> (sin a, 0, cos a)."""
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(angle), np.ones_like(angle)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_x(angle):
    """(T, 3, 3) rotations about the local left axis: positive bends forward."""
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(angle), np.ones_like(angle)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _apply(rot, vec):
    """Rotate body-local vectors (3,) or (T, 3) by (T, 3, 3)."""
    return np.einsum("tij,tj->ti", rot, np.broadcast_to(vec, rot.shape[:-1]))


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _reject(v, axis):
    """Component of v perpendicular to the unit vector axis."""
    return v - np.sum(v * axis, -1, keepdims=True) * axis


def _two_bone(root, target, l1, l2, pole):
    """Middle and end joints of a two-bone limb reaching from root towards target.

    The target is clamped to the reachable shell; the middle joint bends towards pole.
    """
    span = target - root
    dist = np.linalg.norm(span, axis=-1, keepdims=True)
    axis = span / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(l1 - l2) + 1e-3, 0.999 * (l1 + l2))
    along = (l1 ** 2 - l2 ** 2 + dist ** 2) / (2 * dist)
    out = np.sqrt(np.maximum(l1 ** 2 - along ** 2, 0.0))
    bend = _unit(_reject(pole, axis))
    return root + along * axis + out * bend, root + dist * axis


def _ramp(t, start, end):
    """Smooth step from 0 at start to 1 at end."""
    x = np.clip((t - start) / max(end - start, 1e-6), 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _pulse(t, rise, full, fall, zero):
    """0 -> 1 between rise and full, 1 -> 0 between fall and zero."""
    return _ramp(t, rise, full) * (1 - _ramp(t, fall, zero))


def _lerp(a, b, w):
    """a -> b by weight w; a per-frame weight (T,) applies to every coordinate of (T, 3)."""
    w = np.asarray(w)
    extra = max(np.ndim(a), np.ndim(b)) - w.ndim
    return a + (b - a) * w.reshape(w.shape + (1,) * max(extra, 0))


# --------------------------------------------------------------------------- people

def _draw_body(rng, height):
    """Segment lengths of one person: scaled to height, with individual proportions."""
    scale = height / NOMINAL_HEIGHT
    body = {k: v * scale * rng.uniform(0.95, 1.05) for k, v in NOMINAL_BODY.items()}
    body["height"] = height
    return body


@dataclass
class _Person:
    """The motion of one person, set by a class script, as arrays over T frames."""

    body: dict
    x: np.ndarray  # floor position along the interaction axis, m
    yaw: np.ndarray  # facing, rad; pi/2 faces +x
    z: np.ndarray = None  # floor position across the axis, m
    lean: np.ndarray = None  # forward bend of the upper body, rad
    twist: np.ndarray = None  # upper-body yaw relative to the pelvis, rad
    nod: np.ndarray = None  # head pitch, rad
    kick_hip: np.ndarray = None  # (2, T) extra hip flexion per leg
    kick_knee: np.ndarray = None  # (2, T) extra knee flexion per leg
    sit: np.ndarray = None  # 0 standing .. 1 seated (on a chair the tracker does not see)
    reach: list = field(default_factory=lambda: [None, None])  # per arm: (target (T,3), weight (T,))
    pole: list = field(default_factory=lambda: [None, None])  # per arm: local elbow direction

    def __post_init__(self):
        steps = len(self.x)
        for name in ("z", "lean", "twist", "nod", "sit"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(steps))
        self.kick_hip = np.zeros((2, steps)) if self.kick_hip is None else self.kick_hip
        self.kick_knee = np.zeros((2, steps)) if self.kick_knee is None else self.kick_knee

    @property
    def height(self):
        return self.body["height"]

    @property
    def arm(self):
        return self.body["upper_arm"] + self.body["forearm"] + self.body["hand"]


def _gait(person, fps):
    """Hip and knee angles (2, T) and the arm swing (2, T) of walking, from the pelvis path."""
    body = person.body
    step = np.diff(np.stack([person.x, person.z], -1), axis=0, prepend=[[person.x[0], person.z[0]]])
    forward = np.stack([np.sin(person.yaw), np.cos(person.yaw)], -1)
    progress = np.cumsum(np.sum(step * forward, -1))
    speed = np.convolve(np.linalg.norm(step, axis=-1) * fps, np.ones(7) / 7, mode="same")
    amplitude = np.clip(speed / (0.9 * body["thigh"] / 0.43), 0.0, 1.0)
    phase = 2 * np.pi * progress / (3.3 * body["thigh"]) + np.array([[0.0], [np.pi]])
    hip = 0.42 * amplitude * np.sin(phase)
    knee = 0.08 + 0.8 * amplitude * np.maximum(np.cos(phase), 0.0)
    return hip, knee, hip[::-1]


def _skeleton(person, fps):
    """World joints (T, 25, 3) of a person and the torso frames the arms need."""
    b, steps = person.body, len(person.x)
    hip_angle, knee_angle, arm_swing = _gait(person, fps)
    hip_angle = hip_angle + person.kick_hip + 1.4 * person.sit
    knee_angle = knee_angle + person.kick_knee + 1.5 * person.sit
    shank = hip_angle - knee_angle
    leg_drop = b["thigh"] * np.cos(hip_angle) + b["shin"] * np.cos(shank)
    pelvis_y = b["ankle"] + b["hip_drop"] + leg_drop.max(axis=0)
    joints = np.zeros((steps, NUM_JOINTS, 3))
    joints[:, BASE] = np.stack([person.x, pelvis_y, person.z], -1)

    hips = _rot_y(person.yaw)
    lower = hips @ _rot_x(0.4 * person.lean)
    upper = _rot_y(person.yaw + person.twist) @ _rot_x(person.lean)
    head = upper @ _rot_x(person.nod)
    joints[:, MID] = joints[:, BASE] + _apply(lower, [0, b["spine_low"], 0])
    joints[:, SPINE_SHOULDER] = joints[:, MID] + _apply(upper, [0, b["spine_up"], 0])
    joints[:, NECK] = joints[:, SPINE_SHOULDER] + _apply(upper, [0, b["neck"], 0])
    joints[:, HEAD] = joints[:, NECK] + _apply(head, [0, b["head"], 0.02])

    for side, sign in enumerate(SIDE_SIGN):
        joints[:, SHOULDER[side]] = joints[:, SPINE_SHOULDER] + _apply(
            upper, [sign * b["shoulder_width"], -b["shoulder_drop"], -0.01])
        hip = joints[:, BASE] + _apply(hips, [sign * b["hip_width"], -b["hip_drop"], 0])
        joints[:, HIP[side]] = hip
        thigh = np.stack([np.full(steps, 0.03 * sign), -np.cos(hip_angle[side]), np.sin(hip_angle[side])], -1)
        joints[:, KNEE[side]] = hip + b["thigh"] * _apply(hips, _unit(thigh))
        shin = np.stack([np.full(steps, 0.03 * sign), -np.cos(shank[side]), np.sin(shank[side])], -1)
        joints[:, ANKLE[side]] = joints[:, KNEE[side]] + b["shin"] * _apply(hips, _unit(shin))
        # A kick points the toes; a seated person's feet stay flat on the floor.
        toe = (shank[side] - 0.3 * np.clip(person.kick_hip[side], 0, None)) * (1 - person.sit)
        foot = np.stack([np.zeros(steps), np.sin(toe), np.cos(toe)], -1)
        joints[:, FOOT[side]] = joints[:, ANKLE[side]] + b["foot"] * _apply(hips, foot)
    _arms(person, joints, upper, arm_swing)
    return joints


def _rest_hand(person, joints, side, swing=0.0):
    """Where a hanging hand is: below the shoulder, swinging with the gait."""
    b = person.body
    facing = _rot_y(person.yaw + person.twist)
    sign = SIDE_SIGN[side]
    down = 0.97 * (b["upper_arm"] + b["forearm"] + b["hand"])
    offset = np.stack([np.full(len(person.x), 0.1 * sign), -down * np.cos(swing), down * np.sin(swing) + 0.04], -1)
    return joints[:, SHOULDER[side]] + _apply(facing, offset)


def _arms(person, joints, upper, arm_swing):
    """Solve both arms by inverse kinematics towards their (blended) hand targets."""
    b = person.body
    forearm = b["forearm"] + b["hand"]
    for side, sign in enumerate(SIDE_SIGN):
        shoulder = joints[:, SHOULDER[side]]
        target = _rest_hand(person, joints, side, 0.5 * arm_swing[side])
        if person.reach[side] is not None:
            goal, weight = person.reach[side]
            target = _lerp(target, goal, weight)
        pole_local = person.pole[side] if person.pole[side] is not None else [0.35 * sign, -0.6, -1.0]
        elbow, hand = _two_bone(shoulder, target, b["upper_arm"], forearm, _apply(upper, pole_local))
        direction = _unit(hand - elbow)
        joints[:, ELBOW[side]] = elbow
        joints[:, WRIST[side]] = elbow + b["forearm"] * direction
        joints[:, HAND[side]] = hand
        joints[:, HAND_TIP[side]] = hand + b["finger"] * direction
        # The thumb points up-forward off the hand, or sideways when the hand points that way.
        up_front = _reject(_apply(upper, [0, 1, 1]), direction)
        inward = _reject(_apply(upper, [-sign, 0, 0]), direction)
        thumb = np.where(np.linalg.norm(up_front, axis=-1, keepdims=True) > 0.3, up_front, inward)
        joints[:, THUMB[side]] = hand + b["thumb"] * _unit(0.5 * direction + _unit(thumb))


def _forward(person):
    return np.stack([np.sin(person.yaw), np.zeros_like(person.yaw), np.cos(person.yaw)], -1)


def _left(person):
    return np.stack([np.cos(person.yaw), np.zeros_like(person.yaw), -np.sin(person.yaw)], -1)


# --------------------------------------------------------------------------- scenes

@dataclass
class _Scene:
    """Time base and people of one interaction: A acts at -x facing +x, B at +x facing -x."""

    rng: np.random.Generator
    t: np.ndarray  # normalised time 0..1
    seconds: np.ndarray
    fps: float
    facing_deg: float = 0.0
    kind: str | None = None  # class none: which of NEGATIVE_KINDS
    a: _Person = None
    b: _Person = None
    absent: int | None = None  # a person not in view (zeros), 1: B

    def people(self, bodies, x_a, x_b):
        """Place A and B facing each other; x_a, x_b: their positions along the axis (scalars or per frame)."""
        jitter = np.deg2rad(self.facing_deg) * self.rng.standard_normal(2)
        steps = len(self.t)
        self.a = _Person(bodies[0], np.broadcast_to(x_a, steps).astype(float), np.full(steps, np.pi / 2 + jitter[0]))
        self.b = _Person(bodies[1], np.broadcast_to(x_b, steps).astype(float), np.full(steps, -np.pi / 2 + jitter[1]))
        return self.a, self.b

    def u(self, low, high):
        """A uniform random number."""
        return self.rng.uniform(low, high)

    def phase(self, value):
        """A key time with a little jitter, so no two samples share timing."""
        return value + self.rng.uniform(-0.03, 0.03)

    def wobble(self, amplitude):
        """Slow idle sway: two sinusoids of random frequency and phase."""
        freq = self.rng.uniform(0.15, 0.6, 2)
        phase = self.rng.uniform(0, 2 * np.pi, 2)
        return amplitude * 0.5 * np.sin(2 * np.pi * freq[:, None] * self.seconds + phase[:, None]).sum(0)

    def idle(self, person):
        person.x = person.x + self.wobble(0.015)
        person.z = person.z + self.wobble(0.015)
        person.lean = person.lean + self.wobble(0.03)
        person.nod = person.nod + self.wobble(0.08)
        person.twist = person.twist + self.wobble(0.05)

    def side(self):
        """The acting hand or foot: right three times in four."""
        return RIGHT if self.rng.random() < 0.75 else LEFT


def _chest(joints):
    return 0.65 * joints[:, SPINE_SHOULDER] + 0.35 * joints[:, MID]


def _handshake(sc, bodies):
    start, meet = sc.u(1.0, 1.5), sc.u(0.62, 0.74) * (bodies[0]["thigh"] + bodies[1]["thigh"]) / 0.86
    gap = _lerp(start, meet, _ramp(sc.t, 0.0, sc.phase(0.3)))
    a, b = sc.people(bodies, -gap / 2, gap / 2)
    reach = _pulse(sc.t, sc.phase(0.12), sc.phase(0.35), sc.phase(0.72), sc.phase(0.92))
    for p in (a, b):
        sc.idle(p)
        p.lean = p.lean + sc.u(0.05, 0.15) * reach
        p.twist = p.twist + 0.2 * reach
    ja, jb = _skeleton(a, sc.fps), _skeleton(b, sc.fps)
    height = 0.54 * (a.height + b.height) / 2 + sc.u(-0.04, 0.04)
    meet_point = 0.5 * (ja[:, BASE] + jb[:, BASE]) * [1, 0, 1] + [0, height, sc.u(-0.04, 0.04)]
    shake = _pulse(sc.t, 0.33, 0.4, 0.66, 0.74) * 0.035 * np.sin(2 * np.pi * sc.u(2.0, 3.0) * sc.seconds)
    meet_point[:, 1] += shake
    a.reach[RIGHT] = (meet_point - [0.025, 0, 0], reach)
    b.reach[RIGHT] = (meet_point + [0.025, 0, 0], reach)


def _hug(sc, bodies):
    start, close, after = sc.u(1.1, 1.6), sc.u(0.34, 0.42), sc.u(0.5, 0.8)
    gap = _lerp(_lerp(start, close, _ramp(sc.t, 0.0, sc.phase(0.3))), after, _ramp(sc.t, sc.phase(0.85), 1.0))
    a, b = sc.people(bodies, -gap / 2, gap / 2)
    hold = _pulse(sc.t, sc.phase(0.2), sc.phase(0.42), sc.phase(0.76), sc.phase(0.9))
    rock = 0.12 * np.sin(2 * np.pi * sc.u(0.4, 0.8) * sc.seconds)
    for p in (a, b):
        sc.idle(p)
        p.lean = p.lean + 0.12 * hold
        p.twist = p.twist + rock * hold
        p.pole = [[1.0, 0.1, -0.4], [-1.0, 0.1, -0.4]]
    ja, jb = _skeleton(a, sc.fps), _skeleton(b, sc.fps)
    high = sc.rng.integers(2)  # one arm over the partner's shoulder, one under the arm
    for me, other, jo in ((a, b, jb), (b, a, ja)):
        back = -0.13 * _forward(other)
        for side, sign in enumerate(SIDE_SIGN):
            across = -sign * 0.08 * _left(other)  # my right hand goes round the partner's left
            level = jo[:, SPINE_SHOULDER] if side == high else jo[:, MID]
            me.reach[side] = (level + back + across, hold)


def _push(sc, bodies):
    start, step, shove = sc.u(0.85, 1.1), sc.u(0.1, 0.25), sc.u(0.3, 0.6)
    contact = sc.phase(0.36)
    a_x = -start / 2 + step * _ramp(sc.t, 0.1, contact)
    b_x = start / 2 + shove * _ramp(sc.t, contact - 0.02, contact + 0.25)
    a, b = sc.people(bodies, a_x, b_x)
    hands = _pulse(sc.t, contact - 0.2, contact, contact + 0.15, contact + 0.38)
    recoil = _pulse(sc.t, contact - 0.02, contact + 0.06, contact + 0.15, contact + 0.4)
    for p in (a, b):
        sc.idle(p)
    a.lean = a.lean + 0.25 * hands
    b.lean = b.lean - 0.22 * recoil
    b.nod = b.nod - 0.25 * recoil
    jb = _skeleton(b, sc.fps)
    for side in (LEFT, RIGHT):
        front = 0.6 * jb[:, SHOULDER[side]] + 0.4 * _chest(jb) + 0.08 * _forward(b) - [0, 0.05, 0]
        a.reach[side] = (front, hands)
        b.reach[side] = (jb[:, SHOULDER[side]] + 0.3 * _forward(b) - [0, 0.3, 0], 0.7 * recoil)


def _punch(sc, bodies):
    start, side = sc.u(0.75, 0.95), sc.side()
    hits = (sc.phase(0.42),) if sc.rng.random() < 0.5 else (sc.phase(0.35), sc.phase(0.65))
    strike = sum(_pulse(sc.t, h - 0.09, h - 0.01, h + 0.02, h + 0.12) for h in hits)
    flinch = sum(_pulse(sc.t, h - 0.01, h + 0.04, h + 0.08, h + 0.25) for h in hits)
    a, b = sc.people(bodies, -start / 2 + 0.1 * _ramp(sc.t, 0.05, 0.25),
                     start / 2 + 0.08 * _ramp(sc.t, hits[0], hits[-1] + 0.2))
    for p in (a, b):
        sc.idle(p)
    guard = _pulse(sc.t, 0.03, 0.2, 0.85, 0.98)
    a.twist = a.twist - SIDE_SIGN[side] * 0.35 * strike
    a.lean = a.lean + 0.1 * guard + 0.08 * strike
    b.lean = b.lean - 0.15 * flinch
    b.nod = b.nod - 0.35 * flinch
    ja, jb = _skeleton(a, sc.fps), _skeleton(b, sc.fps)
    face = jb[:, HEAD] + 0.1 * _forward(b)
    for s, sign in enumerate(SIDE_SIGN):
        chin = ja[:, HEAD] + 0.25 * _forward(a) + 0.1 * sign * _left(a) - [0, 0.15, 0]
        target = _lerp(chin, face, strike) if s == side else chin
        a.reach[s] = (target, np.maximum(guard, strike))
    a.pole[side] = [0.7 * SIDE_SIGN[side], -1.0, -0.3]


def _kick(sc, bodies):
    start, leg = sc.u(0.9, 1.2), sc.side()
    peak = sc.phase(0.45)
    raise_leg = _pulse(sc.t, peak - 0.22, peak, peak + 0.05, peak + 0.25)
    chamber = (_pulse(sc.t, peak - 0.25, peak - 0.12, peak - 0.08, peak)
               + _pulse(sc.t, peak + 0.04, peak + 0.12, peak + 0.16, peak + 0.25))
    doubled = _pulse(sc.t, peak, peak + 0.08, peak + 0.25, peak + 0.45)
    a, b = sc.people(bodies, -start / 2, start / 2 + 0.15 * _ramp(sc.t, peak, peak + 0.2))
    for p in (a, b):
        sc.idle(p)
    a.kick_hip[leg] = sc.u(1.0, 1.4) * raise_leg
    a.kick_knee[leg] = 1.3 * chamber
    a.lean = a.lean - 0.25 * raise_leg
    b.lean = b.lean + 0.4 * doubled
    b.nod = b.nod + 0.2 * doubled
    ja, jb = _skeleton(a, sc.fps), _skeleton(b, sc.fps)
    for side, sign in enumerate(SIDE_SIGN):
        balance = ja[:, SHOULDER[side]] + 0.35 * sign * _left(a) - [0, 0.3, 0] + 0.1 * _forward(a)
        a.reach[side] = (balance, 0.8 * raise_leg)
        b.reach[side] = (jb[:, MID] + 0.2 * _forward(b) + 0.06 * sign * _left(b), doubled)


def _point(sc, bodies):
    start, side = sc.u(1.6, 3.0), sc.side()
    a, b = sc.people(bodies, -start / 2, start / 2)
    for p in (a, b):
        sc.idle(p)
    aim = _pulse(sc.t, sc.phase(0.12), sc.phase(0.32), sc.phase(0.72), sc.phase(0.9))
    a.twist = a.twist - SIDE_SIGN[side] * 0.15 * aim
    ja, jb = _skeleton(a, sc.fps), _skeleton(b, sc.fps)
    shoulder = ja[:, SHOULDER[side]]
    target = 0.5 * (jb[:, HEAD] + _chest(jb)) + [0, sc.u(-0.3, 0.1), 0]
    a.reach[side] = (shoulder + a.arm * _unit(target - shoulder), aim)


def _wave(sc, bodies):
    start = sc.u(1.6, 3.5)
    a, b = sc.people(bodies, -start / 2, start / 2)
    wavers = [(a, sc.phase(0.1))] + ([(b, sc.phase(0.3))] if sc.rng.random() < 0.4 else [])
    for p in (a, b):
        sc.idle(p)
    for p, begin in wavers:
        side = sc.side()
        sign = SIDE_SIGN[side]
        raised = _pulse(sc.t, begin, begin + 0.18, begin + 0.55, begin + 0.7)
        joints = _skeleton(p, sc.fps)
        swing = 0.12 * np.sin(2 * np.pi * sc.u(1.5, 2.5) * sc.seconds) * _ramp(sc.t, begin + 0.12, begin + 0.2)
        offset = (0.25 * sign + swing)[:, None] * _left(p) + 0.12 * _forward(p) + [0, sc.u(0.28, 0.42), 0]
        p.reach[side] = (joints[:, SHOULDER[side]] + offset, raised)
        p.pole[side] = [sign, -1.0, 0.0]


def _hand_over(sc, bodies):
    start, giver, taker = sc.u(0.7, 0.9), sc.side(), sc.side()
    a, b = sc.people(bodies, -start / 2, start / 2)
    for p in (a, b):
        sc.idle(p)
    offer, take, away = sc.phase(0.3), sc.phase(0.5), sc.phase(0.62)
    a.lean = a.lean + 0.1 * _pulse(sc.t, offer - 0.2, offer, away, away + 0.2)
    b.lean = b.lean + 0.1 * _pulse(sc.t, offer, take, away, away + 0.15)
    ja, jb = _skeleton(a, sc.fps), _skeleton(b, sc.fps)
    height = 0.52 * (a.height + b.height) / 2 + sc.u(-0.05, 0.05)
    spot = 0.5 * (ja[:, BASE] + jb[:, BASE]) * [1, 0, 1] + [sc.u(-0.1, 0.0), height, sc.u(-0.08, 0.08)]
    spot = _within_reach(ja[:, SHOULDER[giver]], spot, 0.95 * a.arm)
    held_a = ja[:, SHOULDER[giver]] + 0.3 * _forward(a) - [0, 0.35, 0]
    held_b = jb[:, SHOULDER[taker]] + 0.3 * _forward(b) - [0, 0.35, 0]
    a.reach[giver] = (_lerp(held_a, spot, _ramp(sc.t, offer - 0.2, offer)), 1 - _ramp(sc.t, away, away + 0.2))
    b.reach[taker] = (_lerp(spot + [0.03, 0, 0], held_b, _ramp(sc.t, away, away + 0.2)),
                      _ramp(sc.t, offer, take) * (1 - _ramp(sc.t, 0.9, 1.0)))


def _within_reach(shoulder, point, reach):
    """point, pulled towards the shoulder until an arm of length reach gets there."""
    span = point - shoulder
    dist = np.linalg.norm(span, axis=-1, keepdims=True)
    return shoulder + span * np.minimum(1.0, reach / np.maximum(dist, 1e-9))


def _approach(sc, bodies):
    far, near = sc.u(2.6, 3.6), sc.u(0.8, 1.2)
    walk = _ramp(sc.t, sc.phase(0.08), sc.phase(0.85))
    a, b = sc.people(bodies, 0.5 - far + (far - near) * walk, 0.5)
    for p in (a, b):
        sc.idle(p)


def _walk_apart(sc, bodies):
    start = sc.u(0.6, 1.0)
    turn = _ramp(sc.t, sc.phase(0.02), sc.phase(0.22))
    walk = _ramp(sc.t, sc.phase(0.18), sc.phase(0.95))
    a, b = sc.people(bodies, -start / 2 - sc.u(1.0, 1.7) * walk, start / 2 + sc.u(1.0, 1.7) * walk)
    for p in (a, b):
        p.yaw = p.yaw + np.pi * turn * (1 if sc.rng.random() < 0.5 else -1)
        sc.idle(p)


def _walk(sc, person, speed, heading, cross=0.5):
    """Make a person walk at speed (m/s) along heading (rad about the vertical; pi/2: +x),
    level with their start position at normalised time cross."""
    travelled = speed * (sc.seconds - cross * sc.seconds[-1])
    person.x = person.x + travelled * np.sin(heading)
    person.z = person.z + travelled * np.cos(heading)
    person.yaw = np.full(len(sc.t), heading) + np.deg2rad(3.0) * sc.rng.standard_normal()


def _pass(sc, bodies):
    """Two people walking past each other in parallel lanes, never touching."""
    a, b = sc.people(bodies, 0.0, 0.0)
    lane = sc.u(0.9, 1.7)  # between the two pelvis paths
    cross = sc.u(0.3, 0.7)
    _walk(sc, a, sc.u(1.0, 1.5), np.pi / 2, cross)
    _walk(sc, b, sc.u(1.0, 1.5), -np.pi / 2, cross)
    a.z, b.z = a.z + lane / 2, b.z - lane / 2
    for p in (a, b):
        sc.idle(p)


def _side_by_side(sc, bodies):
    """Walking together: the same way at the same pace, 0.9-1.2 m apart."""
    a, b = sc.people(bodies, 0.0, sc.u(-0.3, 0.3))
    heading, speed, lane = sc.rng.choice([np.pi / 2, -np.pi / 2]), sc.u(0.9, 1.4), sc.u(0.9, 1.2)
    for p, side in ((a, 1), (b, -1)):
        _walk(sc, p, speed * sc.u(0.97, 1.03), heading)
        p.z = p.z + side * lane / 2
        sc.idle(p)


def _apart(sc, bodies):
    """Two people in the same room, each on their own: one walks, the other stands or
    walks another way, 2-3.5 m apart."""
    a, b = sc.people(bodies, 0.0, sc.u(-1.0, 1.0))
    b.z = b.z + sc.u(2.0, 3.5)
    _walk(sc, a, sc.u(0.9, 1.5), sc.rng.choice([np.pi / 2, -np.pi / 2]))
    if sc.rng.random() < 0.5:
        _walk(sc, b, sc.u(0.9, 1.5), sc.rng.choice([np.pi / 2, -np.pi / 2]))
    else:
        b.yaw = np.full(len(sc.t), sc.u(-np.pi, np.pi))
    for p in (a, b):
        sc.idle(p)


def _gesture(sc, person, joints):
    """Hands moving in front of one's own chest while talking: a few short raises each."""
    for side, sign in enumerate(SIDE_SIGN):
        if sc.rng.random() < 0.4:
            continue
        begins = sc.rng.uniform(0.0, 0.75, int(sc.rng.integers(1, 4)))
        weight = np.clip(sum(_pulse(sc.t, t0, t0 + 0.06, t0 + sc.u(0.08, 0.2), t0 + 0.25) for t0 in begins), 0, 1)
        sway = 0.05 * np.sin(2 * np.pi * sc.u(0.8, 2.0) * sc.seconds + sc.u(0, 2 * np.pi))
        front = (sc.u(0.22, 0.35) * _forward(person) + (sign * sc.u(-0.05, 0.15) + sway)[:, None] * _left(person)
                 + [0, -sc.u(0.1, 0.3), 0])
        person.reach[side] = (joints[:, SHOULDER[side]] + front, weight)


def _talk(sc, bodies):
    """Standing and talking, 1.1-1.9 m apart, roughly facing each other: gestures and nods."""
    gap = sc.u(1.1, 1.9)
    a, b = sc.people(bodies, -gap / 2, gap / 2)
    for p in (a, b):
        p.yaw = p.yaw + sc.u(-0.45, 0.45)
        sc.idle(p)
        p.nod = p.nod + 0.1 * np.sin(2 * np.pi * sc.u(0.3, 0.8) * sc.seconds) * (sc.rng.random() < 0.5)
    ja, jb = _skeleton(a, sc.fps), _skeleton(b, sc.fps)
    _gesture(sc, a, ja)
    _gesture(sc, b, jb)


def _solo(sc, person):
    """One of a few one-person actions: stretching up or out, phoning, sitting down."""
    action = sc.rng.choice(["stretch up", "stretch out", "phone", "sit down"])
    begin, end = sc.u(0.05, 0.3), sc.u(0.65, 1.1)
    hold = _pulse(sc.t, begin, begin + 0.2, end - 0.15, end)
    if action == "sit down":
        person.sit = _ramp(sc.t, begin, begin + sc.u(0.2, 0.35)) * (1 - _ramp(sc.t, end, end + 0.3))
        person.lean = person.lean + 0.35 * _pulse(sc.t, begin, begin + 0.12, begin + 0.2, begin + 0.4)
        return
    joints = _skeleton(person, sc.fps)
    for side, sign in enumerate(SIDE_SIGN):
        shoulder = joints[:, SHOULDER[side]]
        if action == "stretch up":
            person.reach[side] = (shoulder + [0, 0.7, 0] + 0.1 * sign * _left(person), hold)
        elif action == "stretch out":
            person.reach[side] = (shoulder + 0.65 * sign * _left(person) + [0, 0.1, 0], hold)
    if action == "stretch up":
        person.lean = person.lean - 0.1 * hold
    elif action == "phone":
        side = sc.side()
        ear = joints[:, HEAD] + 0.09 * SIDE_SIGN[side] * _left(person) - [0, 0.04, 0]
        person.reach[side] = (ear, _ramp(sc.t, begin, begin + 0.12) * (1 - _ramp(sc.t, end, end + 0.12)))
        person.pole[side] = [SIDE_SIGN[side], -1.0, 0.3]
        person.nod = person.nod + 0.15 * hold


def _one_person_action(sc, bodies):
    """One person does a one-person action 1.4-2.5 m from an idle other, who looks anywhere."""
    gap = sc.u(1.4, 2.5)
    a, b = sc.people(bodies, -gap / 2, gap / 2)
    a.yaw = a.yaw + sc.u(-0.8, 0.8)
    b.yaw = b.yaw + sc.u(-np.pi, np.pi)
    for p in (a, b):
        sc.idle(p)
    _solo(sc, a)


def _alone(sc, bodies):
    """One person in view, idle, walking or doing a one-person action; B is not in view
    (zeros, as NTU pads a missing second actor)."""
    a, b = sc.people(bodies, 0.0, 1.5)
    sc.absent = 1
    sc.idle(a)
    if sc.rng.random() < 0.4:
        _walk(sc, a, sc.u(0.6, 1.4), sc.u(-np.pi, np.pi))
    else:
        a.yaw = a.yaw + sc.u(-np.pi, np.pi)
        if sc.rng.random() < 0.6:
            _solo(sc, a)


def _crossing(sc, bodies):
    """Two pedestrians on straight paths at any angle and pace (now and then one stands,
    waiting), never stopping for each other: nearest 0.7-4 m apart, at any time from a
    little before the scene to a little after it, so many scenes show them closing in."""
    a, b = sc.people(bodies, 0.0, 0.0)
    heading = sc.u(-np.pi, np.pi)
    headings = (heading, heading + sc.u(-0.3, 0.3) if sc.rng.random() < 0.25 else sc.u(-np.pi, np.pi))
    speeds = (sc.u(0.8, 1.6), 0.0 if sc.rng.random() < 0.2 else sc.u(0.8, 1.6))
    velocity = [s * np.array([np.sin(h), np.cos(h)]) for s, h in zip(speeds, headings)]
    relative = velocity[1] - velocity[0]
    across = (np.array([-relative[1], relative[0]]) / np.linalg.norm(relative) if np.linalg.norm(relative) > 0.1
              else np.array([np.cos(sc.u(0, 2 * np.pi)), np.sin(sc.u(0, 2 * np.pi))]))
    offset = sc.u(0.7, 4.0) * across * sc.rng.choice([-1.0, 1.0])
    nearest = sc.u(-0.3, 1.3)
    for p, speed, h in ((a, speeds[0], headings[0]), (b, speeds[1], headings[1])):
        _walk(sc, p, speed, h, nearest)
    if speeds[1] == 0.0:
        b.yaw = np.full(len(sc.t), sc.u(-np.pi, np.pi))
    b.x, b.z = b.x + offset[0], b.z + offset[1]
    for p in (a, b):
        sc.idle(p)


_NEGATIVES = dict(zip(NEGATIVE_KINDS, (_pass, _side_by_side, _apart, _talk, _one_person_action, _alone, _crossing)))


def _draw_kind(rng):
    return str(rng.choice(NEGATIVE_KINDS, p=NEGATIVE_WEIGHTS))


def _no_interaction(sc, bodies):
    """Class none: one of NEGATIVE_KINDS (sc.kind, drawn by its weight when not given)."""
    sc.kind = sc.kind or _draw_kind(sc.rng)
    _NEGATIVES[sc.kind](sc, bodies)


_SCRIPTS = (_handshake, _hug, _push, _punch, _kick, _point, _wave, _hand_over, _approach, _walk_apart,
            _no_interaction)
assert len(_SCRIPTS) == len(CLASS_NAMES) == len(DURATION_S)


# --------------------------------------------------------------------------- sensor

@dataclass(frozen=True)
class _Camera:
    """A fixed camera looking at the pair's midpoint; axis: yaw of the interaction axis."""

    yaw: float
    pitch: float
    distance: float
    centre: tuple[float, float]  # the pair's midpoint on the floor
    axis: float  # rotation of the interaction axis about the vertical

    @classmethod
    def draw(cls, rng, v: Variation):
        return cls(
            yaw=np.deg2rad(rng.uniform(*v.camera_yaw_deg)),
            pitch=np.deg2rad(rng.uniform(*v.camera_pitch_deg)),
            distance=rng.uniform(*v.camera_distance),
            centre=tuple(rng.uniform(-v.centre_offset, v.centre_offset, 2)),
            axis=0.0,
        )

    def project(self, world):
        """Scene joints (..., 3) -> Kinect camera space (x left, y up, z away from the camera)."""
        c, s = np.cos(self.axis), np.sin(self.axis)
        placed = world @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]) + [self.centre[0], 0, self.centre[1]]
        view = np.array([np.cos(self.pitch) * np.sin(self.yaw), -np.sin(self.pitch),
                         np.cos(self.pitch) * np.cos(self.yaw)])
        target = np.array([0.0, 1.0, 0.0])
        eye = target - self.distance * view
        right = _unit(np.cross(view, [0.0, 1.0, 0.0]))
        up = np.cross(right, view)
        return (placed - eye) @ np.stack([-right, up, view], -1)


def _depth_error(joints, rng, size):
    """Each person (E, T, J, 3) moved along the ray to their centre by a relative error:
    a bias per person plus a smooth wobble per frame (the camera is at the origin)."""
    if size <= 0:
        return joints
    people, steps = joints.shape[:2]
    wobble = 0.5 * size * rng.standard_normal((people, steps + 4))
    wobble = np.stack([np.convolve(w, np.ones(5) / 5, mode="valid") for w in wobble])
    error = size * rng.standard_normal((people, 1)) + wobble
    return joints + error[:, :, None, None] * joints.mean(axis=2, keepdims=True)


def _sensor(joints, rng, v: Variation, in_view=None):
    """The simulated pose source: depth error (none for a depth camera), joint noise and,
    at the configured rate, one brief dropout of one person; people not in view ((E,)
    False) are zeros, and never the only one left."""
    joints = _depth_error(joints, rng, rng.uniform(*v.depth_error))
    noise = rng.uniform(*v.noise_std)
    joints = joints + noise * rng.standard_normal(joints.shape)
    if in_view is not None:
        joints[~in_view] = 0.0
    steps = joints.shape[1]
    if rng.random() < v.dropout_rate and steps > v.dropout_frames[0] + 2:
        length = min(int(rng.integers(v.dropout_frames[0], v.dropout_frames[1] + 1)), steps - 2)
        start = int(rng.integers(1, steps - length))  # never the first or last frame
        who = int(rng.integers(2))
        if in_view is None or in_view.all():
            joints[who, start:start + length] = 0.0
    return joints


# --------------------------------------------------------------------------- public API

def natural_frames(class_id, speed=1.0, fps=FPS):
    return max(int(round(DURATION_S[class_id] / speed * fps)), 8)


def _interaction(class_id, rng, steps, fps, bodies, variation, kind=None):
    """World joints (2, T, 25, 3) of actor and partner, the actor first, and (2,) whether
    each is in view (class none, kind "alone": the partner is not)."""
    t = np.linspace(0.0, 1.0, steps)
    scene = _Scene(rng=rng, t=t, seconds=np.arange(steps) / fps, fps=fps, facing_deg=variation.facing_deg,
                   kind=kind)
    _SCRIPTS[class_id](scene, bodies)
    in_view = np.array([scene.absent != 0, scene.absent != 1])
    return np.stack([_skeleton(scene.a, fps), _skeleton(scene.b, fps)]), in_view


def _check_kind(class_id, kind):
    if kind is not None and (class_id != NONE or kind not in NEGATIVE_KINDS):
        raise ConfigError(f"a kind of scene ({kind!r}) goes with class none only and is one of "
                          f"{', '.join(NEGATIVE_KINDS)}.")


def _check_class(class_id):
    if not 0 <= int(class_id) < len(CLASS_NAMES):
        raise ConfigError(f"class id {class_id} is not one of 0..{len(CLASS_NAMES) - 1} ({', '.join(CLASS_NAMES)}).")
    return int(class_id)


def generate(class_id, rng, num_frames=None, variation=Variation(), fps=FPS, max_frames=None, kind=None):
    """One interaction (or, class NONE, a scene without one: kind one of NEGATIVE_KINDS,
    drawn when None) as a (3, T, 25, 2) float32 sample in camera coordinates.

    T is the class's natural duration at a random speed, or num_frames; max_frames caps it
    (the motion then plays faster). The actor is entity 0 or 1 at random; a person alone
    is entity 0 (entity 1 zero-padded).
    """
    class_id = _check_class(class_id)
    _check_kind(class_id, kind)
    speed = rng.uniform(*variation.speed)
    steps = num_frames or natural_frames(class_id, speed, fps)
    steps = min(steps, max_frames) if max_frames else steps
    bodies = [_draw_body(rng, rng.uniform(*variation.height)) for _ in range(2)]
    camera = replace(_Camera.draw(rng, variation), axis=float(rng.choice([0.0, np.pi])))
    world, in_view = _interaction(class_id, rng, steps, fps, bodies, variation, kind)
    if rng.random() < 0.5 and in_view.all():
        world = world[::-1]
    sample = _sensor(camera.project(world), rng, variation, in_view)
    return np.ascontiguousarray(sample.transpose(3, 1, 2, 0), dtype=np.float32)


def _balanced_labels(n_per_class, rng, none_weight):
    """Shuffled labels: n_per_class of each interaction, round(none_weight * n_per_class) of none."""
    counts = [n_per_class] * NONE + [int(round(none_weight * n_per_class))]
    labels = np.repeat(np.arange(len(CLASS_NAMES)), counts)
    rng.shuffle(labels)
    return labels


def generate_dataset(n_per_class, rng, max_frames=150, variation=Variation(), fps=FPS, progress=None,
                     none_weight=1.0):
    """A shuffled dataset, n_per_class samples of each interaction and none_weight times as
    many of none: data (N, 3, max_frames, 25, 2) zero-padded after each sample's last frame
    (as NTU is), labels (N,) int64."""
    labels = _balanced_labels(n_per_class, rng, none_weight)
    data = np.zeros((len(labels), 3, max_frames, NUM_JOINTS, 2), np.float32)
    for i, label in enumerate(labels):
        sample = generate(label, rng, variation=variation, fps=fps, max_frames=max_frames)
        data[i, :, :sample.shape[1]] = sample
        if progress is not None:
            progress.update(1)
    return data, labels.astype(np.int64)


def generate_windows(n_per_class, rng, window_frames=(60, 90), variation=Variation(), fps=FPS,
                     min_share=0.6, progress=None, none_weight=1.0):
    """Live-like samples: windows cut from continuous streams, as the recognizer sees them.

    Each window (a random length in window_frames) lies in a stream of three scenes
    (random, the labelled one, random; a scene is an interaction or one of class none)
    where the labelled one fills at least min_share of it; the rest is a transition and a
    part of a neighbour. n_per_class windows of each interaction, none_weight times as many
    of none. Returns data (N, 3, max(window_frames), 25, 2), zero-padded after each window,
    and labels (N,) int64.
    """
    classes = len(CLASS_NAMES)
    labels = _balanced_labels(n_per_class, rng, none_weight)
    data = np.zeros((len(labels), 3, window_frames[1], NUM_JOINTS, 2), np.float32)
    for i, label in enumerate(labels):
        before, after = rng.integers(classes, size=2)
        sequence, frame_labels = generate_stream([before, label, after], rng, fps, variation)
        length = min(int(rng.integers(window_frames[0], window_frames[1] + 1)), len(frame_labels))
        share = np.convolve(frame_labels == label, np.ones(length), mode="valid") / length
        start = int(rng.choice(np.flatnonzero(share >= min(min_share, share.max()))))
        data[i, :, :length] = sequence[:, start:start + length]
        if progress is not None:
            progress.update(1)
    return data, labels.astype(np.int64)


def generate_stream(classes, rng, fps=FPS, variation=Variation(), gap_s=(0.4, 0.8)):
    """A continuous recording of the same two people doing the given interactions in turn
    (class NONE: a scene without one, see NEGATIVE_KINDS).

    Returns (sequence (3, T, 25, 2) float32, labels (T,) int64): the class of each frame,
    -1 in the short transitions between scenes (a blend of the two poses). Entity 0 is
    always the same person, standing on the same side; who acts alternates by chance. When
    one person is alone (none, "alone"), it is entity 0 and entity 1 is zero, from the
    transition before to the transition after.
    """
    classes = [_check_class(c) for c in classes]
    bodies = [_draw_body(rng, rng.uniform(*variation.height)) for _ in range(2)]
    camera = _Camera.draw(rng, variation)
    parts, labels, seen = [], [], []
    for class_id in classes:
        kind = _draw_kind(rng) if class_id == NONE else None
        actor = 0 if kind == "alone" else int(rng.integers(2))
        steps = natural_frames(class_id, rng.uniform(*variation.speed), fps)
        world, in_view = _interaction(class_id, rng, steps, fps, [bodies[actor], bodies[1 - actor]], variation,
                                      kind)
        # Entity 0 stays at -x: when it is the partner, turn the scene round.
        world = camera.project(world if actor == 0 else world[::-1] * [-1, 1, -1])
        in_view = in_view if actor == 0 else in_view[::-1]
        if parts:
            parts.append(_blend(parts[-1][:, -1], world[:, 0], rng, fps, gap_s))
            labels.append(np.full(parts[-1].shape[1], -1))
            seen.append(np.repeat((seen[-1][:, -1] & in_view)[:, None], parts[-1].shape[1], axis=1))
        parts.append(world)
        labels.append(np.full(steps, class_id))
        seen.append(np.repeat(in_view[:, None], steps, axis=1))
    seen = np.concatenate(seen, axis=1)
    sequence = _sensor(np.concatenate(parts, axis=1), rng, replace(variation, dropout_rate=0.0))
    sequence[~seen] = 0.0
    sequence = _stream_dropouts(sequence, seen, rng, variation, len(classes))
    frames = np.ascontiguousarray(sequence.transpose(3, 1, 2, 0), dtype=np.float32)
    return frames, np.concatenate(labels).astype(np.int64)


def _blend(last, first, rng, fps, gap_s):
    """Transition frames (2, G, 25, 3) between two poses, longer for longer ways to go."""
    travel = np.linalg.norm(first[:, BASE] - last[:, BASE], axis=-1).max()
    steps = int(round(max(rng.uniform(*gap_s), travel / 1.5) * fps))
    w = _ramp(np.linspace(0, 1, steps + 2)[1:-1], 0, 1)[None, :, None, None]
    return last[:, None] * (1 - w) + first[:, None] * w


def _stream_dropouts(sequence, seen, rng, v: Variation, count):
    """About dropout_rate dropouts per interaction, anywhere in the stream; frames where the
    other person is not in view keep theirs (a frame never loses everybody)."""
    steps = sequence.shape[1]
    for _ in range(rng.binomial(count, v.dropout_rate)):
        length = int(rng.integers(v.dropout_frames[0], v.dropout_frames[1] + 1))
        start = int(rng.integers(1, max(steps - length, 2)))
        who = int(rng.integers(2))
        lost = np.arange(start, min(start + length, steps))
        sequence[who, lost[seen[1 - who, lost]]] = 0.0
    return sequence
