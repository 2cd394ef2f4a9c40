"""Your own recordings (rosbag2 MCAP bags of SkeletonArray) and their labels: train and val npz files.

Each bag is replayed through the recognizer node's own core, ``LiveRecognizer``
(ista_ros.core.recognition), built for the model configuration and the recognizer
parameters the node will run with (``--params`` / ``--set``: window, min_frames,
interaction_radius, max_groups, stride_frames, input_axes, ...): every skeleton frame is
pushed with its capture stamp (validation, joint layout and axes conversion, per-entity
buffers), and after every ``stride_frames`` accepted frames the windows the node would
recognise at that moment are taken, one per group of entities (ista_ros.core.groups; the
window of entities in no group, which the node answers "no interaction" without the
model, is not). A window is stored as the node builds it - the frames that show a member
of its group, zero-padded after them to the longest window - so ``model_input``, which
the node and validation both call, makes the node's exact model input from it; training
augments it as any other sample.

A window takes the label whose segments (ista_ros.core.labels: a labels CSV, or a labels
topic recorded with the skeletons) hold at least ``--min-overlap`` of its frames; other
windows (across two interactions, or unlabelled) are left out. Recordings, never windows,
are split between train and val (neighbouring windows are near copies): ``--split`` names
each bag's split, else ``--val-fraction`` of the bags are drawn for val.

Writes <out>/train.npz and val.npz in the project's dataset format (data (N, C, T, J, E),
label, class_names, layout, axes, and per window: bag, stamp, window_start, entity_ids,
share) and <out>/dataset.json (the settings and the counts).
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
import yaml
from tqdm import tqdm

from ista_ros.bags import BagError, McapScan, add_definition, mcap_files, typestore
from ista_ros.core.buffer import FrameEvent
from ista_ros.core.files import atomic_path, atomic_write
from ista_ros.core.labels import (
    LabelChange,
    LabelsError,
    Segment,
    bag_segments,
    label_window,
    parse_entities,
    read_labels_csv,
    segments_from_changes,
)
from ista_ros.errors import ConfigError

from .common import PrepareError

if TYPE_CHECKING:  # the modules below load torch: imported where used, so `ista-train --help` stays instant
    from ista_ros.core.checkpoint import CheckpointMeta
    from ista_ros.core.model import ModelConfig
    from ista_ros.core.recognition import LiveRecognizer, Settings, SkeletonInput, Window

SKELETON_ARRAY = "ista_ros/msg/SkeletonArray"
STRING = "std_msgs/msg/String"
ACTION = "ista_ros/msg/InteractionAction"
ACTION_ARRAY = "ista_ros/msg/InteractionActionArray"
LABEL_TYPES = (STRING, ACTION, ACTION_ARRAY)
# The recognizer node's own parameters that shape its windows, with its defaults
# (ista_ros.nodes.recognizer.RecognizerParameters; a test holds them equal); the others
# are the fields of the core's Settings.
NODE_DEFAULTS = {"stride_frames": 3, "input_axes": "optical"}
SPLITS = ("train", "val")
NS_PER_S = 1_000_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bags", nargs="+", required=True, metavar="BAG",
                        help="bag directories (or .mcap files) with SkeletonArray messages")
    labels = parser.add_mutually_exclusive_group(required=True)
    labels.add_argument("--labels", metavar="CSV", help="labels file: bag,start,end,label[,entities] rows")
    labels.add_argument("--labels-topic", metavar="TOPIC",
                        help="labels recorded in the bags: std_msgs/String (the label from then on, '' for none) "
                             "or InteractionAction(Array) such as the demo's demo/truth")
    parser.add_argument("--model-config", required=True,
                        help="the model to train: config/model YAML, official run YAML or checkpoint (its layout, "
                             "entity kinds, axes and class names)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--skeletons-topic", default="skeletons", help="SkeletonArray topic (default: %(default)s)")
    parser.add_argument("--params", metavar="YAML",
                        help="the recognizer's ROS 2 parameter file (its recognizer: section), e.g. the one the "
                             "robot runs with; default: the node's defaults")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="recognizer parameters over --params: window_seconds=2.5 stride_frames=10 ...")
    parser.add_argument("--min-overlap", type=float, default=0.6,
                        help="share of a window's frames its label's segment must hold (default: %(default)s)")
    parser.add_argument("--classes", help="class names in class-id order, comma separated; windows of other labels "
                                          "are left out (default: the model configuration's names when they hold "
                                          "every label, else the labels sorted)")
    split = parser.add_mutually_exclusive_group()
    split.add_argument("--split", metavar="CSV", help="file of bag,split rows (split: train or val)")
    split.add_argument("--val-fraction", type=float, default=0.2,
                       help="share of the bags drawn for val (default: %(default)s; 0: no val split)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the val draw (default: %(default)s)")


# ---------------------------------------------------------------------------- the recognizer
@dataclass
class Replay:
    """How the node is set up: the core's Settings, its stride and its input axes."""
    settings: Settings
    stride_frames: int
    input_axes: str

    @classmethod
    def from_parameters(cls, params_file: str | None, overrides: list[str]) -> Replay:
        from ista_ros.core.recognition import Settings

        values = dict(NODE_DEFAULTS)
        if params_file:
            values.update(recognizer_parameters(params_file))
        for item in overrides:
            key, sep, text = item.partition("=")
            if not sep or key not in values and key not in _setting_names():
                raise ConfigError(f"--set {item!r}: give KEY=VALUE with a key among "
                                  f"{', '.join(sorted([*NODE_DEFAULTS, *_setting_names()]))}.")
            values[key] = yaml.safe_load(text)
        stride = values.pop("stride_frames")
        if not isinstance(stride, int) or stride < 1:
            raise ConfigError(f"stride_frames must be a whole number of frames of at least 1, not {stride!r}.")
        axes = values.pop("input_axes")
        return cls(Settings(**values), stride, axes)

    def to_dict(self) -> dict:
        return {**asdict(self.settings), "stride_frames": self.stride_frames, "input_axes": self.input_axes}


