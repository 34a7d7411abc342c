"""Say *why* OpenCV cannot open a video file: empty, not a video, a container without frames, or a codec it lacks.

OpenCV's ``VideoCapture`` only answers "not opened". Users need to know whether to fix the path, re-export the
recording or convert it, so the first bytes (and the last, where MP4 files often keep their index) are sniffed for
the container and, for MP4/MOV and AVI, the video codec and frame count.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["explain_unopenable", "sniff_container", "image_kind"]

_PROBE_BYTES = 1 << 20
_CONVERT = "convert it, e.g. 'ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4'"


def sniff_container(head: bytes) -> str | None:
    """The container format named by a file's first bytes (``"MP4/MOV"``, ``"AVI"``...), or None if unknown."""
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "MP4/MOV"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "Matroska/WebM"
    if head[:4] == b"OggS":
        return "Ogg"
    if head[:3] == b"FLV":
        return "FLV"
    if head[:4] == b"\x00\x00\x01\xba":
        return "MPEG-PS"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "MPEG-TS"
    if head[:16] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c":
        return "ASF/WMV"
    return None


def image_kind(head: bytes) -> str | None:
    """``"JPEG"``, ``"PNG"``, ``"WebP"`` or ``"BMP"`` when the first bytes are a still image's, else None.

    FFmpeg opens a still image as a one-frame video; a photo passed to ``facemotion video`` is a mistake to report.
    """
    if head[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:2] == b"BM":
        return "BMP"
    return None


def _mp4_codec(data: bytes) -> str | None:
    """The sample-entry fourcc of the first ``stsd`` box (``avc1``, ``mp4v``, ``hvc1``...), if any."""
    at = data.find(b"stsd")
    if at < 0 or len(data) < at + 20:
        return None
    return data[at + 16:at + 20].decode("latin-1")


def _avi_codec_and_frames(data: bytes) -> tuple[str | None, int | None]:
    codec = frames = None
    at = data.find(b"strhvids")
    if at < 0:
        at = data.find(b"vids")
        at = at - 8 if at >= 8 else -1
    if at >= 0 and len(data) >= at + 16:
        codec = data[at + 12:at + 16].decode("latin-1")
    header = data.find(b"avih")
    if header >= 0 and len(data) >= header + 28:
        frames = int.from_bytes(data[header + 24:header + 28], "little")
    return codec, frames


def explain_unopenable(path: Path) -> str:
    """A sentence for a file that exists but that OpenCV would not open, naming what is wrong and what to do."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(_PROBE_BYTES)
            tail = b""
            if size > _PROBE_BYTES:
                handle.seek(max(size - _PROBE_BYTES, _PROBE_BYTES))
                tail = handle.read(_PROBE_BYTES)
    except OSError as exc:
        return f"cannot read the file ({exc.strerror or exc})"
    if size == 0:
        return "the file is empty (0 bytes)"
    image = image_kind(head)
    if image is not None:
        return f"a {image} image, not a video: use 'facemotion predict' for photos"
    container = sniff_container(head)
    if container is None:
        return "not a video: no video container format OpenCV/FFmpeg can read (checked the file's header)"
    data = head + tail
    if container == "MP4/MOV":
        if b"moov" not in data:
            return f"an {container} file without its index (moov box): the recording was cut short or not finalised"
        codec = _mp4_codec(data)
        if codec is None:
            return f"an {container} file with no video track: it holds no frames"
        return f"an {container} file whose video codec {codec!r} this OpenCV/FFmpeg build cannot decode; {_CONVERT}"
    if container == "AVI":
        codec, frames = _avi_codec_and_frames(data)
        if frames == 0:
            return "an AVI file that holds no frames"
        if codec is None:
            return "an AVI file with no video stream"
        return f"an AVI file whose video codec {codec!r} this OpenCV/FFmpeg build cannot decode; {_CONVERT}"
    return (f"a {container} file OpenCV/FFmpeg cannot open: it holds no frames, is damaged, or uses a codec this "
            f"build cannot decode; {_CONVERT}")
