"""The embedded demo: the whole live path on generated interactions, as ROS 2 processes.

    player (child process)      generated scenes -> skeletons   + ground truth -> demo/truth
    recognizer (child process)  skeletons -> actions (the shipped demo model, or --weights)
    listener (this process)     actions + demo/truth -> one line per group and window, accuracy at the end

The scenes are interactions with scenes without one mixed in (about three in ten: people
passing, talking, crossing, one alone, ...); the demo scores both, the accuracy on the
interactions and the false-interaction rate on the others. With ``--groups G`` the
player shows G pairs at once, each doing its own interactions, far
enough apart to be separate groups (ista_ros.synthetic.scenes), and with ``--passer-by``
a person walking past them who belongs to none. The ground truth on demo/truth is an
InteractionActionArray per frame, one action per planted group (its group_id and
entity_ids, the class; -1 and label "" between interactions); the listener matches every
recognised group to a planted group by its entity ids (ista_ros.demo.scoring) and prints
one accuracy per group and overall.

With ``--save demo.mp4`` (or ``.gif``) the listener also keeps the skeletons and each
stride's labels, truth and latency, and the scene as it was recognised is drawn into that
video right after the demo (ista_ros.demo.watch).

With a video file the player is replaced by the video source and keypoints nodes (there
is then no ground truth). Skeletons travel in the camera optical frame (REP-103); the
recognizer turns them into the checkpoint's axes (the demo model's: Kinect space). The
demo ends by itself once the source has played everything: it stops the recognizer with
SIGINT, as Ctrl-C would, and reports the accuracy.

The player runs as ``python -m ista_ros.demo.run play --seed S --num-interactions N [--groups G]
[--passer-by] [--subscribers K]``.
"""
from __future__ import annotations

import argparse
import bisect
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from ista_ros.core.groups import group_id
from ista_ros.demo.scoring import NO_INTERACTION, NONE_LABEL, Answer, GroupScores, VideoTally, window_line
from ista_ros.demo.ship import SHIPPED_WEIGHTS
from ista_ros.demo.watch import SceneLog, video_format
from ista_ros.errors import ConfigError
from ista_ros.msg import InteractionAction, InteractionActionArray, SkeletonArray
from ista_ros.ros.markers import labels_from
from ista_ros.ros.messages import ros_time, stamp_ns
from ista_ros.synthetic import interactions, scenes
from ista_ros.viz.scene import GroupLabel

TRUTH_TOPIC = "demo/truth"
SKELETONS_TOPIC = "skeletons"
PICTURES_TOPIC = "demo/annotated"  # a video's frames as the keypoints node annotates them (--save)
FRAME_ID = "camera_optical_frame"
ACTIONS_TOPIC = "actions"
ENTITY_IDS = ("person_a", "person_b")
MEAN_INTERACTION_S = 3.7  # mean duration plus the transition, to turn --duration into a count
NONE_PER_INTERACTION = 0.3  # scenes without an interaction shown per interaction
SETTLE_S = 1.5  # after the source ends: time for the last windows to arrive
STOP_TIMEOUT_S = 10.0


def scene_order(rng, num_interactions: int) -> np.ndarray:
    """The classes of the demo's scenes: ``num_interactions`` interactions (every one in
    turn, in a random order per round) with scenes without one (class none, a kind drawn
    per scene) mixed in at random places, NONE_PER_INTERACTION of them per interaction
    and at least one, since real footage is mostly people not interacting."""
    kinds = len(interactions.INTERACTIONS)
    rounds = math.ceil(num_interactions / kinds)
    shown = np.concatenate([rng.permutation(kinds) for _ in range(rounds)])[:num_interactions]
    places = np.sort(rng.integers(0, num_interactions + 1, scenes_without_one(num_interactions)))
    return np.insert(shown, places, interactions.NONE)


def scenes_without_one(num_interactions: int) -> int:
    return max(1, round(NONE_PER_INTERACTION * num_interactions))