def _setting_names() -> list[str]:
    from dataclasses import fields

    from ista_ros.core.recognition import Settings

    return [f.name for f in fields(Settings)]


def recognizer_parameters(path) -> dict:
    """The window-shaping parameters of the recognizer section of a ROS 2 parameter file."""
    from ista_ros.core.config import read_yaml

    values = read_yaml(path)
    params = (values.get("recognizer") or values.get("/**") or {}).get("ros__parameters")
    if not isinstance(params, dict):
        raise ConfigError(f"{path} has no recognizer: ros__parameters: section.")
    return {k: v for k, v in params.items() if k in NODE_DEFAULTS or k in _setting_names()}


def model_contract(path) -> tuple[CheckpointMeta, ModelConfig]:
    """The data contract and shape of the model to train, from a YAML or a checkpoint."""
    from ista_ros.core.checkpoint import load_checkpoint, meta_from_yaml
    from ista_ros.core.config import model_config_from, read_yaml

    if Path(path).suffix in (".pt", ".pth"):
        loaded = load_checkpoint(path)
        return loaded.meta, loaded.config
    values = read_yaml(path)
    config = model_config_from(values, path)
    return meta_from_yaml(values, config, path), config


def make_recognizer(meta: CheckpointMeta, config: ModelConfig, replay: Replay) -> LiveRecognizer:
    from ista_ros.core.recognition import LiveRecognizer

    def no_model(x):
        raise RuntimeError("preparing a dataset builds windows only; nothing is recognised")

    return LiveRecognizer(meta, config.input_shape, no_model, replay.settings, input_axes=replay.input_axes)


def node_windows(recognizer: LiveRecognizer) -> list[Window]:
    """The windows the node recognises after a stride, one per group. Windows the node
    answers "no interaction" whatever the model says (entities in no group, a member with
    too few located joints: ``Window.reason``) are left out, as the node's settings
    (``--set min_located_joints=0`` and the like) decide."""
    return [w for w in recognizer.windows() or [] if not w.reason]


