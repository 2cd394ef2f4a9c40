"""Pictures of what the recognizer sees: projection, one frame, and the videos written from
frames, checked on their pixels (colours at the projected joints, labels, cues, frame
counts read back), not only on the files existing."""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from PIL import Image

from ista_ros.core.layouts import get_layout
from ista_ros.errors import ConfigError
from ista_ros.synthetic import interactions
from ista_ros.viz.colours import AGREES, DIFFERS, PALETTE, UNGROUPED, ColourBook, group_colour, lighter
from ista_ros.viz.frame import BACKGROUND, TEXT, draw_frame, draw_picture, place_labels
from ista_ros.viz.scene import Camera, EntityPose, GroupLabel, poses_from_frame
from ista_ros.viz.video import VideoRenderer, save_image

CAMERA = Camera.with_fov(640, 480, 70.0)
PAIR = ("person_a", "person_b")


def pair_frame(class_id: int = 0, seed: int = 0, fraction: float = 0.5) -> list[EntityPose]:
    """Two people of the demo generator, mid-interaction, in the optical frame."""
    sample = interactions.generate(class_id, np.random.default_rng(seed), variation=interactions.EXACT)
    return poses_from_frame(sample[:, int(fraction * (sample.shape[1] - 1))], PAIR, axes=interactions.AXES)


def bone_midpoints(pose: EntityPose, camera: Camera) -> np.ndarray:
    pixels, _ = camera.project(pose.joints)
    bones = np.array(get_layout(pose.layout).bones)
    return np.rint((pixels[bones[:, 0]] + pixels[bones[:, 1]]) / 2).astype(int)


def joint_pixels(pose: EntityPose, camera: Camera) -> np.ndarray:
    return np.rint(camera.project(pose.joints)[0]).astype(int)


def share_of_colour(image: np.ndarray, points: np.ndarray, colours, tolerance: int = 0) -> float:
    """The share of ``points`` (N, 2) where ``image`` has one of ``colours`` (RGB triples)."""
    inside = np.all((points >= 0) & (points < [image.shape[1], image.shape[0]]), axis=1)
    values = image[points[inside, 1], points[inside, 0]].astype(int)[:, None]
    return float(np.mean(np.any(np.all(np.abs(values - np.array(colours)) <= tolerance, axis=-1), axis=1)))


def drawn_in(image: np.ndarray, pose: EntityPose, colour, camera: Camera = None, tolerance: int = 25) -> tuple:
    """Shares of (joints in the joints' tint, bone midpoints in the bones' colour or the tint);
    ``tolerance``: per channel (a rounded midpoint may fall on a line's antialiased edge)."""
    camera = camera or CAMERA
    return (share_of_colour(image, joint_pixels(pose, camera), [lighter(colour)], tolerance),
            share_of_colour(image, bone_midpoints(pose, camera), [colour, lighter(colour)], tolerance))


def count_colour(image: np.ndarray, colour, tolerance: int = 0) -> int:
    return int(np.all(np.abs(image.astype(int) - colour) <= tolerance, axis=-1).sum())


# ------------------------------------------------------------------ camera

