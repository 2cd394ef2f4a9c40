"""Joint layouts and mappings on known geometry."""
import numpy as np
import pytest

from ista_ros.core.layouts import LAYOUTS, LayoutError, attach_hand, convert, get_layout


def _named(layout: str, rng=None) -> np.ndarray:
    """Distinct random points (J, 3) for a layout."""
    rng = rng or np.random.default_rng(0)
    return rng.normal(size=(get_layout(layout).num_joints, 3))


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_bones_are_valid_and_cover_every_joint(name):
    layout = get_layout(name)
    assert len(set(layout.joints)) == layout.num_joints
    touched = {j for bone in layout.bones for j in bone}
    assert all(0 <= a < layout.num_joints and a != b for a, b in layout.bones)
    if name == "asb_hand21":  # the official graph leaves the palm centre unconnected
        touched.add(layout.index("palm_centre"))
    if name == "mediapipe_pose33":  # mouth corners only connect to each other
        touched |= {layout.index("mouth_left"), layout.index("mouth_right")}
    assert touched == set(range(layout.num_joints))


def test_known_joint_counts_and_orders():
    assert [get_layout(n).num_joints for n in ("ntu25", "sbu15", "hand21", "asb_hand21",
                                                "mediapipe_pose33")] == [25, 15, 21, 21, 33]
    ntu = get_layout("ntu25")  # NTU RGB+D 1-based: 1 spine base, 4 head, 21 spine shoulder
    assert (ntu.index("spine_base"), ntu.index("head"), ntu.index("spine_shoulder")) == (0, 3, 20)
    assert get_layout("hand21").index("middle_tip") == 12
    asb = get_layout("asb_hand21")
    assert (asb.index("wrist"), asb.index("pinky_tip"), asb.index("pinky_mcp")) == (5, 4, 17)
    assert get_layout("h2o_hand21") is get_layout("hand21")


def test_identity_returns_points_unchanged():
    points = _named("ntu25")
    assert convert(points, "ntu25", "ntu25") is points
    assert convert(points[None], "ntu25", "ntu25").shape == (1, 25, 3)


def test_errors_are_value_errors_with_clear_messages():
    assert issubclass(LayoutError, ValueError)
    with pytest.raises(LayoutError, match="unknown joint layout 'coco17'"):
        get_layout("coco17")
    with pytest.raises(LayoutError, match="no mapping from joint layout 'sbu15' to 'ntu25'"):
        convert(_named("sbu15"), "sbu15", "ntu25")
    with pytest.raises(LayoutError, match=r"do not fit layout 'ntu25'.*25"):
        convert(np.zeros((24, 3)), "ntu25", "sbu15")


def _pose_standing() -> np.ndarray:
    """A person facing the camera (camera optical frame: x right, y down, z forward)."""
    pose = np.zeros((33, 3))
    p = get_layout("mediapipe_pose33").index
    # The subject's left is the image right (+x) when facing the camera.
    set_ = {"left_hip": (0.1, 0.0, 2), "right_hip": (-0.1, 0.0, 2),
            "left_shoulder": (0.2, -0.5, 2), "right_shoulder": (-0.2, -0.5, 2),
            "left_ear": (0.08, -0.75, 2), "right_ear": (-0.08, -0.75, 2),
            "left_wrist": (0.3, 0.0, 2), "left_index": (0.32, 0.1, 2),
            "left_pinky": (0.28, 0.1, 2), "left_thumb": (0.27, 0.05, 2),
            "left_foot_index": (0.1, 0.9, 1.9)}
    for name, xyz in set_.items():
        pose[p(name)] = xyz
    return pose


def test_pose33_to_ntu25_synthesised_joints():
    ntu = convert(_pose_standing(), "mediapipe_pose33", "ntu25")
    n = get_layout("ntu25").index
    np.testing.assert_allclose(ntu[n("spine_base")], (0, 0, 2))
    np.testing.assert_allclose(ntu[n("spine_shoulder")], (0, -0.5, 2))
    np.testing.assert_allclose(ntu[n("spine_mid")], (0, -0.25, 2))
    np.testing.assert_allclose(ntu[n("head")], (0, -0.75, 2))
    np.testing.assert_allclose(ntu[n("neck")], (0, -0.6, 2))
    np.testing.assert_allclose(ntu[n("shoulder_left")], (0.2, -0.5, 2))
    np.testing.assert_allclose(ntu[n("hand_left")], (0.3, 0.2 / 3, 2))
    np.testing.assert_allclose(ntu[n("hand_tip_left")], (0.3, 0.2, 2))
    np.testing.assert_allclose(ntu[n("thumb_left")], (0.27, 0.05, 2))
    np.testing.assert_allclose(ntu[n("foot_left")], (0.1, 0.9, 1.9))


def test_pose33_to_sbu15_composes_through_ntu25_and_keeps_batch_dims():
    poses = np.stack([_pose_standing(), _pose_standing() + (1.0, 0, 0)])[None]  # (1, 2, 33, 3)
    sbu = convert(poses, "mediapipe_pose33", "sbu15")
    ntu = convert(poses, "mediapipe_pose33", "ntu25")
    s, n = get_layout("sbu15").index, get_layout("ntu25").index
    assert sbu.shape == (1, 2, 15, 3)
    np.testing.assert_allclose(sbu[..., s("neck"), :], ntu[..., n("spine_shoulder"), :])
    np.testing.assert_allclose(sbu[..., s("torso"), :], ntu[..., n("spine_mid"), :])
    np.testing.assert_allclose(sbu[0, 1, s("hand_left")] - sbu[0, 0, s("hand_left")], (1, 0, 0))


def test_hand21_asb_round_trip():
    hand = _named("hand21")
    asb = convert(hand, "hand21", "asb_hand21")
    h, a = get_layout("hand21").index, get_layout("asb_hand21").index
    np.testing.assert_allclose(asb[a("wrist")], hand[h("wrist")])
    np.testing.assert_allclose(asb[a("thumb_tip")], hand[h("thumb_tip")])
    np.testing.assert_allclose(asb[a("pinky_dip")], hand[h("pinky_dip")])
    mcps = [h(n) for n in ("wrist", "index_mcp", "middle_mcp", "ring_mcp", "pinky_mcp")]
    np.testing.assert_allclose(asb[a("palm_centre")], hand[mcps].mean(axis=0))
    back = convert(asb, "asb_hand21", "hand21")
    keep = [i for i in range(21) if i != h("thumb_cmc")]
    np.testing.assert_allclose(back[keep], hand[keep])
    np.testing.assert_allclose(back[h("thumb_cmc")], (hand[0] + hand[h("thumb_mcp")]) / 2)
    np.testing.assert_allclose(convert(hand, "h2o_hand21", "hand21"), hand)


def test_attach_hand_replaces_only_that_sides_hand_joints():
    body = convert(_pose_standing(), "mediapipe_pose33", "ntu25")
    hand = _named("hand21")
    out = attach_hand(body, hand, "right")
    n, h = get_layout("ntu25").index, get_layout("hand21").index
    np.testing.assert_allclose(out[n("hand_tip_right")], hand[h("middle_tip")])
    np.testing.assert_allclose(out[n("thumb_right")], hand[h("thumb_tip")])
    np.testing.assert_allclose(out[n("wrist_right")], hand[0])
    changed = {n(j) for j in ("wrist_right", "hand_right", "hand_tip_right", "thumb_right")}
    same = [i for i in range(25) if i not in changed]
    np.testing.assert_allclose(out[same], body[same])
    with pytest.raises(LayoutError, match="'left' or 'right'"):
        attach_hand(body, hand, "middle")