# ---------------------------------------------------------------------------- reading a bag
def bag_messages(bag: Path, topics: dict[str, tuple[str, ...]]) -> Iterator[tuple[str, str, int, object]]:
    """(topic, type name, recording time ns, message) of ``topics`` (topic -> the types it
    may have), in recording order; messages are rosbags objects (no rclpy needed). A bag
    whose recording was cut off is read as far as its messages are whole."""
    store, known = typestore(), set()
    topics = {absolute(topic): types for topic, types in topics.items()}
    files = [bag] if bag.is_file() else mcap_files(bag)
    for path in files:
        for channel, time_ns, data in McapScan(path).messages():
            topic = absolute(channel.topic)
            if topic not in topics:
                continue
            if channel.type_name not in topics[topic]:
                raise BagError(f"bag {bag}: {channel.topic} holds {channel.type_name}, not "
                               f"{' or '.join(topics[topic])}.")
            if channel.type_name not in known:
                if not add_definition(store, channel.type_name):
                    raise BagError(f"bag {bag}: no message definition of {channel.type_name} is installed.")
                known.add(channel.type_name)
            yield topic, channel.type_name, time_ns, store.deserialize_cdr(data, channel.type_name)


def absolute(topic: str) -> str:
    """A topic name as the recorder writes it (``skeletons`` -> ``/skeletons``)."""
    return "/" + topic.lstrip("/")


def stamp_of(header) -> int:
    return header.stamp.sec * NS_PER_S + header.stamp.nanosec


def skeleton_inputs(msg) -> list[SkeletonInput]:
    from ista_ros.core.recognition import SkeletonInput

    return [SkeletonInput(s.id, s.kind, s.layout,
                          np.array([(p.x, p.y, p.z) for p in s.joints], np.float32).reshape(-1, 3),
                          np.asarray(s.confidence, np.float32) if len(s.confidence) else None)
            for s in msg.skeletons]


def label_changes(type_name: str, msg) -> list[LabelChange]:
    """The changes of an InteractionAction(Array) label message (stamped with the capture
    time of the frame it labels)."""
    actions = msg.actions if type_name == ACTION_ARRAY else [msg]
    return [LabelChange(stamp_of(a.header), a.label, parse_entities("+".join(a.entity_ids))) for a in actions]


# ---------------------------------------------------------------------------- replaying a bag
@dataclass
class StoredWindow:
    sample: np.ndarray  # (C, T, J, E): the node's window
    stamps: np.ndarray  # (T,) capture stamps of its frames, ns
    entity_ids: list[str | None]


@dataclass
class BagReplay:
    bag: Path
    windows: list[StoredWindow] = field(default_factory=list)
    changes: list[LabelChange] = field(default_factory=list)  # from a labels topic
    frames: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    problems: Counter = field(default_factory=Counter)

    def segments(self, rows) -> list[Segment]:
        """The bag's labels: from the CSV ``rows``, else from its labels topic."""
        if rows is not None:
            segments = bag_segments(rows, self.bag.name, self.first_ns, self.last_ns)
            if not segments:
                raise LabelsError(f"the labels file has no rows for bag {self.bag.name} (the bag column names "
                                  "bags by their directory name).")
            return segments
        if not self.changes:
            raise LabelsError(f"bag {self.bag} has no messages on the labels topic.")
        return segments_from_changes(self.changes, self.last_ns + 1)


