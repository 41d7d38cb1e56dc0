"""Debian's headless chromium for the report tests: screenshots, the rendered DOM, and reading PNGs."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np

# No network, no first-run work, no sandbox (tests run as root on CI), a throwaway profile per call.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chromium_path() -> str | None:
    """The chromium binary on PATH (`make chromium` installs Debian's), if any."""
    return shutil.which("chromium")


def _run(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """One headless chromium run; a failure shows chromium's own stderr."""
    command = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise AssertionError(f"chromium exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def screenshot(binary: str, page: Path, png: Path, size: tuple[int, int], profile: Path) -> Path:
    """A PNG of `page` rendered in a `size` (width, height) window."""
    _run(binary, profile, f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", page.resolve().as_uri())
    return png


def dump_dom(binary: str, page: Path, profile: Path) -> str:
    """The DOM of `page` after the browser parsed and laid it out, serialised back to HTML."""
    return _run(binary, profile, "--dump-dom", page.resolve().as_uri()).stdout


def png_size(png: Path) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk; AssertionError when the file is not a PNG."""
    head = png.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{png} is not a PNG"
    return struct.unpack(">II", head[16:24])


def png_rgb(png: Path) -> np.ndarray:
    """The PNG's pixels as an (height, width, 3) array of 0-255 integers."""
    from matplotlib.image import imread

    pixels = imread(png)
    return np.rint(pixels[..., :3] * 255).astype(np.int16)


def solid_square(rgb: np.ndarray, colour: str, side: int, tolerance: int = 6) -> bool:
    """Whether a `side` x `side` square of `colour` ("#rrggbb") is somewhere in the image."""
    target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    mask = (np.abs(rgb - target) <= tolerance).all(axis=2).astype(np.int32)
    area = np.pad(mask.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = area[side:, side:] - area[:-side, side:] - area[side:, :-side] + area[:-side, :-side]
    return bool((sums == side * side).any())
