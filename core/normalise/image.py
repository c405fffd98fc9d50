"""IMAGE: a file path, bytes, a PIL image or an HxW[xC] array, checked by content."""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import InvalidLogError, LogDataTypeError
from ..records import ImagePayload
from .numbers import as_array, describe

CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp", "BMP": "image/bmp"}
META_KEYS = ("filename", "content_type", "width", "height", "size", "sha256")
MAX_IMAGE_BYTES = 64 * 1024 * 1024
# Width x height: a small compressed file can decode to gigabytes (browsers and PIL alike).
MAX_IMAGE_PIXELS = int(os.environ.get("TRACKBOARD_MAX_IMAGE_PIXELS", 64_000_000))


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - depends on the install
        raise LogDataTypeError("IMAGE logs need Pillow: pip install 'trackboard[images]'") from None
    return Image


def normalise_image(data: Any, name: str) -> ImagePayload:
    """Bytes and metadata of an image; an already-stored image's metadata is accepted back."""
    if isinstance(data, Mapping):
        return ImagePayload(_stored_meta(data), None)
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise InvalidLogError(f"no image file at {str(path)!r}")
        return image_payload(path.read_bytes(), path.name)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return image_payload(bytes(data), None, default_stem=name)
    array = as_array(data)
    if array is not None:
        return image_payload(_png(_array_image(array)), None, default_stem=name)
    if type(data).__module__.startswith("PIL."):
        return image_payload(_png(data), None, default_stem=name)
    raise LogDataTypeError(
        f"an IMAGE must be a file path, bytes, a PIL image or an HxW[xC] array, got {describe(data)}"
    )


def image_payload(content: bytes, filename: str | None, default_stem: str = "image") -> ImagePayload:
    """Check that ``content`` is an image (by its bytes, not its name) and describe it."""
    if len(content) > MAX_IMAGE_BYTES:
        raise InvalidLogError(f"the image is {len(content)} bytes; at most {MAX_IMAGE_BYTES} are accepted")
    Image = _pil()
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            fmt, (width, height) = image.format, image.size
    except Exception as error:
        raise InvalidLogError(f"the content is not a readable image ({error.__class__.__name__}: {error})") from None
    if width * height > MAX_IMAGE_PIXELS:
        raise InvalidLogError(f"the image is {width} x {height} pixels; at most {MAX_IMAGE_PIXELS} pixels are accepted "
                              "(TRACKBOARD_MAX_IMAGE_PIXELS)")
    if fmt not in CONTENT_TYPES:
        raise InvalidLogError(f"{fmt} images are not supported; use one of {sorted(CONTENT_TYPES)}")
    if filename is None:
        filename = f"{_safe_stem(default_stem)}.{'jpg' if fmt == 'JPEG' else fmt.lower()}"
    meta = {
        "filename": filename,
        "content_type": CONTENT_TYPES[fmt],
        "width": int(width),
        "height": int(height),
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    return ImagePayload(meta, content)


def _stored_meta(data: Mapping) -> dict[str, Any]:
    missing = [key for key in META_KEYS if key not in data]
    if missing:
        raise InvalidLogError(
            f"a mapping is accepted only as the metadata of a stored image; missing {missing}"
        )
    sha = data["sha256"]
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise InvalidLogError(f"'sha256' must be 64 lowercase hex digits, got {sha!r}")
    return {key: data[key] for key in META_KEYS}


def _safe_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "image"


def _array_image(array: np.ndarray):
    Image = _pil()
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise InvalidLogError(f"an image array must be HxW, HxWx1, HxWx3 or HxWx4, got shape {array.shape}")
    if array.dtype.kind == "f":
        array = np.clip(np.nan_to_num(array) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif array.dtype.kind == "b":
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))


def _png(image) -> bytes:
    if image.width == 0 or image.height == 0:
        raise InvalidLogError(f"the image is empty ({image.width}x{image.height})")
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB" if len(image.getbands()) >= 3 else "L")
    buffer = io.BytesIO()
    try:
        image.save(buffer, format="PNG")
    except (OSError, ValueError) as error:
        raise InvalidLogError(f"the image cannot be encoded as PNG ({error})") from None
    return buffer.getvalue()
