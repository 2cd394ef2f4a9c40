"""Render generated interactions as a PNG grid (one row per class, a few frames each).

    python -m ista_ros.synthetic.render out.png [--seed 0] [--frames 0.2 0.45 0.7] [--varied]

Without --varied the camera looks at the pair from the side without noise, which is the
easiest view to judge whether a class reads as what it is.
"""
from __future__ import annotations

import argparse

import numpy as np

from ista_ros.synthetic import interactions as gen

ENTITY_COLOURS = ("tab:blue", "tab:red")


def draw_skeleton(ax, joints, colour, vertical=1):
    """Draw one person's (25, 3) joints: -x across (Kinect's x points to the camera's left,
    so this is what the camera sees), coordinate ``vertical`` up (1: y, 2: depth z)."""
    if not np.any(joints):
        return
    plane = (0, vertical)
    joints = joints * [-1, 1, 1]
    for parent, child in gen.BONES:
        left = child in (*gen.SHOULDER[:1], *gen.ELBOW[:1], *gen.WRIST[:1], *gen.HAND[:1], gen.HAND_TIP[0],
                         gen.THUMB[0], *gen.HIP[:1], *gen.KNEE[:1], *gen.ANKLE[:1], *gen.FOOT[:1])
        ax.plot(joints[[parent, child], plane[0]], joints[[parent, child], plane[1]],
                color=colour, lw=1.2 if left else 2.0, alpha=0.55 if left else 1.0)
    ax.plot(*joints[gen.HEAD, list(plane)], "o", color=colour, ms=5)


def _limits(values, margin):
    """Axis range covering the non-zero values of a coordinate over the whole sample."""
    values = values[values != 0]
    return values.min() - margin, values.max() + margin


def render_grid(path, seed=0, fractions=(0.2, 0.45, 0.7), varied=False, top=False, classes=None):
    """Write a PNG with a row per class and a column per time fraction; top: seen from above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    vertical = 2 if top else 1
    variation = gen.Variation() if varied else gen.EXACT
    classes = range(len(gen.CLASS_NAMES)) if classes is None else classes
    fig, axes = plt.subplots(len(classes), len(fractions), figsize=(3.2 * len(fractions), 2.6 * len(classes)),
                             squeeze=False)
    for class_id, row in zip(classes, axes):
        sample = gen.generate(class_id, rng, variation=variation)  # (3, T, 25, 2)
        for ax, fraction in zip(row, fractions):
            frame = int(fraction * (sample.shape[1] - 1))
            for entity, colour in enumerate(ENTITY_COLOURS):
                draw_skeleton(ax, sample[:, frame, :, entity].T, colour, vertical)
            ax.set_aspect("equal")
            ax.set_xlim(*_limits(-sample[0], 0.2))
            ax.set_ylim(*_limits(sample[vertical], 0.1))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{gen.CLASS_NAMES[class_id]}  t={frame}/{sample.shape[1]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="PNG file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=float, nargs="+", default=[0.2, 0.45, 0.7],
                        help="time fractions to draw (0..1)")
    parser.add_argument("--varied", action="store_true", help="full per-sample variation (camera, noise)")
    parser.add_argument("--top", action="store_true", help="view from above (x, z) instead of the image (x, y)")
    parser.add_argument("--classes", type=int, nargs="+", help="class ids to draw (default: all)")
    args = parser.parse_args(argv)
    render_grid(args.output, args.seed, tuple(args.frames), args.varied, args.top, args.classes)


if __name__ == "__main__":
    main()
