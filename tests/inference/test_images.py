from __future__ import annotations

import tracemalloc
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from facemotion.errors import ImageError
from facemotion.inference.images import IMAGE_FORMATS, load_image
from tests.inference.bad_images import (
    encode,
    eps,
    face_like,
    jpeg_claiming_size,
    jpeg_with_orientation,
    png_claiming_size,
    truncated_jpeg,
)

RGB = face_like()
BGR = RGB[..., ::-1]


def test_array_inputs_bgr_and_rgb() -> None:
    out = load_image(BGR)
    assert out.dtype == np.uint8 and out.shape == (64, 80, 3) and out.flags.c_contiguous
    assert np.array_equal(out, BGR)
    assert np.array_equal(load_image(RGB, channel_order="rgb"), BGR)


def test_path_bytes_and_pil_inputs_agree(tmp_path: Path) -> None:
    data = encode(Image.fromarray(RGB), "PNG")
    path = tmp_path / "image.png"
    path.write_bytes(data)
    for source in (path, str(path), data, bytearray(data), Image.open(path)):
        assert np.array_equal(load_image(source), BGR), type(source)


@pytest.mark.parametrize("array, expected", [
    (np.full((4, 4), 7, np.uint8), 7),                       # grayscale
    (np.full((4, 4, 1), 7, np.uint8), 7),                    # grayscale with a channel axis
    (np.full((4, 4), 7 * 257, np.uint16), 7),                # 16-bit, full range
    (np.full((4, 4, 3), 0.5, np.float32), 128),              # float in [0, 1]
    (np.full((4, 4, 3), 200.0, np.float64), 200),            # float in [0, 255]
    (np.full((4, 4), True), 255),                            # boolean mask
])
def test_array_dtypes_and_layouts(array: np.ndarray, expected: int) -> None:
    out = load_image(array)
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8 and (out == expected).all()


def test_alpha_is_composited_over_white() -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 255          # red
    rgba[0, 0, 3] = 255         # opaque
    rgba[1, 1, 3] = 0           # transparent
    out = load_image(rgba, channel_order="rgb")
    assert out[0, 0].tolist() == [0, 0, 255] and out[1, 1].tolist() == [255, 255, 255]


@pytest.mark.parametrize("array", [np.zeros((4, 4, 2), np.uint8), np.zeros((2, 4, 4, 3), np.uint8),
                                   np.zeros((0, 4, 3), np.uint8), np.zeros((4, 4, 3), np.complex64),
                                   np.full((4, 4), np.nan, np.float32)])
def test_unusable_arrays_are_image_errors(array: np.ndarray) -> None:
    with pytest.raises(ImageError, match="<array"):
        load_image(array)


def test_unsupported_types_and_channel_orders() -> None:
    with pytest.raises(ImageError, match="cannot read an image from int"):
        load_image(42)  # type: ignore[arg-type]
    with pytest.raises(ImageError, match="channel_order"):
        load_image(BGR, channel_order="bgra")  # type: ignore[arg-type]


# --- bad files: each gives an ImageError that names the file ---------------------------------------------------

@pytest.mark.parametrize("case, data, message", [
    ("empty.jpg", b"", "empty"),
    ("notes.jpg", b"hello, I am text\n", "not an image"),
    ("truncated.jpg", truncated_jpeg(), "truncated or corrupt"),
    ("bomb.png", png_claiming_size(30_000, 30_000), "decompression bomb"),   # over Pillow's own hard limit
    ("large.png", png_claiming_size(12_000, 9_000), "over the limit"),        # over ours, under Pillow's
])
def test_bad_files(tmp_path: Path, case: str, data: bytes, message: str) -> None:
    path = tmp_path / case
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no DecompressionBombWarning leaks out
        with pytest.raises(ImageError, match=message) as info:
            load_image(path)
    assert str(path) in str(info.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path)


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    data = encode(Image.fromarray(RGB), "PNG")
    with pytest.raises(ImageError, match="5,120 pixels is over the limit of 1,000"):
        load_image(data, max_pixels=1000)
    assert load_image(data, max_pixels=None).shape == (64, 80, 3)


# --- every Pillow mode comes out as BGR uint8 -------------------------------------------------------------------

