import os

import pytest

from conftest import write_dice

from keynet_sdk import DatasetError, Trainer, MemoryTransport, yolo_bbox
from keynet_sdk import datasets


def make_client(env, task):
    env["TASK_TYPE"] = task
    return Trainer(environ=env, transport=MemoryTransport(), echo_logs=False, register_atexit=False)


def detection_dataset(root):
    images = [
        {"id": "a", "file_name": "a.jpg", "width": 200, "height": 100},
        {"id": "b", "file_name": "sub/b.png", "width": 400, "height": 300},
        {"id": 3, "file_name": "c.jpg", "width": 50, "height": 50},
        {"id": "d", "file_name": "d.jpg", "width": 100, "height": 100},
    ]
    annotations = [
        {"image_id": "a", "class_id": 5, "bbox": [20, 10, 40, 20]},
        {"image_id": "a", "class_id": 2, "bbox": [0, 0, 200, 100]},
        {"image_id": "b", "class_id": 2, "bbox": [100, 150, 200, 60]},
        # partly outside the image: clipped to [380, 290, 400, 300]
        {"image_id": "b", "class_id": 5, "bbox": [380, 290, 50, 50]},
        # entirely outside: dropped
        {"image_id": "b", "class_id": 5, "bbox": [500, 500, 10, 10]},
        {"image_id": 3, "class_id": 2, "bbox": [10, 10, 10, 10]},
    ]
    splits = {"train": ["a", "b"], "val": [3], "test": ["d"]}
    return write_dice(root, "detection", [(5, "dog"), (2, "cat")], images, annotations, splits)


def read_labels(path):
    with open(path) as handle:
        return [[float(v) for v in line.split()] for line in handle.read().splitlines()]


def test_yolo_bbox_normalisation():
    assert yolo_bbox([20, 10, 40, 20], 200, 100) == pytest.approx((0.2, 0.2, 0.2, 0.2))
    assert yolo_bbox([0, 0, 200, 100], 200, 100) == pytest.approx((0.5, 0.5, 1.0, 1.0))
    assert yolo_bbox([-10, -10, 20, 20], 100, 100) == pytest.approx((0.05, 0.05, 0.1, 0.1))
    assert yolo_bbox([200, 0, 10, 10], 100, 100) is None


def test_dice_to_yolo(env, tmp_path):
    dataset = detection_dataset(os.path.join(env["KEYNET_INPUT_DIR"], "dataset"))
    client = make_client(env, "detection")
    out = tmp_path / "yolo"
    data_yaml = client.create_data_yaml(str(out))
    assert data_yaml == str(out / "data.yaml")

    text = (out / "data.yaml").read_text()
    lines = text.splitlines()
    assert f'path: "{os.path.realpath(out)}"' in lines
    assert "train: images/train" in lines
    assert "val: images/val" in lines
    assert "test: images/test" in lines
    assert "nc: 2" in lines
    # classes in id order: cat (2) -> 0, dog (5) -> 1
    assert lines[lines.index("names:") + 1 :] == ['  0: "cat"', '  1: "dog"']

    assert sorted(os.listdir(out / "images" / "train")) == ["a.jpg", "sub"]
    assert os.path.islink(out / "images" / "train" / "a.jpg")
    assert os.path.realpath(out / "images" / "train" / "sub" / "b.png") == os.path.realpath(
        os.path.join(dataset, "images", "sub", "b.png")
    )
    assert os.listdir(out / "images" / "val") == ["c.jpg"]
    assert os.listdir(out / "images" / "test") == ["d.jpg"]

    a = read_labels(out / "labels" / "train" / "a.txt")
    assert a == [pytest.approx([1, 0.2, 0.2, 0.2, 0.2], abs=2e-6), pytest.approx([0, 0.5, 0.5, 1.0, 1.0], abs=2e-6)]
    b = read_labels(out / "labels" / "train" / "sub" / "b.txt")
    assert b == [
        pytest.approx([0, 200 / 400, 180 / 300, 200 / 400, 60 / 300], abs=2e-6),
        pytest.approx([1, 390 / 400, 295 / 300, 20 / 400, 10 / 300], abs=2e-6),
    ]
    c = read_labels(out / "labels" / "val" / "c.txt")
    assert c == [pytest.approx([0, 15 / 50, 15 / 50, 10 / 50, 10 / 50], abs=2e-6)]
    # an image without objects gets an empty label file (a background image)
    assert (out / "labels" / "test" / "d.txt").read_text() == ""
    for row in a + b + c:
        assert all(0.0 <= v <= 1.0 for v in row[1:])


