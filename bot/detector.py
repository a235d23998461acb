"""The red-flag detector the bot runs: the lexicon at once, the learned layer once it is loaded.

``Detector.assess`` is what the safety handler awaits for every text. It runs the lexicon
(``bot.triage``) and, once ``start()`` has loaded them in the background, the encoder and the
learned layer (``bot.triage_model``) in one worker thread, so the event loop stays free. Until
then, or if the weights or the encoder cannot load (logged once), the lexicon answers alone:
the bot never waits for the layer to start.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from bot.encoder import Encoder, load_encoder
from bot.triage import Assessment, assess
from bot.triage_model import RANK, Model, decide, shipped_model

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"^\s*/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")


def lexicon_everywhere(text: str, languages: Sequence[str]) -> Assessment:
    """The most serious reading of the text in every language WalkWell speaks.

    People write in the language they think in, whatever their Telegram client is set to.
    ``assess`` always runs the English lexicon too, so English alone would be work done twice.
    """
    readings = [assess(text, lang) for lang in languages if lang != "en"] or [assess(text, "en")]
    return max(readings, key=lambda a: (RANK[a.tier], a.crisis, a.confirm is not None, a.question))


@dataclass
class Detector:
    """The lexicon plus, when loaded, the learned layer."""

    model: Model | None = None
    encoder: Encoder | None = None
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="triage")
    )
    _loading: asyncio.Future[None] | None = None

    @property
    def layer_ready(self) -> bool:
        return self.model is not None

    @property
    def mode(self) -> str:
        if self.model is None:
            return "lexicon"
        return "lexicon+ngrams+embeddings" if self._uses_embeddings else "lexicon+ngrams"

    @property
    def _uses_embeddings(self) -> bool:
        return (
            self.model is not None
            and self.encoder is not None
            and self.model.tier.w_emb is not None
            and self.model.encoder == self.encoder.name
        )

    # ---------------------------------------------------------------------------- loading

    @classmethod
    def load_sync(
        cls, embeddings: bool = True, languages: Sequence[str] = ("en", "de")
    ) -> Detector:
        detector = cls()
        detector._load(embeddings, tuple(languages))
        return detector

    def _load(self, embeddings: bool, languages: tuple[str, ...], layer: bool = True) -> None:
        started = time.perf_counter()
        lexicon_everywhere("warm up", languages)  # compile every lexicon before the first person
        if not layer:
            return
        try:
            model = shipped_model()  # one per process: read-only arrays
        except (OSError, ValueError, KeyError) as exc:
            log.error("red-flag layer: weights unavailable (%s); the lexicon answers alone", exc)
            return
        encoder = load_encoder(model.encoder) if embeddings and model.encoder else None
        self.encoder = encoder
        self.model = model
        self.assess_sync("warm up the layer", languages)  # the first person does not pay for it
        log.info("red-flag layer ready (%s) in %.2f s", self.mode, time.perf_counter() - started)

    def start(
        self, languages: Sequence[str], *, layer: bool = True, embeddings: bool = True
    ) -> None:
        """Compile the lexicons and load the layer in the background; meanwhile the lexicon
        answers (compiling itself on first use if it has to)."""
        if self._loading is None:
            loop = asyncio.get_running_loop()
            self._loading = asyncio.ensure_future(
                loop.run_in_executor(self._pool, self._load, embeddings, tuple(languages), layer)
            )

    async def ready(self) -> None:
        """Wait until loading has finished (successfully or not)."""
        if self._loading is not None:
            await self._loading

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ---------------------------------------------------------------------------- assessing

    def assess_sync(self, text: str, languages: Sequence[str]) -> Assessment:
        lexicon = lexicon_everywhere(text, languages)
        model = self.model
        words = _COMMAND.sub("", text, count=1)  # "/pain 8 ...": the layer reads what follows
        if model is None or not model.reads(words):
            return lexicon
        embeddings: list[np.ndarray | None] | None = None
        if self._uses_embeddings and self.encoder is not None:
            embeddings = list(self.encoder.encode(model.texts(words)))
        return decide(lexicon, model.score(words, lexicon, embeddings), model.bars)

    async def assess(self, text: str, languages: Sequence[str]) -> Assessment:
        """Assess one message off the event loop (the lexicon alone while the layer loads)."""
        if self.model is None:
            return lexicon_everywhere(text, languages)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.assess_sync, text, tuple(languages))
