"""`ista-train viz`: dataset samples drawn as skeletons (bones from the core layouts), a
PNG strip of frames or an animated GIF per sample."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ista_ros.core.layouts import LayoutError, get_layout
from ista_ros.core.window import valid_frame_count
from ista_ros.errors import ConfigError

COLOURS = ["tab:blue", "tab:red", "tab:green", "tab:orange"]


def bones_of(layout_name: str | None, num_joints: int):
    """The layout's bones; none (joints only) for an unknown layout or another joint count."""
    try:
        layout = get_layout(layout_name)
    except LayoutError:
        return ()
    return layout.bones if layout.num_joints == num_joints else ()


def draw(ax, frame: np.ndarray, bones, entity_kinds, limits) -> None:
    """frame (C, J, E) on a 3D axis (x right, z depth, y up)."""
    for e in range(frame.shape[-1]):
        points = frame[:, :, e]
        if not points.any():
            continue
        colour = COLOURS[e % len(COLOURS)]
        ax.scatter(points[0], points[2], points[1], s=6, color=colour)
        if "object" not in entity_kinds[e]:
            for a, b in bones:
                ax.plot(*[[points[c, a], points[c, b]] for c in (0, 2, 1)], color=colour, linewidth=1)
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[2])
    ax.set_zlim(*limits[1])
    ax.set_axis_off()


def render(sample: np.ndarray, bones, entity_kinds, title: str, frames: list[int]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = sample.reshape(sample.shape[0], -1)
    present = present[:, np.any(present != 0, axis=0)]
    limits = [(lo - 0.05 * (hi - lo + 1e-6), hi + 0.05 * (hi - lo + 1e-6))
              for lo, hi in zip(present.min(1), present.max(1))]
    images = []
    for t in frames:
        fig = plt.figure(figsize=(3, 3))
        ax = fig.add_subplot(projection="3d")
        draw(ax, sample[:, t], bones, entity_kinds, limits)
        ax.set_title(f"{title} t={t}", fontsize=7)
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
        plt.close(fig)
    return images


def run(args) -> None:
    from PIL import Image

    from ista_train.data import read_split
    from ista_train.recipe import load_recipe, parse_overrides

    recipe = load_recipe(args.config, parse_overrides(args.overrides))
    feeder_args = dict(recipe.train_feeder_args if args.split == "train" else recipe.test_feeder_args)
    if args.data:
        feeder_args["data_path"] = args.data
    split = read_split(recipe.feeder, feeder_args, labelled=args.split == "train" or recipe.test_labelled)
    meta = recipe.checkpoint_meta(split.class_names, layout=split.layout)
    bones = bones_of(meta.layout, split.data.shape[3])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for index in args.index:
        if not 0 <= index < len(split.data):
            raise ConfigError(f"sample index {index} is outside 0-{len(split.data) - 1}.")
        sample = np.asarray(split.data[index], dtype=np.float32)
        valid = max(valid_frame_count(sample), 1)
        label = "" if split.labels is None else meta.class_names[int(split.labels[index])]
        frames = list(range(0, valid, max(1, valid // 24))) if args.gif else \
            list(np.linspace(0, valid - 1, 6).astype(int))
        images = render(sample, bones, meta.entity_kinds, f"{index} {label}", frames)
        if args.gif:
            path = out / f"sample_{index}.gif"
            Image.fromarray(images[0]).save(path, save_all=True, duration=80, loop=0,
                                            append_images=[Image.fromarray(i) for i in images[1:]])
        else:
            path = out / f"sample_{index}.png"
            Image.fromarray(np.concatenate(images, axis=1)).save(path)
        print(f"wrote {path}")