def test_the_camera_projects_like_a_pinhole():
    camera = Camera.with_fov(640, 480, 90.0)  # focal = 320 px
    pixels, visible = camera.project(np.array([[1.0, 0.5, 2.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(pixels[:2], [[480.0, 320.0], [320.0, 240.0]])
    assert visible.tolist() == [True, True, False, False]  # behind the camera, at its centre: not drawn


def test_a_fitted_camera_frames_every_point_tightly():
    points = np.random.default_rng(1).uniform([-3, -1, 4], [5, 1.5, 8], size=(500, 3))
    camera = Camera.fitting(points, 800, 450, margin=0.1, headroom=0.1)
    pixels, visible = camera.project(points)
    assert visible.all()
    low, high = pixels.min(axis=0), pixels.max(axis=0)
    assert low[0] >= 80 - 1e-6 and high[0] <= 720 + 1e-6
    assert low[1] >= 45 + 45 - 1e-6 and high[1] <= 405 + 1e-6  # headroom above the margin
    assert np.isclose(high[0] - low[0], 640) or np.isclose(high[1] - low[1], 450 * 0.7)  # as large as fits


def test_frames_in_kinect_axes_are_turned_into_the_optical_frame():
    kinect = np.zeros((3, 25, 2), np.float32)
    kinect[:, :, 0] = np.array([1.0, 2.0, 3.0])[:, None]  # x to the camera's left, y up, z forward
    poses = poses_from_frame(kinect, PAIR, axes="kinect")
    assert [p.entity_id for p in poses] == ["person_a"]  # the all-zero entity is not in view
    np.testing.assert_allclose(poses[0].joints[0], [-1.0, -2.0, 3.0])


# ------------------------------------------------------------------ one frame

def test_skeletons_are_drawn_in_their_group_colour_at_the_projected_bones():
    a, b = pair_frame()
    walker = EntityPose("walker", a.joints + [0.0, 0.0, 3.0])  # behind the pair, in no group
    group = GroupLabel("person_a+person_b", PAIR, "handshake", 0.9)
    image = draw_frame([a, b, walker], [group], CAMERA)
    for person in (a, b):
        joints, bones = drawn_in(image, person, group_colour(group.group_id))
        assert joints > 0.85 and bones > 0.85  # the head joint is under the head's disc
    joints, bones = drawn_in(image, walker, UNGROUPED)
    assert joints > 0.5 and bones > 0.5  # partly behind the pair
    assert (image[-40:, -40:] == BACKGROUND).all()  # nothing drawn where nobody is


def test_each_group_has_its_own_colour_and_label():
    left, right = pair_frame(seed=1)
    left = EntityPose("left", left.joints - [1.5, 0.0, 0.0])
    right = EntityPose("right", right.joints + [1.5, 0.0, 0.0])
    groups = [GroupLabel("g1", ("left",), "wave", 0.7), GroupLabel("g2", ("right",), "point at", 0.6)]
    book = ColourBook()
    image = draw_frame([left, right], groups, CAMERA, book.of)
    assert book.of("g1") != book.of("g2")
    assert min(drawn_in(image, left, book.of("g1"))) > 0.85
    assert min(drawn_in(image, right, book.of("g2"))) > 0.85
    assert count_colour(image, TEXT) > 100  # the labels' white text


def test_labels_are_above_their_people_and_say_class_and_truth():
    people = pair_frame()
    heads = np.min([CAMERA.project(p.joints)[0][:, 1].min() for p in people])

    def label_pixels(label: str, truth: str | None) -> np.ndarray:
        image = draw_frame(people, [GroupLabel("g", PAIR, label, 0.8, truth)], CAMERA)
        return image[:int(heads)]  # the label box sits above the heads; the legend is below them

    agrees, differs, unknown = label_pixels("hug", "hug"), label_pixels("kick", "hug"), label_pixels("hug", None)
    assert count_colour(agrees, AGREES) > 200 and count_colour(agrees, DIFFERS) == 0
    assert count_colour(differs, DIFFERS) > 200 and count_colour(differs, AGREES) == 0
    assert count_colour(unknown, AGREES) == count_colour(unknown, DIFFERS) == 0
    assert count_colour(unknown, TEXT) > 50
    assert not np.array_equal(label_pixels("hug", None), label_pixels("kick", None))  # the text is the class
    assert not np.array_equal(label_pixels("hug", None), draw_frame(people, [GroupLabel("g", PAIR, "hug", 0.3)],
                                                                     CAMERA)[:int(heads)])  # and the confidence


def test_no_interaction_and_no_truth_between_interactions_agree():
    assert GroupLabel("g", PAIR, "none", 0.4, "").agrees() is True
    assert GroupLabel("g", PAIR, "hug", 0.9, "").agrees() is False
    assert GroupLabel("g", PAIR, "hug", 0.9).agrees() is None


def test_hands_are_drawn_with_their_own_bones():
    hand = np.zeros((21, 3))
    hand[1:] = [[0.02 * (f - 2), -0.02 * k, 0.0] for f in range(5) for k in range(1, 5)]  # fingers fan up
    hand += [0.0, 0.0, 0.5]
    pose = EntityPose("right_hand", hand, layout="hand21")
    image = draw_frame([pose], [GroupLabel("h", ("right_hand",), "pour", 0.6)], CAMERA)
    joints, bones = drawn_in(image, pose, group_colour("h"))
    assert joints > 0.9 and bones > 0.9


def test_ids_are_written_under_each_entity():
    people = pair_frame()
    image = draw_frame(people, [], CAMERA)
    for person in people:
        pixels = CAMERA.project(person.joints)[0]
        x0, x1, feet = int(pixels[:, 0].min()) - 40, int(pixels[:, 0].max()) + 40, int(pixels[:, 1].max())
        assert count_colour(image[feet + 3:feet + 40, max(x0, 0):x1], UNGROUPED, tolerance=40) > 40


def test_entities_behind_the_camera_or_not_located_draw_nothing():
    behind = EntityPose("behind", np.tile([0.0, 0.0, -2.0], (25, 1)))
    lost = EntityPose("lost", np.zeros((25, 3)))
    unsure = EntityPose("unsure", np.tile([0.0, 0.0, 2.0], (25, 1)), confidence=np.zeros(25))
    image = draw_frame([behind, lost, unsure], [GroupLabel("g", ("behind", "lost"), "hug", 0.9)], CAMERA)
    assert (image == BACKGROUND).all()


def test_time_and_latency_are_shown():
    people = pair_frame()
    plain = draw_frame(people, [], CAMERA)
    timed = draw_frame(people, [], CAMERA, latency_ms=42.0, time_s=3.5)
    assert not np.array_equal(plain[:60, :160], timed[:60, :160])


@pytest.mark.parametrize("seed", range(30))
def test_labels_never_overlap_when_there_is_room(seed):
    rng = np.random.default_rng(seed)
    anchors = []
    for _ in range(rng.integers(2, 6)):
        x, y = rng.integers(0, 560), rng.integers(40, 400)
        anchors.append((int(x), int(y), int(x + rng.integers(20, 80)), int(y + rng.integers(40, 80))))
    sizes = [(int(rng.integers(80, 180)), int(rng.integers(25, 50))) for _ in anchors]
    boxes = place_labels(anchors, sizes, (640, 480))
    for box, (w, h) in zip(boxes, sizes):
        assert box[2] - box[0] == w and box[3] - box[1] == h
        assert 0 <= box[0] and box[2] <= 640 and 0 <= box[1] and box[3] <= 480
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_a_label_goes_centred_above_its_anchor_when_free():
    (box,) = place_labels([(300, 200, 340, 300)], [(100, 30)], (640, 480), gap=8)
    assert box == (270, 162, 370, 192)


def test_group_colours_are_stable_and_a_video_gives_distinct_ones():
    assert group_colour("person_0+person_1") == group_colour("person_0+person_1")
    book = ColourBook()
    assert len({book.of(f"group_{i}") for i in range(len(PALETTE))}) == len(PALETTE)
    assert book.of("group_0") == PALETTE[0]
    assert UNGROUPED not in PALETTE and AGREES not in PALETTE and DIFFERS not in PALETTE


# ------------------------------------------------------------------ videos

def render_clip(path, frames: int = 12, fps: float = 10.0):
    people = pair_frame()
    group = GroupLabel("g", PAIR, "handshake", 0.9, "handshake")
    with VideoRenderer(path, fps, CAMERA, total=frames, title="test", progress=False) as video:
        for k in range(frames):
            video.add(people, [group], latency_ms=20.0, time_s=k / fps)
    return people, video


def read_mp4(path) -> list[np.ndarray]:
    """Every frame of a video file, RGB."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def test_an_mp4_has_every_frame_and_the_skeleton_colours(tmp_path):
    path = tmp_path / "clip.mp4"
    people, video = render_clip(path)
    assert video.frames == 12
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)
    capture.release()
    frames = read_mp4(path)
    assert len(frames) == 12
    assert frames[0].shape == (480, 640, 3)
    colour = ColourBook().of("g")  # the first group of a video
    assert min(drawn_in(frames[-1], people[0], colour, tolerance=60)) > 0.7  # lossy compression
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_a_gif_has_every_frame_at_the_frame_rate(tmp_path):
    path = tmp_path / "clip.gif"
    people, _ = render_clip(path, frames=9, fps=15.0)
    with Image.open(path) as gif:
        assert gif.n_frames == 9
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
        last = np.asarray(gif.convert("RGB"))
    assert sum(durations) == pytest.approx(9 / 15 * 1000, abs=10)
    assert min(drawn_in(last, people[0], ColourBook().of("g"), tolerance=30)) > 0.8  # 256 colours


def test_bad_names_and_empty_videos_are_refused_and_leave_nothing(tmp_path):
    with pytest.raises(ConfigError, match=r"\.mp4 or \.gif"):
        VideoRenderer(tmp_path / "clip.avi", progress=False)
    with pytest.raises(ConfigError, match="no frames"):
        VideoRenderer(tmp_path / "empty.mp4", progress=False).close()
    with pytest.raises(RuntimeError):
        with VideoRenderer(tmp_path / "broken.gif", progress=False) as video:
            video.add(pair_frame())
            raise RuntimeError("the demo failed")
    assert list(tmp_path.iterdir()) == []


def test_a_frame_can_be_saved_as_an_image(tmp_path):
    image = draw_frame(pair_frame(), [GroupLabel("g", PAIR, "hug", 0.9)], CAMERA)
    path = save_image(tmp_path / "frame.png", image)
    np.testing.assert_array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), image)


def test_a_camera_picture_is_fitted_with_its_aspect_under_the_corner_panel():
    picture = np.empty((100, 200, 3), np.uint8)
    picture[:] = (200, 40, 40)
    frame = draw_picture(picture, (640, 480), latency_ms=12.0, time_s=1.5, title="clip")
    assert frame.shape == (480, 640, 3)
    assert np.all(frame[81:399, 1:639] == (200, 40, 40))  # 640 x 320, centred: rows 80-399
    assert np.all(frame[78, 200:] == BACKGROUND) and np.all(frame[401:, :] == BACKGROUND)
    assert (frame[5:75, 5:120] != BACKGROUND).any(axis=-1).mean() > 0.1  # title, time and latency
