"""Sanity measures of a PNG: size, how much of it is not background, how many colors it uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import image


@dataclass(frozen=True)
class ImageStats:
    width: int
    height: int
    ink: float  # fraction of pixels that are not (near) white
    colors: int  # distinct RGB colors

    def looks_drawn(self) -> bool:
        """Not blank: a real chart or page has some ink and more than a handful of colors (antialiasing)."""
        return self.ink > 0.01 and self.colors > 32


def image_stats(png: Path) -> ImageStats:
    pixels = np.asarray(image.imread(png))
    assert pixels.ndim == 3, f"{png}: not an RGB(A) image"
    rgb = pixels[..., :3]
    if rgb.dtype != np.uint8:
        rgb = (rgb * 255).round().astype(np.uint8)
    ink = float((rgb < 243).any(axis=-1).mean())
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    colors = int(np.unique(packed).size)
    return ImageStats(width=int(rgb.shape[1]), height=int(rgb.shape[0]), ink=ink, colors=colors)
