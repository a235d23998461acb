"""python-telegram-bot's networking on aiohttp instead of httpx.

PTB sends every Bot API call through a `BaseRequest`; its default, `HTTPXRequest`, spends about
two thirds of a send's CPU time inside httpx and httpcore. aiohttp (already here for the health
and webhook server) does the same work in a fraction of that, which is what lets one core send
over 1 000 messages a second. Everything above the wire (methods, objects, errors, rate
handling) stays python-telegram-bot's own.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_DEFAULT = BaseRequest.DEFAULT_NONE
# C0 and C1 control characters and DEL, except tab and newline. PostgreSQL cannot store NUL in
# text, and nothing a person types needs the others.
_CONTROL = {c: None for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}


class NotSent(NetworkError):
    """The request never reached Telegram (no connection, or none within the connect timeout):
    safe to send again."""


class ServerError(NetworkError):
    """Telegram answered 5xx: it did not take the message; safe to send again later."""


class AnswerLost(TimedOut):
    """The request left but its answer never came: Telegram may or may not have delivered it."""


def strip_control(value: Any) -> Any:
    """Every string in a decoded JSON value without control characters (tab and newline stay)."""
    if isinstance(value, str):
        return value.translate(_CONTROL)
    if isinstance(value, dict):
        return {key: strip_control(item) for key, item in value.items()}
    if isinstance(value, list):
        return [strip_control(item) for item in value]
    return value


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded connection pool; PTB's timeouts mapped onto aiohttp's."""

    def __init__(
        self,
        *,
        pool_size: int = 64,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        write_timeout: float = 5.0,
        pool_timeout: float = 1.0,
        media_write_timeout: float = 20.0,
    ) -> None:
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                # Not trust_env: its proxy lookup on every request halves the send rate.
                trust_env=False,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = _DEFAULT,
        write_timeout: object = _DEFAULT,
        connect_timeout: object = _DEFAULT,
        pool_timeout: object = _DEFAULT,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data is not None and request_data.contains_files
        read = _value(read_timeout, self._read_timeout)
        write = _value(write_timeout, self._media_write_timeout if files else self._write_timeout)
        connect = _value(connect_timeout, self._connect_timeout)
        pool = _value(pool_timeout, self._pool_timeout)
        # aiohttp has no separate write timeout: the whole exchange may take write + read.
        total = None if read is None or write is None else read + write + (connect or 0.0)
        timeout = aiohttp.ClientTimeout(
            total=total, connect=pool, sock_connect=connect, sock_read=read
        )
        data: aiohttp.FormData | bytes | None = None
        headers = None
        if request_data is not None:
            if files:
                data = aiohttp.FormData(request_data.json_parameters)
                for name, (filename, content, mime) in request_data.multipart_data.items():
                    data.add_field(name, content, filename=filename, content_type=mime)
            else:
                data = request_data.json_payload
                headers = {"Content-Type": "application/json"}
        # The class name only in errors: some aiohttp errors quote the URL, which holds the token.
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as err:
            raise NotSent(f"not sent: aiohttp.{type(err).__name__}") from err
        except TimeoutError as err:
            raise AnswerLost("no answer in time") from err
        except aiohttp.ClientError as err:  # the connection broke mid-request: outcome unknown
            raise NetworkError(f"aiohttp.{type(err).__name__}") from err
        if status >= 500:
            raise ServerError(f"Telegram answered {status}")
        return status, body


class UpdatesRequest(AiohttpRequest):
    """The request for getUpdates: what people send is cleaned of control characters at the
    edge, before any handler, database or log sees it."""

    def parse_json_payload(self, payload: bytes) -> Any:  # type: ignore[override]
        return strip_control(super().parse_json_payload(payload))


def clean_update_json(raw: bytes | str) -> Any:
    """A webhook body, decoded and cleaned the same way."""
    return strip_control(json.loads(raw))


def _value(given: object, default: float | None) -> float | None:
    if isinstance(given, type(_DEFAULT)):
        return default
    return given  # type: ignore[return-value]