def demo_stream(seed: int, num_interactions: int, fps: float = interactions.FPS):
    """The scenes the player shows with one pair."""
    rng = np.random.default_rng(seed)
    return interactions.generate_stream(scene_order(rng, num_interactions), rng, fps=fps)


@dataclass
class Planted:
    """What the player shows: (3, T, 25, N) Kinect-space joints, the N entity ids, and per
    planted group its entity ids and (T,) classes."""
    sequence: np.ndarray
    entity_ids: list[str]
    groups: list[tuple[tuple[str, ...], np.ndarray]]


def demo_scene(seed: int, num_interactions: int, groups: int = 1, passer_by: bool = False) -> Planted:
    """One pair (today's demo stream), or ``groups`` pairs side by side doing different
    interactions at the same time (group g starts g classes further on), with a passer-by."""
    if groups == 1 and not passer_by:
        sequence, labels = demo_stream(seed, num_interactions)
        return Planted(sequence, list(ENTITY_IDS), [(ENTITY_IDS, labels)])
    rng = np.random.default_rng(seed)
    order = scene_order(rng, num_interactions)
    classes = [np.roll(order, -g) for g in range(groups)]
    scene = scenes.generate_scene(classes, rng, passers_by=int(passer_by))
    return Planted(scene.sequence, scene.entity_ids, [(g.entity_ids, g.labels) for g in scene.groups])


def interactions_for(duration_s: float) -> int:
    """Interactions that fill about ``duration_s``, with the scenes without one between them."""
    return max(1, round(duration_s / (MEAN_INTERACTION_S * (1 + NONE_PER_INTERACTION))))


def truth_message(labels, stamp: int, groups=(ENTITY_IDS,)) -> InteractionActionArray:
    """The ground truth of one published frame, as the recognizer would say it: one action
    per planted group (``groups``: their entity ids; ``labels``: their classes, or one class)."""
    names = list(interactions.CLASS_NAMES)
    msg = InteractionActionArray()
    msg.header.stamp = ros_time(stamp)
    msg.header.frame_id = FRAME_ID
    for label, ids in zip(np.atleast_1d(labels), groups):
        action = InteractionAction(label=names[label] if label != NO_INTERACTION else "", class_id=int(label),
                                   confidence=1.0, class_names=names, entity_ids=list(ids),
                                   num_entities_observed=len(ids), group_id=group_id(ids))
        action.header = msg.header
        msg.actions.append(action)
    return msg


# --------------------------------------------------------------------------- player

def play(seed: int, num_interactions: int, groups: int = 1, passer_by: bool = False, subscribers: int = 1,
         wait_s: float = 120.0) -> int:
    """Child process: publish the generated interactions in real time, and their ground truth,
    once ``subscribers`` (the recognizer, and the listener when it keeps the skeletons) listen."""
    from ista_ros.nodes.player import PlayerNode, sequence_frames
    from ista_ros.ros.spin import run_node

    planted = demo_scene(seed, num_interactions, groups, passer_by)
    frames = sequence_frames(planted.sequence, interactions.FPS, ids=planted.entity_ids, layout=interactions.LAYOUT,
                             frame_id=FRAME_ID, axes=interactions.AXES)  # published in the optical frame
    members = [ids for ids, _ in planted.groups]
    labels = np.stack([group_labels for _, group_labels in planted.groups], axis=1)  # (T, G)

    def make_player():
        truth_node = rclpy.create_node("demo_truth")
        truth = truth_node.create_publisher(InteractionActionArray, TRUTH_TOPIC, 100)
        deadline = time.monotonic() + wait_s
        while truth.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # frames published before the listener is matched would be lost

        def publish_truth(index, stamp):
            truth.publish(truth_message(labels[index], stamp, members))

        return PlayerNode(frames=frames, on_publish=publish_truth, exit_when_done=True,
                          parameter_overrides=[Parameter("wait_for_subscribers", value=wait_s),
                                               Parameter("subscribers", value=subscribers)])

    return run_node(make_player, "demo player")


# --------------------------------------------------------------------------- listener

