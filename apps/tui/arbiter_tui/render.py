"""Video frames to terminal cells: half blocks (``▀``) in true colour, two pixels a cell.

Everything here is pure and thread-safe: the app calls :func:`frame_to_rows` in a worker
thread, so the event loop never waits for scaling or for building the styled segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

__all__ = ["Pixels", "VideoRows", "fit_size", "frame_to_rows", "downscale", "rows_from_pixels"]

Pixels = npt.NDArray[np.uint8]
"An ``(height, width, 3)`` RGB image."

UPPER_HALF = "\u2580"
BLACK = (0, 0, 0)


@dataclass(frozen=True)
class VideoRows:
    """One rendered frame: ``rows`` strips, each exactly ``width`` cells wide."""

    width: int
    height: int
    strips: tuple[Strip, ...]


def fit_size(src_w: int, src_h: int, cols: int, rows: int) -> tuple[int, int]:
    """The largest ``(width, height)`` in pixels with the source's aspect that fits in
    ``cols`` x ``rows`` cells (a cell is one pixel wide and two pixels high). The height
    is even, so every cell gets a top and a bottom pixel."""
    if src_w <= 0 or src_h <= 0 or cols <= 0 or rows <= 0:
        return (0, 0)
    box_w, box_h = cols, rows * 2
    scale = min(box_w / src_w, box_h / src_h)
    width = max(1, min(box_w, round(src_w * scale)))
    height = max(2, min(box_h, round(src_h * scale)))
    return (width, height - height % 2)


def downscale(image: Pixels, width: int, height: int) -> Pixels:
    """Resize ``image`` to ``(height, width)`` by averaging the source pixels that fall in
    each target pixel (nearest neighbour when enlarging)."""
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return image
    ys = np.linspace(0, src_h, height + 1).astype(np.intp)
    xs = np.linspace(0, src_w, width + 1).astype(np.intp)
    if src_h >= height and src_w >= width:
        wide = image.astype(np.uint32)
        summed = np.add.reduceat(np.add.reduceat(wide, ys[:-1], axis=0), xs[:-1], axis=1)
        counts = np.outer(np.diff(ys), np.diff(xs))[:, :, None]
        averaged: Pixels = (summed // np.maximum(counts, 1)).astype(np.uint8)
        return averaged
    row_idx = np.minimum(ys[:-1], src_h - 1)
    col_idx = np.minimum(xs[:-1], src_w - 1)
    sampled: Pixels = image[row_idx][:, col_idx]
    return sampled


@lru_cache(maxsize=8192)
def _style(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Style:
    return Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom))


_PAD = Style(bgcolor=Color.from_rgb(*BLACK))


def rows_from_pixels(pixels: Pixels, cols: int, rows: int) -> VideoRows:
    """Half-block strips for ``pixels`` (even height), centred in ``cols`` x ``rows`` cells
    on black. Runs of identical cells share one segment."""
    height, width = pixels.shape[:2]
    cells_h = height // 2
    left = max(0, (cols - width) // 2)
    right = max(0, cols - width - left)
    top_pad = max(0, (rows - cells_h) // 2)
    blank = Strip([Segment(" " * cols, _PAD)], cols)
    strips: list[Strip] = [blank] * top_pad
    for y in range(cells_h):
        pair = np.concatenate((pixels[2 * y], pixels[2 * y + 1]), axis=1)  # (width, 6)
        change = np.flatnonzero(np.any(pair[1:] != pair[:-1], axis=1)) + 1
        starts = [0, *change.tolist()]
        ends = [*change.tolist(), width]
        values = pair[starts].tolist()
        segments: list[Segment] = []
        if left:
            segments.append(Segment(" " * left, _PAD))
        for start, end, v in zip(starts, ends, values, strict=True):
            style = _style((v[0], v[1], v[2]), (v[3], v[4], v[5]))
            segments.append(Segment(UPPER_HALF * (end - start), style))
        if right:
            segments.append(Segment(" " * right, _PAD))
        strips.append(Strip(segments, cols))
    strips.extend([blank] * max(0, rows - len(strips)))
    return VideoRows(cols, rows, tuple(strips[:rows]))


def frame_to_rows(image: Pixels, cols: int, rows: int) -> VideoRows:
    """Scale an RGB frame to fit ``cols`` x ``rows`` cells and render it (see
    :func:`rows_from_pixels`). Call it off the event loop: it costs a few milliseconds."""
    src_h, src_w = image.shape[:2]
    width, height = fit_size(src_w, src_h, cols, rows)
    if width == 0 or height == 0:
        return VideoRows(cols, rows, ())
    return rows_from_pixels(downscale(image, width, height), cols, rows)
