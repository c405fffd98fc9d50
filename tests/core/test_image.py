"""IMAGE: a path, bytes, a PIL image or an array; checked by content, stored content-addressed."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
import torch
from PIL import Image, features

from tbhelpers import assert_refused, assert_same, image_bytes
from trackboard import LogType
from trackboard.errors import InvalidLogError, TrackboardError

META_KEYS = {"filename", "content_type", "width", "height", "size", "sha256"}


def blob_files(store_dir):
    root = store_dir / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")) if root.exists() else []


def test_png_file_path(experiment, tmp_path, store_dir):
    content = image_bytes("PNG", size=(7, 5))
    path = tmp_path / "sample.png"
    path.write_bytes(content)
    experiment.log("sample", str(path), LogType.IMAGE)
    log = experiment.get_log("sample")
    assert log.type is LogType.IMAGE
    sha = hashlib.sha256(content).hexdigest()
    assert log.data == {"filename": "sample.png", "content_type": "image/png", "width": 7, "height": 5,
                        "size": len(content), "sha256": sha}
    assert log.read_bytes() == content
    # Content-addressed: the blob is named by its digest.
    assert [p.name for p in blob_files(store_dir)] == [sha]


def test_pathlib_path_and_download(experiment, tmp_path):
    content = image_bytes("JPEG", size=(3, 4))
    path = tmp_path / "photo.jpeg"
    path.write_bytes(content)
    experiment.log("photo", path, "image")
    log = experiment.get_log("photo")
    assert log.data["content_type"] == "image/jpeg" and log.data["filename"] == "photo.jpeg"
    target = log.download(tmp_path / "out")
    assert target.read_bytes() == content


@pytest.mark.parametrize("fmt, content_type, ext", [
    ("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("GIF", "image/gif", "gif"),
    ("BMP", "image/bmp", "bmp"),
    pytest.param("WEBP", "image/webp", "webp",
                 marks=pytest.mark.skipif(not features.check("webp"), reason="Pillow without WebP")),
])
def test_bytes_of_each_format(experiment, fmt, content_type, ext):
    content = image_bytes(fmt, size=(6, 2))
    experiment.log("img/one", content, "image")
    log = experiment.get_log("img/one")
    assert log.data["content_type"] == content_type
    assert log.data["filename"].endswith("." + ext)
    assert (log.data["width"], log.data["height"]) == (6, 2)
    assert log.read_bytes() == content


def test_bytearray_and_memoryview(experiment):
    content = image_bytes()
    experiment.log("a", bytearray(content), "image")
    experiment.log("b", memoryview(content), "image")
    assert experiment.get_log("a").read_bytes() == content
    assert experiment.get_log("b").read_bytes() == content


def test_type_is_decided_by_content_not_name(experiment, tmp_path):
    jpeg = tmp_path / "actually_jpeg.png"
    jpeg.write_bytes(image_bytes("JPEG"))
    experiment.log("j", jpeg, "image")
    assert experiment.get_log("j").data["content_type"] == "image/jpeg"


def test_png_name_on_non_image_bytes_is_refused(experiment, tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"this is not a png at all")
    error = assert_refused(experiment, "fake", str(fake), "IMAGE", error=InvalidLogError)
    assert "image" in str(error).lower()


def test_pil_image(experiment):
    image = Image.new("RGB", (4, 3), (1, 2, 3))
    experiment.log("pil", image, "image")
    log = experiment.get_log("pil")
    assert log.data["content_type"] == "image/png"
    assert (log.data["width"], log.data["height"]) == (4, 3)
    with Image.open(io.BytesIO(log.read_bytes())) as back:
        assert back.getpixel((0, 0)) == (1, 2, 3)


@pytest.mark.parametrize("array, shape", [
    (np.zeros((5, 4), dtype=np.uint8), (4, 5)),
    (np.full((5, 4, 1), 9, dtype=np.uint8), (4, 5)),
    (np.zeros((2, 3, 3), dtype=np.uint8), (3, 2)),
    (np.zeros((2, 3, 4), dtype=np.uint8), (3, 2)),
    (np.linspace(0, 1, 12).reshape(3, 4), (4, 3)),
    (np.array([[True, False]]), (2, 1)),
    (np.array([[-5, 300]], dtype=np.int32), (2, 1)),
    (torch.zeros(3, 2, 3, dtype=torch.uint8), (2, 3)),
    (torch.rand(2, 2), (2, 2)),
], ids=["HxW", "HxWx1", "HxWx3", "HxWx4", "float", "bool", "int-clipped", "torch-uint8", "torch-float"])
def test_arrays(experiment, array, shape):
    experiment.log("arr", array, "image")
    data = experiment.get_log("arr").data
    assert (data["width"], data["height"]) == shape
    assert data["content_type"] == "image/png"
    assert data["filename"] == "arr.png"


def test_float_array_is_scaled_from_unit_range(experiment):
    experiment.log("f", np.array([[0.0, 1.0]]), "image")
    with Image.open(io.BytesIO(experiment.get_log("f").read_bytes())) as back:
        assert back.getpixel((0, 0)) == 0 and back.getpixel((1, 0)) == 255


def test_default_filename_is_made_safe(experiment):
    experiment.log("val/sample 1", image_bytes("PNG"), "image")
    assert experiment.get_log("val/sample 1").data["filename"] == "val_sample_1.png"


def test_same_content_is_stored_once(experiment, store_dir, tmp_path):
    content = image_bytes()
    experiment.log("a", content, "image")
    experiment.log("b", content, "image")
    path = tmp_path / "c.png"
    path.write_bytes(content)
    experiment.log("c", path, "image")
    experiment.flush()
    assert len(blob_files(store_dir)) == 1
    assert experiment.get_log("a").data["sha256"] == experiment.get_log("c").data["sha256"]


def test_latest_wins(experiment):
    first, second = image_bytes(color=(1, 1, 1)), image_bytes(color=(2, 2, 2))
    experiment.log("img", first, "image")
    experiment.log("img", second, "image")
    assert experiment.get_log("img").read_bytes() == second


def test_roundtrip_of_metadata(experiment):
    experiment.log("img", image_bytes(), "image")
    meta = experiment.get_log("img").data
    assert set(meta) == META_KEYS
    experiment.log("img", meta, "image", replace=True)
    experiment.log("copy", meta, "image")
    assert_same(experiment.get_log("img").data, meta)
    assert_same(experiment.get_log("copy").data, meta)
    assert experiment.get_log("copy").read_bytes() == experiment.get_log("img").read_bytes()


def test_read_bytes_of_a_non_image_log(experiment):
    experiment.log("v", 1, "value")
    with pytest.raises(TypeError):
        experiment.get_log("v").read_bytes()


class Opaque:
    pass


def tiff_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="TIFF")
    return buffer.getvalue()


REFUSED = {
    "none": None,
    "number": 3,
    "list": [1, 2],
    "object": Opaque(),
    "missing file": "/definitely/not/here.png",
    "a directory": "/",
    "non-image bytes": b"GIF89a but not really",
    "empty bytes": b"",
    "truncated png": image_bytes()[:40],
    "tiff": tiff_bytes(),
    "1-d array": np.zeros(5, dtype=np.uint8),
    "HxWx2 array": np.zeros((2, 2, 2), dtype=np.uint8),
    "4-d array": np.zeros((1, 2, 2, 3), dtype=np.uint8),
    "mapping missing keys": {"sha256": "0" * 64},
    "mapping bad digest": {"filename": "a.png", "content_type": "image/png", "width": 1, "height": 1,
                           "size": 1, "sha256": "not-a-digest"},
    "mapping unknown digest": {"filename": "a.png", "content_type": "image/png", "width": 1, "height": 1,
                               "size": 1, "sha256": "ab" * 32},
}


@pytest.mark.parametrize("data", list(REFUSED.values()), ids=list(REFUSED))
def test_refused(experiment, data):
    assert_refused(experiment, "img", data, "IMAGE")


def test_refusal_keeps_the_previous_image(experiment):
    content = image_bytes()
    experiment.log("img", content, "image")
    assert_refused(experiment, "img", b"not an image", "IMAGE")
    assert experiment.get_log("img").read_bytes() == content


@pytest.mark.parametrize("make", [
    lambda: Image.new("F", (3, 3)),
    lambda: np.zeros((0, 0), dtype=np.uint8),
    lambda: np.zeros((0, 4, 3), dtype=np.uint8),
], ids=["PIL mode F", "0x0 array", "0xW array"])
def test_unencodable_images_are_logged_or_refused_cleanly(experiment, make):
    """Every input is either stored or refused with a trackboard error (never OSError/ValueError from Pillow)."""
    try:
        experiment.log("odd", make(), "image")
    except TrackboardError as error:
        assert "IMAGE" in str(error) and "'odd'" in str(error)
        return
    assert experiment.get_log("odd").read_bytes()