def replay_bag(bag: Path, recognizer: LiveRecognizer, replay: Replay, skeletons_topic: str,
               labels_topic: str | None = None) -> BagReplay:
    """Every frame of ``bag`` through ``recognizer`` as the node receives it; the windows
    the node takes after every ``stride_frames`` accepted frames, and the labels topic."""
    result = BagReplay(bag)
    topics = {skeletons_topic: (SKELETON_ARRAY,), **({labels_topic: LABEL_TYPES} if labels_topic else {})}
    accepted, arrived = 0, []  # arrived: String labels waiting for the next frame
    for topic, type_name, _, msg in tqdm(bag_messages(bag, topics), desc=f"Replaying {bag.name}", unit="msg",
                                         leave=False):
        if topic != absolute(skeletons_topic):
            if type_name == STRING:
                arrived.append(msg.data)
            else:
                result.changes += label_changes(type_name, msg)
            continue
        stamp = stamp_of(msg.header)
        result.changes += [LabelChange(stamp, label) for label in arrived]
        arrived = []
        event, problems = recognizer.push(stamp, skeleton_inputs(msg))
        result.problems.update(p.key for p in problems)
        result.frames += 1
        if event in (FrameEvent.DUPLICATE, FrameEvent.OUT_OF_ORDER):
            result.problems[event.value] += 1
            continue
        result.first_ns = stamp if result.first_ns is None else min(result.first_ns, stamp)
        result.last_ns = stamp if result.last_ns is None else max(result.last_ns, stamp)
        accepted += 1
        if accepted % replay.stride_frames == 0:
            result.windows += [StoredWindow(w.sample, np.asarray(w.stamps, np.int64), list(w.entity_ids))
                               for w in node_windows(recognizer)]
    if result.first_ns is None:
        raise BagError(f"bag {bag} has no {SKELETON_ARRAY} frames on {skeletons_topic}.")
    return result


# ---------------------------------------------------------------------------- labels, classes, splits
@dataclass
class Labelled:
    bag: str
    window: StoredWindow
    label: str
    share: float


def labelled_windows(replayed: BagReplay, segments: list[Segment], min_overlap: float,
                     counts: Counter) -> list[Labelled]:
    kept = []
    for window in replayed.windows:
        verdict = label_window(window.stamps, window.entity_ids, segments, min_overlap)
        counts[verdict.reason] += 1
        if verdict.label is not None:
            kept.append(Labelled(replayed.bag.name, window, verdict.label, verdict.share))
    return kept


def class_list(given: str | None, labels: set[str], model_names: list[str]) -> list[str]:
    if given:
        names = [name.strip() for name in given.split(",") if name.strip()]
        if len(set(names)) != len(names) or not names:
            raise ConfigError(f"--classes {given!r} must name each class once.")
        return names
    if labels <= set(model_names):
        return list(model_names)
    return sorted(labels)


def bag_splits(bags: list[Path], split_file: str | None, val_fraction: float, seed: int) -> dict[str, str]:
    """Bag name -> train or val."""
    names = [bag.name for bag in bags]
    if len(set(names)) != len(names):
        raise ConfigError("two of the bags have the same name; the labels and the split name bags by it.")
    if split_file:
        rows = {row["bag"].strip(): row["split"].strip() for row in _csv_rows(split_file, ("bag", "split"))}
        missing = [n for n in names if n not in rows]
        wrong = sorted({s for s in rows.values() if s not in SPLITS})
        if missing or wrong:
            raise ConfigError(f"split file {split_file}: " + (f"no row for bag {missing[0]}" if missing else
                                                              f"split {wrong[0]!r} is not train or val") + ".")
        return {n: rows[n] for n in names}
    if not 0 <= val_fraction < 1:
        raise ConfigError(f"--val-fraction must be in [0, 1), not {val_fraction}.")
    count = 0 if val_fraction == 0 else max(1, round(val_fraction * len(names)))
    if count >= len(names):
        raise ConfigError(f"{len(names)} bag(s) cannot be split by recording into train and val: give more bags, "
                          "--val-fraction 0 (no val split) or --split.")
    val = set(np.random.default_rng(seed).permutation(sorted(names))[:count])
    return {n: "val" if n in val else "train" for n in names}


def _csv_rows(path, columns) -> list[dict]:
    import csv

    if not Path(path).is_file():
        raise ConfigError(f"split file {path} does not exist.")
    with open(path, newline="") as f:
        reader = csv.DictReader((line for line in f if line.strip() and not line.startswith("#")),
                                skipinitialspace=True)
        if not set(columns) <= set(reader.fieldnames or ()):
            raise ConfigError(f"{path} needs a header line with the columns {','.join(columns)}.")
        return list(reader)


