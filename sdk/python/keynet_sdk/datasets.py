"""The DICE dataset under ``$KEYNET_INPUT_DIR/dataset`` and conversions to the layouts
frameworks read (see docs/trainer-contract.md, "Dataset layout (DICE)").

DICE::

    dataset/
      images/…                        image files; ``file_name`` is the path under images/
      annotations_<task>.json         {"classes", "images", "annotations"}; annotations.json fallback
      splits.json                     {"train": [image ids], "val": [...], "test": [...]}

Image ids are compared as strings (uploads may write them as numbers).
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .errors import DatasetError

SPLITS = ("train", "val", "test")


# --- reading ------------------------------------------------------------------------------


def annotations_path(dataset_dir: str, task_type: Optional[str] = None) -> str:
    """``annotations_<task_type>.json`` when it exists, else ``annotations.json``. Without a
    task type, a single ``annotations_*.json`` is also accepted."""
    candidates: List[str] = []
    if task_type:
        candidates.append(f"annotations_{task_type}.json")
    candidates.append("annotations.json")
    for name in candidates:
        path = os.path.join(dataset_dir, name)
        if os.path.isfile(path):
            return path
    if not task_type and os.path.isdir(dataset_dir):
        found = sorted(
            name
            for name in os.listdir(dataset_dir)
            if name.startswith("annotations_") and name.endswith(".json")
        )
        if len(found) == 1:
            return os.path.join(dataset_dir, found[0])
    raise DatasetError(
        f"no annotation file in {dataset_dir}: looked for {' and '.join(candidates)}"
    )


def _read_json(path: str) -> Any:
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    except ValueError as exc:
        raise DatasetError(f"{path} is not valid JSON: {exc}") from exc


def load_annotations(dataset_dir: str, task_type: Optional[str] = None) -> Dict[str, Any]:
    """The annotation file as a dict with ``classes``, ``images`` and ``annotations`` lists."""
    path = annotations_path(dataset_dir, task_type)
    data = _read_json(path)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object")
    for key in ("classes", "images", "annotations"):
        value = data.get(key)
        if value is None:
            data[key] = []
        elif not isinstance(value, list):
            raise DatasetError(f"{path}: '{key}' must be a list")
    return data


def load_splits(dataset_dir: str) -> Dict[str, List[str]]:
    """``{"train": [...], "val": [...], "test": [...]}`` from ``splits.json`` (ids as strings)."""
    path = os.path.join(dataset_dir, "splits.json")
    if not os.path.isfile(path):
        raise DatasetError(f"{path} is missing")
    data = _read_json(path)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object")
    splits: Dict[str, List[str]] = {}
    for split in SPLITS:
        ids = data.get(split) or []
        if not isinstance(ids, list):
            raise DatasetError(f"{path}: '{split}' must be a list of image ids")
        splits[split] = [str(image_id) for image_id in ids]
    return splits


# --- helpers --------------------------------------------------------------------------------


def _classes(annotations: Dict[str, Any]) -> List[Tuple[int, str]]:
    """``(class id, name)`` sorted by id."""
    result = []
    for entry in annotations["classes"]:
        try:
            result.append((int(entry["id"]), str(entry["name"])))
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"bad class entry {entry!r}: needs 'id' and 'name'") from None
    result.sort()
    ids = [class_id for class_id, _ in result]
    if len(set(ids)) != len(ids):
        raise DatasetError("class ids must be unique")
    return result


def _images_by_id(annotations: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    images = {}
    for image in annotations["images"]:
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise DatasetError(f"bad image entry {image!r}: needs 'id' and 'file_name'")
        images[str(image["id"])] = image
    return images


def _annotations_by_image(annotations: Dict[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
    result: Dict[str, List[Dict[str, Any]]] = {}
    for annotation in annotations["annotations"]:
        if not isinstance(annotation, dict) or "image_id" not in annotation:
            raise DatasetError(f"bad annotation {annotation!r}: needs 'image_id'")
        result.setdefault(str(annotation["image_id"]), []).append(annotation)
    return result


def _split_images(
    splits: Dict[str, List[str]], images: Dict[str, Dict[str, Any]]
) -> Dict[str, List[Dict[str, Any]]]:
    result = {}
    for split in SPLITS:
        chosen = []
        for image_id in splits[split]:
            if image_id not in images:
                raise DatasetError(f"splits.json: {split} lists image '{image_id}', which is not in the annotations")
            chosen.append(images[image_id])
        result[split] = chosen
    return result


def _source_image(dataset_dir: str, image: Dict[str, Any]) -> str:
    file_name = str(image["file_name"]).replace("\\", "/").lstrip("/")
    path = os.path.join(dataset_dir, "images", *file_name.split("/"))
    if not os.path.isfile(path):
        raise DatasetError(f"image '{image['id']}': file images/{file_name} is missing")
    return path


def _check_out_dir(dataset_dir: str, out_dir: str) -> str:
    out = os.path.realpath(out_dir)
    data = os.path.realpath(dataset_dir)
    if os.path.commonpath([out, data]) == data:
        raise DatasetError(f"output folder {out_dir} must not be inside the dataset {dataset_dir}")
    os.makedirs(out, exist_ok=True)
    return out


def _place(source: str, dest: str, link: bool) -> None:
    """Symlink ``dest`` to ``source`` (or copy when links are off or impossible)."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.lexists(dest):
        os.remove(dest)
    if link:
        try:
            os.symlink(os.path.abspath(source), dest)
            return
        except (OSError, NotImplementedError):
            pass
    shutil.copy2(source, dest)


