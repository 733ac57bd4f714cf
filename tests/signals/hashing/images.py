"""Deterministic test pictures: smooth shapes and gradients, no randomness (numpy arithmetic)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def picture(width: int = 480, height: int = 360, variant: int = 0) -> np.ndarray:
    """An RGB picture with structure at several scales (a stand-in for a photo)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / width, y / height
    k = 1 + variant
    red = 128 + 100 * np.sin(2 * np.pi * (2.0 * k * u + 0.5 * v))
    green = 128 + 90 * np.cos(2 * np.pi * (1.5 * v * k - u)) * np.sin(np.pi * u * 3)
    blue = 255 * ((u - 0.3) ** 2 + (v - 0.6 + 0.1 * variant) ** 2 < 0.05)
    blue = blue + 60 * np.sin(7 * np.pi * u * v * k)
    return np.clip(np.stack([red, green, blue], axis=2), 0, 255).astype(np.uint8)


def encode(pixels: np.ndarray, fmt: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt, **options)
    return out.getvalue()