def test_dice_to_yolo_with_copies_and_rerun(env, tmp_path):
    detection_dataset(os.path.join(env["KEYNET_INPUT_DIR"], "dataset"))
    client = make_client(env, "detection")
    out = tmp_path / "yolo"
    client.create_data_yaml(str(out))
    (out / "labels" / "train" / "stale.txt").write_text("0 0.5 0.5 1 1\n")
    client.create_data_yaml(str(out), link=False)
    assert not (out / "labels" / "train" / "stale.txt").exists()
    copied = out / "images" / "train" / "a.jpg"
    assert copied.is_file() and not os.path.islink(copied)


def test_dice_to_yolo_without_val_or_test(env, tmp_path):
    root = os.path.join(env["KEYNET_INPUT_DIR"], "dataset")
    write_dice(
        root,
        "detection",
        [(0, "thing")],
        [{"id": "x", "file_name": "x.jpg", "width": 10, "height": 10}],
        [{"image_id": "x", "class_id": 0, "bbox": [0, 0, 5, 5]}],
        {"train": ["x"]},
    )
    path = make_client(env, "detection").create_data_yaml(str(tmp_path / "y"))
    lines = open(path).read().splitlines()
    assert "val: images/train" in lines
    assert not any(line.startswith("test:") for line in lines)


def test_dice_to_yolo_segmentation_polygons(env, tmp_path):
    root = os.path.join(env["KEYNET_INPUT_DIR"], "dataset")
    write_dice(
        root,
        "segmentation",
        [(1, "blob")],
        [{"id": "s", "file_name": "s.jpg", "width": 100, "height": 50}],
        [{"image_id": "s", "class_id": 1, "segmentation": [[10, 5, 90, 5, 50, 45]], "bbox": [10, 5, 80, 40]}],
        {"train": ["s"], "val": ["s"]},
    )
    make_client(env, "segmentation").create_data_yaml(str(tmp_path / "seg"))
    rows = read_labels(tmp_path / "seg" / "labels" / "train" / "s.txt")
    assert rows == [pytest.approx([0, 0.1, 0.1, 0.9, 0.1, 0.5, 0.9], abs=2e-6)]


def test_create_data_yaml_refuses_classification_and_output_inside_dataset(env, tmp_path):
    root = detection_dataset(os.path.join(env["KEYNET_INPUT_DIR"], "dataset"))
    with pytest.raises(DatasetError):
        datasets.create_data_yaml(root, str(tmp_path / "o"), "classification")
    with pytest.raises(DatasetError):
        datasets.create_data_yaml(root, os.path.join(root, "yolo"), "detection")


def test_unknown_image_in_splits_is_an_error(env, tmp_path):
    root = os.path.join(env["KEYNET_INPUT_DIR"], "dataset")
    write_dice(
        root,
        "detection",
        [(0, "thing")],
        [{"id": "x", "file_name": "x.jpg", "width": 10, "height": 10}],
        [],
        {"train": ["x", "ghost"]},
    )
    with pytest.raises(DatasetError, match="ghost"):
        make_client(env, "detection").create_data_yaml(str(tmp_path / "y"))