class DemoListener(Node):
    """Prints one line per planted group and recognised window with its ground truth, and
    keeps the scores (per group and overall).

    A stride is judged once the ground truth of its newest frame has arrived (the two
    topics come from different processes). With a ``scene`` log, the skeletons and every
    stride's labels (with their truth) are kept in it for the video."""

    def __init__(self, with_truth: bool = True, window_s: float = 2.5, out=sys.stdout, scene: SceneLog | None = None):
        super().__init__("demo_listener")
        self.with_truth = with_truth
        self.out = out
        self.groups = GroupScores(interactions.CLASS_NAMES, int(window_s * 1e9))
        self.video = VideoTally()  # a video's windows
        self.pending: list[tuple[InteractionActionArray, float]] = []
        self.start_ns: int | None = None
        self.scene = scene
        self.create_subscription(InteractionActionArray, ACTIONS_TOPIC, self._on_actions, 100)
        if scene is not None:
            self.create_subscription(SkeletonArray, SKELETONS_TOPIC, scene.add_skeletons, 1000)
            if not with_truth:  # a video: its pictures too
                self.create_subscription(Image, PICTURES_TOPIC, scene.add_picture, 100)
        if with_truth:
            self.create_subscription(InteractionActionArray, TRUTH_TOPIC, self._on_truth, 1000)

    def _on_truth(self, msg: InteractionActionArray) -> None:
        for action in msg.actions:
            self.groups.add_truth(stamp_ns(msg.header.stamp), action.group_id, action.entity_ids, action.class_id)
        self.flush()

    def _on_actions(self, msg: InteractionActionArray) -> None:
        latency_ms = (self.get_clock().now().nanoseconds - stamp_ns(msg.header.stamp)) / 1e6
        self.pending.append((msg, latency_ms))
        self.flush()

    def flush(self, final: bool = False) -> None:
        """Judge and print the strides whose ground truth is complete (all of them if final)."""
        while self.pending:
            msg, latency_ms = self.pending[0]
            end = stamp_ns(msg.header.stamp)
            if self.with_truth and not final and end > self.groups.newest():
                return
            self.pending.pop(0)
            if self.start_ns is None:
                self.start_ns = min((t.stamps[0] for t in self.groups.truths.values()), default=end)
            answers = [Answer(a.entity_ids, a.label, a.confidence, stamp_ns(a.window_start), stamp_ns(a.header.stamp),
                              grouped=a.reason not in (a.REASON_TOO_FAR, a.REASON_TOO_FEW_ENTITIES))
                       for a in msg.actions]
            verdicts = self.groups.judge(answers, end, latency_ms) if self.with_truth else []
            if self.with_truth:
                self._print_judged(verdicts, latency_ms)
            else:
                self._print_video(answers, msg.actions, latency_ms)
            if self.scene is not None:
                self.scene.add_labels(end, latency_ms, self._shown_labels(msg, answers, verdicts))

    def _shown_labels(self, msg: InteractionActionArray, answers: list[Answer], verdicts) -> list[GroupLabel]:
        """The stride's groups as the video shows them: each recognised group with the truth
        of the planted group it was judged against (None: a stray group), and each planted
        group the recognizer did not report, as no interaction."""
        if not self.with_truth:
            return labels_from(msg)
        truth = {v.group: self._shown_truth(v) for v in verdicts}
        shown = [replace(label, truth=truth.get(self.groups.planted(answer)))
                 for label, answer in zip(labels_from(msg), answers)]
        missing = [GroupLabel(v.group, tuple(sorted(self.groups.members[v.group])), NONE_LABEL, 0.0, truth[v.group])
                   for v in verdicts if v.confidence is None]
        return shown + missing

    def _shown_truth(self, verdict) -> str:
        """The class of the verdict's window as scored; for a window across two scenes (not
        scored), the class at its newest frame ("": between two scenes)."""
        if verdict.truth is not None:
            return verdict.truth
        truth = self.groups.truths[verdict.group]
        label = truth.labels[max(0, bisect.bisect_right(truth.stamps, verdict.end) - 1)]
        return "" if label == NO_INTERACTION else interactions.CLASS_NAMES[label]

    def _print_judged(self, verdicts, latency_ms: float) -> None:
        several = len(verdicts) > 1
        for v in verdicts:  # by name: --weights may order classes otherwise
            print(window_line((v.end - self.start_ns) / 1e9, v.label, v.confidence, v.truth or "", latency_ms,
                              v.group if several else None), file=self.out, flush=True)

    def _print_video(self, answers: list[Answer], actions, latency_ms: float) -> None:
        for answer, action in zip(answers, actions):
            reason = action.reason  # "" for an interaction (InteractionAction.msg)
            self.video.add(answer.label, reason, latency_ms)
            line = window_line((answer.end - self.start_ns) / 1e9, answer.label, answer.confidence, None, latency_ms,
                               action.group_id)
            print(line + (f"  ({reason})" if reason else ""), file=self.out, flush=True)

    def summary(self) -> list[str]:
        """The demo's last lines: one accuracy per planted group when there are several, then overall."""
        if not self.with_truth:
            return [self.video.summary()]
        scores = self.groups.scores
        if len(scores) < 2:
            return [self.groups.overall.summary()]
        return [*(f"group {g}: {score.summary()}" for g, score in scores.items()),
                f"{self.groups.stray} recognised groups mixed people of two planted groups or a passer-by",
                f"overall {self.groups.overall.summary()}"]