# ---------------------------------------------------------------------------- writing
def write_split(path: Path, windows: list[Labelled], class_names: list[str], meta: CheckpointMeta,
                num_frames: int) -> None:
    channels, _, joints, entities = windows[0].window.sample.shape
    data = np.zeros((len(windows), channels, num_frames, joints, entities), np.float32)
    for i, item in enumerate(windows):
        data[i, :, :item.window.sample.shape[1]] = item.window.sample
    with atomic_path(path) as tmp:
        np.savez(tmp, data=data, label=np.array([class_names.index(w.label) for w in windows], np.int64),
                 class_names=np.array(class_names), layout=np.array(meta.layout), axes=np.array(meta.axes or ""),
                 bag=np.array([w.bag for w in windows]),
                 stamp=np.array([w.window.stamps[-1] for w in windows], np.int64),
                 window_start=np.array([w.window.stamps[0] for w in windows], np.int64),
                 entity_ids=np.array([[i or "" for i in w.window.entity_ids] for w in windows]),
                 share=np.array([w.share for w in windows], np.float32))


def prepare(args: argparse.Namespace) -> None:
    bags = [Path(b) for b in args.bags]
    for bag in bags:
        if not bag.exists():
            raise PrepareError(f"bag {bag} does not exist.")
    if not 0 < args.min_overlap <= 1:
        raise ConfigError(f"--min-overlap is a share of a window's frames in (0, 1], not {args.min_overlap}.")
    replay = Replay.from_parameters(args.params, args.overrides)
    meta, config = model_contract(args.model_config)
    rows = read_labels_csv(args.labels) if args.labels else None
    splits = bag_splits(bags, args.split, args.val_fraction, args.seed)
    windows, per_bag = [], {}
    for bag in bags:
        replayed = replay_bag(bag, make_recognizer(meta, config, replay), replay, args.skeletons_topic,
                              args.labels_topic)
        counts = Counter(frames=replayed.frames, windows=len(replayed.windows))
        windows += labelled_windows(replayed, replayed.segments(rows), args.min_overlap, counts)
        per_bag[bag.name] = {"split": splits[bag.name], **counts, "problems": dict(replayed.problems)}
        print(f"{bag.name} ({splits[bag.name]}): {replayed.frames} frames, {len(replayed.windows)} windows: "
              f"{counts['labelled']} labelled, {counts['mixed']} across two labels, {counts['unlabelled']} unlabelled"
              + (f"; input problems {dict(replayed.problems)}" if replayed.problems else ""))
    class_names = class_list(args.classes, {w.label for w in windows}, meta.class_names)
    outside = Counter(w.label for w in windows if w.label not in class_names)
    if outside:
        print(f"left out (not in the classes): {dict(outside)}")
    windows = [w for w in windows if w.label in class_names]
    by_split = {s: [w for w in windows if splits[w.bag] == s] for s in SPLITS}
    if not by_split["train"] or (not by_split["val"] and "val" in splits.values()):
        empty = "train" if not by_split["train"] else "val"
        raise PrepareError(f"no labelled window of the classes in the {empty} recordings; check the labels, "
                           "--min-overlap and the recognizer parameters (window, min_frames).")
    num_frames = max(w.window.sample.shape[1] for w in windows)
    out = Path(args.out)
    summary = {"model_config": str(args.model_config), "recognizer": replay.to_dict(),
               "min_overlap": args.min_overlap, "class_names": class_names, "layout": meta.layout, "axes": meta.axes,
               "bags": per_bag, "windows": {}}
    for split, items in by_split.items():
        if items:
            write_split(out / f"{split}.npz", items, class_names, meta, num_frames)
            summary["windows"][split] = {name: sum(w.label == name for w in items) for name in class_names}
            print(f"{out / split}.npz: {len(items)} windows " +
                  ", ".join(f"{name} {n}" for name, n in summary["windows"][split].items()))
    atomic_write(out / "dataset.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=2)))