def classification_dataset(root):
    images = [
        {"id": 1, "file_name": "cat1.jpg", "width": 10, "height": 10},
        {"id": 2, "file_name": "cat2.jpg", "width": 10, "height": 10},
        {"id": 3, "file_name": "dogs/dog1.jpg", "width": 10, "height": 10},
        {"id": 4, "file_name": "dog2.jpg", "width": 10, "height": 10},
        {"id": 5, "file_name": "unlabelled.jpg", "width": 10, "height": 10},
    ]
    annotations = [
        {"image_id": 1, "class_id": 0},
        {"image_id": 2, "class_id": 0},
        {"image_id": 3, "class_id": 1},
        {"image_id": 4, "class_id": 1},
    ]
    splits = {"train": [1, 3, 5], "val": [2], "test": [4]}
    return write_dice(root, "classification", [(0, "cat"), (1, "dog/puppy")], images, annotations, splits)


def tree(root):
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            found.append(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/"))
    return sorted(found)


def test_dice_to_image_folder(env, tmp_path):
    dataset = classification_dataset(os.path.join(env["KEYNET_INPUT_DIR"], "dataset"))
    client = make_client(env, "classification")
    out = client.to_image_folder(str(tmp_path / "folder"))
    assert out == os.path.realpath(tmp_path / "folder")
    assert tree(out) == [
        "classes.txt",
        "test/dog_puppy/dog2.jpg",
        "train/cat/cat1.jpg",
        "train/dog_puppy/dogs__dog1.jpg",
        "val/cat/cat2.jpg",
    ]
    assert os.path.islink(os.path.join(out, "train", "cat", "cat1.jpg"))
    assert os.path.realpath(os.path.join(out, "train", "dog_puppy", "dogs__dog1.jpg")) == os.path.realpath(
        os.path.join(dataset, "images", "dogs", "dog1.jpg")
    )
    assert open(os.path.join(out, "classes.txt")).read().splitlines() == ["cat", "dog_puppy"]


def test_dice_to_image_folder_with_copies(env, tmp_path):
    classification_dataset(os.path.join(env["KEYNET_INPUT_DIR"], "dataset"))
    out = make_client(env, "classification").to_image_folder(str(tmp_path / "f"), link=False)
    copied = os.path.join(out, "val", "cat", "cat2.jpg")
    assert os.path.isfile(copied) and not os.path.islink(copied)
    assert open(copied, "rb").read().startswith(b"\x89PNG")


def test_annotation_file_for_the_task_type_with_fallback(env, tmp_path):
    root = os.path.join(env["KEYNET_INPUT_DIR"], "dataset")
    classification_dataset(root)
    write_dice(root, "detection", [(9, "det")], [], [], {"train": []})
    write_dice(root, "x", [(7, "generic")], [], [], {"train": []}, file_name="annotations.json")
    assert make_client(env, "classification").load_annotations()["classes"][0]["name"] == "cat"
    assert make_client(env, "detection").load_annotations()["classes"][0]["name"] == "det"
    assert make_client(env, "segmentation").load_annotations()["classes"][0]["name"] == "generic"
    assert datasets.load_annotations(root, "pose")["classes"][0]["name"] == "generic"
    os.remove(os.path.join(root, "annotations.json"))
    with pytest.raises(DatasetError, match="annotations_segmentation.json"):
        make_client(env, "segmentation").load_annotations()


def test_single_task_file_is_used_without_task_type(tmp_path):
    root = write_dice(tmp_path / "d", "detection", [(0, "only")], [], [], {"train": []})
    assert datasets.load_annotations(root)["classes"] == [{"id": 0, "name": "only"}]


def test_load_splits(env):
    root = os.path.join(env["KEYNET_INPUT_DIR"], "dataset")
    classification_dataset(root)
    client = make_client(env, "classification")
    assert client.load_splits() == {"train": ["1", "3", "5"], "val": ["2"], "test": ["4"]}
    os.remove(os.path.join(root, "splits.json"))
    with pytest.raises(DatasetError, match="splits.json"):
        client.load_splits()