# --------------------------------------------------------------------------- orchestration

@dataclass
class DemoOptions:
    weights: Path = SHIPPED_WEIGHTS
    num_interactions: int = 10
    seed: int | None = None
    video: Path | None = None
    device: str = "auto"
    precision: str = "fp32"
    stride_frames: int = 10
    window_seconds: float = 2.5  # as the demo model's training windows (60-90 frames)
    groups: int = 1  # pairs interacting at the same time
    passer_by: bool = False  # a person walking past the pairs
    min_window_share: float = 0.6  # no recognition before the window is this full
    save: Path | None = None  # a video (.mp4 or .gif) of the scene as it was recognised


class Child:
    """A node in its own process; its output goes to a log file."""

    def __init__(self, name: str, args: list[str], log_dir: Path):
        self.name, self.log = name, log_dir / f"{name}.log"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log, "w") as log:
            self.process = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT, env=env)

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        """SIGINT (a clean ROS shutdown), then SIGKILL if it hangs; the exit code."""
        if self.running():
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def tail(self, lines: int = 5) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def node_args(module: str, **params) -> list[str]:
    return ["-m", module, "--ros-args", *(arg for k, v in params.items() for arg in ("-p", f"{k}:={v}"))]


def min_frames(opts: DemoOptions) -> int:
    """Frames before a first recognition: a mostly full window for the player's 30 Hz; a video's
    rate is not known here, so the recognizer's usual minimum."""
    return int(opts.min_window_share * opts.window_seconds * interactions.FPS) if opts.video is None else 8


def start_children(opts: DemoOptions, seed: int, log_dir: Path) -> tuple[Child, list[Child]]:
    """The source (player, or video source) and every child, recognizer first."""
    recognizer = Child("recognizer", node_args(
        "ista_ros.nodes.recognizer", weights=opts.weights, device=opts.device, precision=opts.precision,
        stride_frames=opts.stride_frames, window_seconds=opts.window_seconds,
        min_frames=min_frames(opts), input_topic=SKELETONS_TOPIC,
        actions_topic=ACTIONS_TOPIC, diagnostics_period=30.0), log_dir)
    if opts.video is None:
        source = Child("player", ["-m", "ista_ros.demo.run", "play", "--seed", str(seed), "--num-interactions",
                                  str(opts.num_interactions), "--groups", str(opts.groups),
                                  "--subscribers", "2" if opts.save else "1",
                                  *(["--passer-by"] if opts.passer_by else [])], log_dir)
        return source, [recognizer, source]
    pictures = {"annotated_topic": PICTURES_TOPIC} if opts.save else {}
    keypoints = Child("keypoints", node_args("ista_ros.nodes.keypoints", skeletons_topic=SKELETONS_TOPIC, **pictures),
                      log_dir)
    source = Child("video_source", node_args("ista_ros.nodes.video_source", source=opts.video), log_dir)
    return source, [recognizer, keypoints, source]