def _remove_tree(path: str) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        os.remove(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def _yaml_str(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(value, ensure_ascii=False)


def _fmt(value: float) -> str:
    return f"{value:.6f}"


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def _size(image: Dict[str, Any]) -> Tuple[float, float]:
    try:
        width, height = float(image["width"]), float(image["height"])
    except (KeyError, TypeError, ValueError):
        width = height = 0.0
    if width <= 0 or height <= 0:
        raise DatasetError(f"image '{image['id']}': needs a positive 'width' and 'height'")
    return width, height


def yolo_bbox(bbox: Iterable[float], width: float, height: float) -> Optional[Tuple[float, float, float, float]]:
    """DICE ``[x, y, w, h]`` in pixels (top-left corner) → YOLO normalised ``(cx, cy, w, h)``,
    clipped to the image; ``None`` when nothing of the box is inside the image."""
    x, y, w, h = (float(v) for v in bbox)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(width, x + w), min(height, y + h)
    if x2 <= x1 or y2 <= y1:
        return None
    return (
        _clip01((x1 + x2) / 2.0 / width),
        _clip01((y1 + y2) / 2.0 / height),
        _clip01((x2 - x1) / width),
        _clip01((y2 - y1) / height),
    )


def _polygon_bbox(polygon: List[float]) -> Optional[List[float]]:
    xs, ys = polygon[0::2], polygon[1::2]
    if not xs or not ys:
        return None
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _longest_polygon(segmentation: Any) -> Optional[List[float]]:
    if isinstance(segmentation, list) and segmentation:
        if all(isinstance(v, (int, float)) for v in segmentation):
            polygons = [segmentation]
        else:
            polygons = [p for p in segmentation if isinstance(p, list) and len(p) >= 6]
        if polygons:
            return [float(v) for v in max(polygons, key=len)]
    return None  # RLE masks are not converted


def _yolo_line(
    annotation: Dict[str, Any], class_index: int, width: float, height: float, segmentation: bool
) -> Optional[str]:
    polygon = _longest_polygon(annotation.get("segmentation"))
    bbox = annotation.get("bbox")
    if bbox is None and polygon is not None:
        bbox = _polygon_bbox(polygon)
    if segmentation:
        if polygon is None and bbox is not None:
            x, y, w, h = (float(v) for v in bbox)
            polygon = [x, y, x + w, y, x + w, y + h, x, y + h]
        if polygon is None:
            return None
        points = []
        for i in range(0, len(polygon) - 1, 2):
            points.append(_fmt(_clip01(polygon[i] / width)))
            points.append(_fmt(_clip01(polygon[i + 1] / height)))
        return " ".join([str(class_index)] + points)
    if bbox is None or len(bbox) != 4:
        return None
    box = yolo_bbox(bbox, width, height)
    if box is None:
        return None
    return " ".join([str(class_index)] + [_fmt(v) for v in box])


# --- conversions -------------------------------------------------------------------------------


def create_data_yaml(
    dataset_dir: str,
    out_dir: str,
    task_type: Optional[str] = None,
    link: bool = True,
) -> str:
    """Convert DICE detection (or segmentation) to the YOLO layout and return data.yaml's path.

    Writes ``out_dir/images/<split>/<file_name>`` (symlinks, or copies when ``link`` is
    false or links fail), ``out_dir/labels/<split>/<stem>.txt`` with one line per object
    (``class cx cy w h`` normalised to 0–1; segmentation: ``class x1 y1 x2 y2 …``) and
    ``out_dir/data.yaml`` with ``path``, ``train``, ``val``, ``test`` (when the test split
    is not empty), ``nc`` and ``names``. Class indices are the DICE classes in id order.
    An empty val split points ``val`` at the train images (Ultralytics requires one).
    """
    task = (task_type or "detection").lower()
    if task not in ("detection", "segmentation"):
        raise DatasetError(
            f"create_data_yaml converts detection or segmentation datasets, not {task}"
            + (" (use to_image_folder)" if task == "classification" else "")
        )
    out = _check_out_dir(dataset_dir, out_dir)
    annotations = load_annotations(dataset_dir, task)
    splits = load_splits(dataset_dir)
    classes = _classes(annotations)
    index_of = {class_id: index for index, (class_id, _) in enumerate(classes)}
    images = _images_by_id(annotations)
    by_image = _annotations_by_image(annotations)
    split_images = _split_images(splits, images)
    if not split_images["train"]:
        raise DatasetError("splits.json: the train split is empty")

    for split in SPLITS:
        _remove_tree(os.path.join(out, "images", split))
        _remove_tree(os.path.join(out, "labels", split))
        for image in split_images[split]:
            source = _source_image(dataset_dir, image)
            width, height = _size(image)
            file_name = str(image["file_name"]).replace("\\", "/").lstrip("/")
            parts = file_name.split("/")
            _place(source, os.path.join(out, "images", split, *parts), link)
            lines = []
            for annotation in by_image.get(str(image["id"]), []):
                try:
                    class_index = index_of[int(annotation["class_id"])]
                except (KeyError, TypeError, ValueError):
                    raise DatasetError(
                        f"annotation of image '{image['id']}' names unknown class {annotation.get('class_id')!r}"
                    ) from None
                line = _yolo_line(annotation, class_index, width, height, task == "segmentation")
                if line is not None:
                    lines.append(line)
            stem = os.path.splitext(parts[-1])[0]
            label = os.path.join(out, "labels", split, *parts[:-1], stem + ".txt")
            os.makedirs(os.path.dirname(label), exist_ok=True)
            with open(label, "w", encoding="utf-8") as handle:
                handle.write("".join(line + "\n" for line in lines))

    yaml_lines = [
        "# YOLO dataset written by keynet_sdk.create_data_yaml",
        f"path: {_yaml_str(out)}",
        "train: images/train",
        "val: " + ("images/val" if split_images["val"] else "images/train"),
    ]
    if split_images["test"]:
        yaml_lines.append("test: images/test")
    yaml_lines.append(f"nc: {len(classes)}")
    if classes:
        yaml_lines.append("names:")
        yaml_lines.extend(f"  {index}: {_yaml_str(name)}" for index, (_, name) in enumerate(classes))
    else:
        yaml_lines.append("names: {}")
    path = os.path.join(out, "data.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(yaml_lines) + "\n")
    return path


def _folder_name(name: str, class_id: int) -> str:
    cleaned = name.replace("/", "_").replace("\\", "_").replace(os.sep, "_").strip()
    if cleaned in ("", ".", ".."):
        cleaned = f"class_{class_id}"
    return cleaned


def to_image_folder(
    dataset_dir: str,
    out_dir: str,
    task_type: Optional[str] = "classification",
    link: bool = True,
) -> str:
    """Convert DICE classification to ``out_dir/<split>/<class name>/<image>`` and return ``out_dir``.

    An image goes to the class of its first annotation; unlabelled images are skipped.
    Nested file names are flattened (``a/b.jpg`` → ``a__b.jpg``). Class folders use the
    class names (``/`` replaced by ``_``); ``out_dir/classes.txt`` lists them in class-id
    order. Images are symlinked, or copied when ``link`` is false or links fail.
    """
    out = _check_out_dir(dataset_dir, out_dir)
    annotations = load_annotations(dataset_dir, task_type or "classification")
    splits = load_splits(dataset_dir)
    classes = _classes(annotations)
    folders: Dict[int, str] = {}
    used = set()
    for class_id, name in classes:
        folder = _folder_name(name, class_id)
        if folder in used:
            folder = f"{folder}_{class_id}"
        used.add(folder)
        folders[class_id] = folder
    images = _images_by_id(annotations)
    by_image = _annotations_by_image(annotations)
    split_images = _split_images(splits, images)

    for split in SPLITS:
        _remove_tree(os.path.join(out, split))
        taken = set()
        for image in split_images[split]:
            labels = by_image.get(str(image["id"]), [])
            if not labels:
                continue
            try:
                folder = folders[int(labels[0]["class_id"])]
            except (KeyError, TypeError, ValueError):
                raise DatasetError(
                    f"annotation of image '{image['id']}' names unknown class {labels[0].get('class_id')!r}"
                ) from None
            source = _source_image(dataset_dir, image)
            name = str(image["file_name"]).replace("\\", "/").lstrip("/").replace("/", "__")
            if (folder, name) in taken:
                name = f"{image['id']}__{name}".replace("/", "__")
            taken.add((folder, name))
            _place(source, os.path.join(out, split, folder, name), link)

    with open(os.path.join(out, "classes.txt"), "w", encoding="utf-8") as handle:
        handle.write("".join(folders[class_id] + "\n" for class_id, _ in classes))
    return out
