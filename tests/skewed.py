"""`python -m tests.skewed SECONDS run ...`: the walkwell command on a host whose clock is off.

bot/clock.py is the one place that reads the wall clock; its `datetime` is replaced by one that
runs SECONDS ahead (or behind), the way a worker on a badly synchronised host would see time.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, tzinfo

import bot.clock
from bot.cli import main

SKEW = timedelta(seconds=float(sys.argv[1]))


class SkewedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> SkewedDatetime:
        real = datetime.now(tz) + SKEW
        return (
            cls.fromtimestamp(real.timestamp(), tz) if tz else cls.fromtimestamp(real.timestamp())
        )


bot.clock.datetime = SkewedDatetime  # type: ignore[misc]
main(sys.argv[2:])