def run_demo(opts: DemoOptions, out=sys.stdout) -> int:
    """Run the demo to its accuracy line; 0 when every node ended cleanly."""
    if not Path(opts.weights).is_file():
        raise ConfigError(f"the checkpoint {opts.weights} does not exist; give an existing file with --weights.")
    if opts.video is not None and not Path(opts.video).is_file():
        raise ConfigError(f"the video {opts.video} does not exist; give a video file with --video.")
    if opts.save is not None:
        video_format(opts.save)  # a name it cannot write is refused before the demo runs
    seed = opts.seed if opts.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    log_dir = Path(tempfile.mkdtemp(prefix="ista_ros_demo_"))
    scene = ("" if opts.groups == 1 else f" by each of {opts.groups} pairs at once") + \
        (" and a passer-by" if opts.passer_by else "")
    nones = scenes_without_one(opts.num_interactions)
    nones = f"{nones} scene{'s' if nones > 1 else ''} without one"
    what = f"video {opts.video}" if opts.video else \
        f"{opts.num_interactions} generated interactions and {nones}{scene} (seed {seed})"
    print(f"demo: {what} -> recognizer ({Path(opts.weights).name}) -> listener; node logs in {log_dir}",
          file=out, flush=True)
    rclpy.init()
    recorded = SceneLog() if opts.save is not None else None
    listener = DemoListener(with_truth=opts.video is None, window_s=opts.window_seconds, out=out, scene=recorded)
    source, children = start_children(opts, seed, log_dir)
    failed = None
    try:
        failed = _spin_until_done(listener, source, children)
        listener.flush(final=True)
    except KeyboardInterrupt:
        failed = "interrupted"
    finally:
        codes = {child.name: child.stop() for child in reversed(children)}
        listener.destroy_node()
        rclpy.try_shutdown()
    print("\n".join(listener.summary()), file=out, flush=True)
    bad = {name: code for name, code in codes.items() if code != 0}
    if failed or bad:
        for child in children:
            if child.name in bad or child.name == failed:
                print(f"{child.name} exited with {codes[child.name]}:\n{child.tail()}", file=sys.stderr)
        return 1
    print("demo: every node shut down cleanly", file=out, flush=True)
    if recorded is not None:
        title = f"ista-ros demo: {opts.video.name}" if opts.video else f"ista-ros demo, seed {seed}"
        path, frames = recorded.render(opts.save, title=title)
        print(f"demo: wrote {path} ({frames} frames)", file=out, flush=True)
    return 0


def _spin_until_done(listener: DemoListener, source: Child, children: list[Child]) -> str | None:
    """Spin the listener until the source has finished and the last windows are in;
    the name of a child that died early, else None."""
    settle_until = None
    while settle_until is None or time.monotonic() < settle_until:
        rclpy.spin_once(listener, timeout_sec=0.05)
        for child in children:
            if child is not source and not child.running():
                return child.name
        if settle_until is None and not source.running():
            if source.process.returncode != 0:
                return source.name
            settle_until = time.monotonic() + SETTLE_S
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="the demo's player process")
    sub = parser.add_subparsers(dest="command", required=True)
    player = sub.add_parser("play", help="publish generated interactions and their ground truth")
    player.add_argument("--seed", type=int, required=True)
    player.add_argument("--num-interactions", type=int, default=10)
    player.add_argument("--groups", type=int, default=1)
    player.add_argument("--passer-by", action="store_true")
    player.add_argument("--subscribers", type=int, default=1, help="skeleton subscribers to wait for")
    args = parser.parse_args(argv)
    return play(args.seed, args.num_interactions, args.groups, args.passer_by, args.subscribers)


if __name__ == "__main__":
    sys.exit(main())