def test_16_bit_png_gray_and_color() -> None:
    gray16 = (np.arange(64 * 80, dtype=np.uint32).reshape(64, 80) * 12).astype(np.uint16)
    out = load_image(encode(Image.fromarray(gray16), "PNG"))
    assert out.shape == (64, 80, 3) and np.array_equal(out[..., 0], (gray16 >> 8).astype(np.uint8))
    _, color16 = cv2.imencode(".png", (BGR.astype(np.uint16) * 257))
    assert np.array_equal(load_image(color16.tobytes()), BGR)


def test_rgba_png_over_white() -> None:
    rgba = np.dstack([RGB, np.zeros((64, 80), np.uint8)])
    rgba[:32, :, 3] = 255
    out = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert np.array_equal(out[:32], BGR[:32]) and (out[32:] == 255).all()


def test_palette_with_and_without_transparency() -> None:
    palette = Image.fromarray(RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    plain = load_image(encode(palette, "PNG"))
    assert np.array_equal(plain, np.asarray(palette.convert("RGB"))[..., ::-1])
    index = palette.getpixel((0, 0))
    transparent = load_image(encode(palette, "PNG", transparency=index))
    assert (transparent[0, 0] == 255).all()


def test_cmyk_jpeg() -> None:
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red in CMYK
    b, g, r = load_image(encode(cmyk, "JPEG", quality=100))[4, 4].tolist()
    assert r > 230 and g < 30 and b < 30


@pytest.mark.parametrize("mode", ["L", "1", "LA", "I", "F"])
def test_gray_modes(mode: str) -> None:
    gray = Image.fromarray(RGB[..., 0]).convert(mode)
    fmt = "TIFF" if mode in ("I", "F") else "PNG"
    out = load_image(encode(gray, fmt))
    assert out.shape == (64, 80, 3) and out.dtype == np.uint8
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    if mode in ("L", "LA", "I", "F"):
        assert np.abs(out[..., 0].astype(int) - RGB[..., 0].astype(int)).max() <= 1


@pytest.mark.parametrize("mode", ["La", "RGBa"])
def test_premultiplied_pil_modes(mode: str) -> None:
    """Opaque pixels in Pillow's premultiplied-alpha modes come out as the same grey or colour."""
    image = Image.fromarray(RGB[..., 0]).convert("LA") if mode == "La" else Image.fromarray(RGB).convert("RGBA")
    out = load_image(image.convert(mode))
    assert out.shape == (64, 80, 3) and out.dtype == np.uint8
    expected = np.repeat(RGB[..., :1], 3, axis=2) if mode == "La" else RGB[..., ::-1]
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize("orientation, shape", [(1, (40, 60)), (3, (40, 60)), (6, (60, 40)), (8, (60, 40))])
def test_exif_orientation_is_honoured(orientation: int, shape: tuple[int, int]) -> None:
    out = load_image(jpeg_with_orientation(orientation))
    assert out.shape[:2] == shape
    stored = load_image(jpeg_with_orientation(1))
    if orientation == 3:  # rotated 180 degrees
        assert np.abs(out.astype(int) - stored[::-1, ::-1].astype(int)).mean() < 3
    if orientation == 6:  # stored sideways: displayed rotated 90 degrees clockwise
        assert np.abs(out.astype(int) - np.rot90(stored, k=-1).astype(int)).mean() < 3


def test_first_frame_of_an_animated_gif() -> None:
    frames = [Image.new("RGB", (8, 8), color) for color in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    b, _, r = load_image(data)[0, 0].tolist()
    assert r > 200 and b < 50


# --- hostile files (issue 14, rows 1b and 16): refused before decoding, or decoded in bounded memory ------------

def test_a_jpeg_whose_header_claims_more_pixels_than_its_data_holds_is_refused(tmp_path: Path) -> None:
    """justin.jpg with its header patched to 7000x7000 was accepted as a 7000x7000 image (libjpeg pads with grey)."""
    data = jpeg_claiming_size(encode(Image.fromarray(face_like(384, 381)), "JPEG", quality=90), 7000, 7000)
    path = tmp_path / "patched.jpg"
    path.write_bytes(data)
    with pytest.raises(ImageError, match="truncated or corrupt .*cannot hold the 7000x7000 JPEG") as info:
        load_image(path)
    assert str(path) in str(info.value)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(data)


@pytest.mark.integration
def test_justin_with_a_patched_header_is_refused(media_dir: Path) -> None:
    data = jpeg_claiming_size((media_dir / "justin.jpg").read_bytes(), 7000, 7000)
    with pytest.raises(ImageError, match="cannot hold the 7000x7000 JPEG"):
        load_image(data)


@pytest.mark.parametrize("mode", ["L", "RGB"])
@pytest.mark.parametrize("progressive", [False, True])
def test_the_jpeg_length_check_passes_real_flat_jpegs(mode: str, progressive: bool) -> None:
    """A flat image is the most compressible a JPEG gets; Pillow's smallest still has twice the data required."""
    flat = Image.new(mode, (3000, 2000), 128 if mode == "L" else (120, 130, 140))
    data = encode(flat, "JPEG", quality=10, optimize=True, progressive=progressive)
    assert load_image(data).shape == (2000, 3000, 3)


def test_pillow_truncated_images_stay_refused() -> None:
    from PIL import ImageFile

    import facemotion.inference  # noqa: F401 - importing facemotion must not switch it on

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(truncated_jpeg())


def test_an_eps_file_never_reaches_its_decoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import EpsImagePlugin

    def no_ghostscript(*args: object, **kwargs: object) -> None:
        raise AssertionError("Ghostscript was asked to render an upload")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    path = tmp_path / "upload.jpg"
    path.write_bytes(eps())
    with pytest.raises(ImageError, match="EPS images are not accepted; the formats read are JPEG, PNG") as info:
        load_image(path)
    assert str(path) in str(info.value)
    with pytest.raises(ImageError, match=r"<\d+ bytes>: EPS images are not accepted"):
        load_image(eps())


def test_other_formats_pillow_knows_are_refused_by_name() -> None:
    with pytest.raises(ImageError, match="ICO images are not accepted"):
        load_image(encode(Image.fromarray(RGB), "ICO"))


@pytest.mark.parametrize("fmt", [f for f in IMAGE_FORMATS if f != "DIB"])
def test_every_accepted_format_is_read(fmt: str) -> None:
    out = load_image(encode(Image.fromarray(RGB), fmt, **({"lossless": True} if fmt == "WEBP" else {})))
    assert out.shape == (64, 80, 3)
    if fmt not in ("JPEG", "GIF"):
        assert np.array_equal(out, BGR)


def _peak_bytes_per_pixel(data: bytes, pixels: int) -> float:
    load_image(data)
    tracemalloc.start()
    try:
        load_image(data)
        return tracemalloc.get_traced_memory()[1] / pixels
    finally:
        tracemalloc.stop()


def test_alpha_and_palette_images_decode_without_float_copies() -> None:
    """A 7000x7000 RGBA PNG took 2.7 GB (float copies for the white background, ~50 bytes a pixel) and a 35-byte
    7000x7000 GIF 510 MB; the same conversions at 1000x1000, measured by NumPy's allocations, now stay small."""
    rng = np.random.default_rng(0)
    rgba = np.dstack([np.full((1000, 1000, 3), 200, np.uint8), rng.integers(0, 256, (1000, 1000), dtype=np.uint8)])
    assert _peak_bytes_per_pixel(encode(Image.fromarray(rgba, "RGBA"), "PNG"), 10**6) < 16
    assert _peak_bytes_per_pixel(encode(Image.new("P", (1000, 1000)), "GIF"), 10**6) < 6


def test_palette_images_keep_their_colours() -> None:
    palette = Image.fromarray(RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=200)
    assert np.array_equal(load_image(encode(palette, "GIF")), np.asarray(palette.convert("RGB"))[..., ::-1])


def test_the_formats_decoded_are_the_suffixes_the_command_line_takes() -> None:
    """A photo a folder listing picks up must decode, and a format decoded must have a suffix to be found by."""
    from PIL import Image

    from facemotion.inputs import IMAGE_SUFFIXES

    registered = Image.registered_extensions()
    assert {registered.get(suffix) for suffix in IMAGE_SUFFIXES} == set(IMAGE_FORMATS)
