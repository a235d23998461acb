"""The stand: a strict fake Telegram Bot API server for WalkWell's tests and `walkwell try`.

A real HTTP server (aiohttp) on 127.0.0.1 that answers ``{base}/bot{token}/{method}`` the way
Telegram does, so the bot under test runs unmodified with ``base_url = stand.base_url``.

Three faces:

* **the Bot API** for the bot: getMe, getUpdates (long polling), webhooks, commands, sending,
  editing, deleting, pinning, callback answers; strict 400/401/403/404/409/429 answers with
  Telegram's own descriptions;
* **the person side** for tests: people and groups who send text, commands, locations, stickers,
  photos and voice notes, edit their messages, tap inline buttons and block the bot;
* **the record** of what the bot did: a transcript per chat, every API call, answered callbacks,
  the command list and the webhook, plus event-driven waits (no polling sleeps).

Waiting is event-driven: every change swaps a fresh ``asyncio.Event`` in and sets the old one,
so waiters wake on the next change. Unlike ``asyncio.Condition`` this can be signalled from
plain (non-async) methods such as :meth:`Stand.block`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import math
import re
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_TOKEN = "123456:TEST-TOKEN-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

# Update types Telegram sends when allowed_updates is not given or is an empty list.
_ALL_UPDATE_TYPES = frozenset(
    [
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    ]
)
_DEFAULT_UPDATE_TYPES = _ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
_CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_INT_FIELDS = frozenset(
    [
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "max_connections",
        "message_thread_id",
        "cache_time",
        "from_chat_id",
    ]
)
_BOOL_FIELDS = frozenset(
    [
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
    ]
)
_JSON_FIELDS = {
    "reply_markup": "reply keyboard markup",
    "entities": "entities",
    "caption_entities": "caption entities",
    "allowed_updates": "allowed updates",
    "commands": "commands",
    "scope": "scope",
    "link_preview_options": "link preview options",
    "reply_parameters": "reply parameters",
}
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,})?$")
_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


# --------------------------------------------------------------------------------------------
# Telegram-flavoured HTML


class EntityParseError(ValueError):
    """Raised by :func:`parse_html` with Telegram's own wording of the problem."""


_HTML_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_DECIMAL_RE = re.compile(r"#([0-9]{1,8})")
_HEX_RE = re.compile(r"#[xX]([0-9a-fA-F]{1,8})")


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_html_entity(text: str, index: int) -> tuple[str, int] | None:
    """Decode the entity starting at ``text[index] == '&'``; None if Telegram would keep the '&'."""
    end = text.find(";", index + 1, index + 12)
    if end == -1:
        return None
    body = text[index + 1 : end]
    if body in _NAMED_HTML_ENTITIES:
        return _NAMED_HTML_ENTITIES[body], end + 1
    if match := _DECIMAL_RE.fullmatch(body):
        code = int(match.group(1))
    elif match := _HEX_RE.fullmatch(body):
        code = int(match.group(1), 16)
    else:
        return None
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end + 1


@dataclass
class _OpenTag:
    name: str
    begin: int
    offset: int
    attributes: dict[str, str]


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into plain text and entities (UTF-16 offsets), strict like Telegram."""
    out: list[str] = []
    position = 0  # UTF-16 units emitted so far
    entities: list[JSON] = []
    stack: list[_OpenTag] = []
    n = len(text)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal position
        out.append(chunk)
        position += utf16_len(chunk)

    def fail(message: str) -> EntityParseError:
        return EntityParseError(message)

    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is None:
                emit("&")
                i += 1
            else:
                emit(decoded[0])
                i = decoded[1]
            continue
        if char != "<":
            emit(char)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            i += 1
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            name_start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            end_name = text[name_start:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise fail(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            tag = stack.pop()
            if end_name and end_name != tag.name:
                raise fail(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag.name}>", found "</{end_name}>"'
                )
            entity = _entity_for(tag, position)
            if entity is not None:
                entities.append(entity)
            continue
        name_start = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise fail(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        name = text[name_start:i].lower()
        if name not in _HTML_TAGS:
            raise fail(f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}')
        attributes: dict[str, str] = {}
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[i] == ">":
                i += 1
                break
            attr_start = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attr_name = text[attr_start:i].lower()
            if not attr_name:
                raise fail(
                    f'Empty attribute name in the tag "{name}" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            while i < n and text[i].isspace():
                i += 1
            if name == "blockquote" and attr_name == "expandable" and (i >= n or text[i] != "="):
                attributes[attr_name] = ""
                continue
            if i >= n or text[i] != "=":
                raise fail(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise fail(
                    f'Unclosed start tag "{name}" at byte offset {_byte_offset(text, begin)}'
                )
            if text[i] in "'\"":
                quote = text[i]
                i += 1
                value: list[str] = []
                while i < n and text[i] != quote:
                    decoded = _decode_html_entity(text, i) if text[i] == "&" else None
                    if decoded is None:
                        value.append(text[i])
                        i += 1
                    else:
                        value.append(decoded[0])
                        i = decoded[1]
                if i < n:
                    i += 1
                attributes[attr_name] = "".join(value)
            else:
                token_start = i
                while i < n and text[i].isascii() and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                if i >= n or (not text[i].isspace() and text[i] != ">"):
                    raise fail(
                        f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}"
                    )
                attributes[attr_name] = text[token_start:i].lower()
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise fail(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
            )
        stack.append(_OpenTag(name=name, begin=begin, offset=position, attributes=attributes))
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _entity_for(tag: _OpenTag, end: int) -> JSON | None:
    length = end - tag.offset
    if length <= 0:
        return None
    kind = _HTML_TAGS[tag.name]
    entity: JSON = {"type": kind, "offset": tag.offset, "length": length}
    if kind == "text_link":
        url = tag.attributes.get("href", "")
        if not url:
            return None
        entity["url"] = url
    elif kind == "custom_emoji":
        emoji_id = tag.attributes.get("emoji-id", "")
        if not emoji_id:
            return None
        entity["custom_emoji_id"] = emoji_id
    elif kind == "blockquote" and "expandable" in tag.attributes:
        entity["type"] = "expandable_blockquote"
    return entity


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip outer whitespace as Telegram does, shifting and clipping entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    trimmed: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(size, entity["offset"] + entity["length"] - shift)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    return stripped, trimmed


# --------------------------------------------------------------------------------------------
# Records


class ApiError(Exception):
    """A Bot API error answer: HTTP status, Telegram's description, optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """The JSON body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class StandError(Exception):
    """A test used the person side wrongly (no such button, message or person)."""


@dataclass(frozen=True)
class Person:
    """A Telegram user; their private chat with the bot has the same id."""

    user_id: int
    first_name: str = "Alex"
    language_code: str = "en"
    username: str | None = None

    @property
    def chat_id(self) -> int:
        """The id of the private chat with the bot."""
        return self.user_id

    def user_json(self) -> JSON:
        """The Bot API User object."""
        user: JSON = {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username:
            user["username"] = self.username
        return user

    def chat_json(self) -> JSON:
        """The Bot API Chat object of the private chat."""
        chat: JSON = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass(frozen=True)
class Group:
    """A basic group chat the bot is a member of."""

    chat_id: int
    title: str

    def chat_json(self) -> JSON:
        """The Bot API Chat object."""
        return {"id": self.chat_id, "type": "group", "title": self.title}


@dataclass(frozen=True)
class Message:
    """A message a person sent (or edited), as delivered to the bot."""

    update_id: int
    message_id: int
    chat_id: int
    user_id: int
    date: int
    text: str | None
    raw: JSON = field(repr=False, compare=False)


@dataclass(frozen=True)
class CallbackQuery:
    """A button tap as delivered to the bot."""

    update_id: int
    id: str
    data: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    raw: JSON = field(repr=False, compare=False)


@dataclass(frozen=True)
class AnsweredCallback:
    """One answerCallbackQuery call."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    time: float


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class Call:
    """One Bot API request the bot made and how the stand answered it."""

    method: str
    params: JSON
    status: int
    time: float
    description: str | None = None
    files: dict[str, UploadedFile] = field(default_factory=dict)


@dataclass(frozen=True)
class BotMessage:
    """One entry of a transcript: a message the bot sent, or the new state after an edit.

    ``text``/``caption`` are what the bot sent (markup included); ``plain`` is what the person
    sees after entity parsing (the text, or the caption of a photo/document).
    """

    chat_id: int
    message_id: int
    date: int
    kind: str  # "text" | "photo" | "document"
    text: str | None
    plain: str
    parse_mode: str | None
    entities: tuple[JSON, ...]
    reply_markup: JSON | None
    caption: str | None = None
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None
    file_ref: str | None = None
    reply_to_message_id: int | None = None
    edited: bool = False
    edit_date: int | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def buttons(self) -> list[str]:
        """The texts of all inline buttons, row by row."""
        return [button["text"] for button in self.inline_buttons]

    @property
    def inline_buttons(self) -> list[JSON]:
        """All inline keyboard buttons, row by row."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [button for row in self.reply_markup["inline_keyboard"] for button in row]

    @property
    def callback_data(self) -> list[str | None]:
        """The callback_data of every inline button (None for URL and other buttons)."""
        return [button.get("callback_data") for button in self.inline_buttons]


@dataclass(frozen=True)
class Webhook:
    """The webhook the bot set."""

    url: str
    secret_token: str | None
    allowed_updates: frozenset[str]
    max_connections: int


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    status: int | None
    error: str | None
    time: float


class _Bucket:
    """Send times within a sliding window, for Telegram's flood limits."""

    def __init__(self, window: float, capacity: int) -> None:
        self.window = window
        self.capacity = capacity
        self.times: deque[float] = deque()

    def retry_after(self, now: float) -> int | None:
        """Seconds to wait before another send fits, or None if it fits now."""
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        if len(self.times) < self.capacity:
            return None
        return max(1, math.ceil(self.times[0] + self.window - now))


# --------------------------------------------------------------------------------------------
# The stand


Who = Person | int
Chat = Person | Group | int


class Stand:
    """A strict fake Telegram Bot API server with a person side and a record of the bot's acts.

    Behaviours worth knowing:

    * people and groups exist once created with :meth:`person`/:meth:`group`; sends to any
      other chat id get "chat not found";
    * message ids are counted per chat and shared by the person and the bot, as in Telegram;
    * an update stays queued until a getUpdates call confirms it with a higher offset (or the
      webhook answers 2xx); a newer getUpdates ends an older parked one with 409, so a stopped
      PTB updater leaves one harmless 409 in :attr:`calls`;
    * :meth:`block`/:meth:`unblock` also queue the ``my_chat_member`` update Telegram sends;
    * ``enforce_limits`` counts sendMessage/sendPhoto/sendDocument: 1 per second per private
      chat, 20 per minute per group, 30 per second overall; ``clock`` moves those windows
      and message dates, so tests can step time instead of sleeping;
    * parse_mode HTML is parsed strictly; Markdown/MarkdownV2 are accepted but not parsed.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "walkwell_test_bot",
        enforce_limits: bool = False,
        port: int = 0,
        clock: Callable[[], float] = time.time,
        webhook_retry_delay: float = 0.05,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0])
        self.enforce_limits = enforce_limits
        self.webhook_retry_delay = webhook_retry_delay
        self._port = port
        self._clock = clock
        # what the bot did
        self.calls: list[Call] = []
        self.answered_callbacks: list[AnsweredCallback] = []
        self.webhook: Webhook | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.pinned: dict[int, int] = {}
        self.deleted: set[tuple[int, int]] = set()
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._transcripts: dict[int, list[BotMessage]] = {}
        self._cursors: dict[int, int] = {}
        self._bot_messages: dict[tuple[int, int], BotMessage] = {}
        self._user_messages: dict[tuple[int, int], JSON] = {}
        self._files: dict[str, bytes] = {}
        # the people
        self._chats: dict[int, Person | Group] = {}
        self._blocked: set[int] = set()
        self._message_ids: dict[int, itertools.count[int]] = {}
        # updates
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._allowed = _DEFAULT_UPDATE_TYPES
        self._open_queries: set[str] = set()
        self._poll_generation = 0
        self.waiting_polls = 0  # getUpdates requests parked in a long poll right now
        # faults and limits
        self._failures: dict[str, deque[ApiError]] = {}
        self._outage: tuple[int, frozenset[str]] | None = None
        self._slowness: dict[str, deque[float]] = {}
        self._overall = _Bucket(1.0, 30)
        self._per_chat: dict[int, _Bucket] = {}
        # machinery
        self._hooks: list[Callable[[BotMessage], object]] = []
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._pusher: asyncio.Task[None] | None = None
        self.port: int | None = None
        self._methods: dict[str, tuple[str, Callable[[JSON, dict[str, UploadedFile]], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "deleteMessage": self._delete_message,
                "pinChatMessage": self._pin_chat_message,
                "close": self._ok,
                "logOut": self._ok,
            }.items()
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start serving on 127.0.0.1 (a free port unless one was given)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession()
        self._pusher = asyncio.create_task(self._push_webhook_updates())

    async def stop(self) -> None:
        """Stop serving; pending long polls return at once."""
        self._closing = True
        self._notify()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Stand:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The base_url to give python-telegram-bot: it appends the token and the method."""
        if self.port is None:
            raise StandError("the stand is not started")
        return f"http://127.0.0.1:{self.port}/bot"

    # ---------------------------------------------------------------- person side

    def person(
        self,
        user_id: int,
        first_name: str = "Alex",
        language_code: str = "en",
        username: str | None = None,
    ) -> Person:
        """Create (or replace) a person; their private chat with the bot exists from now on."""
        person = Person(user_id, first_name, language_code, username)
        self._chats[user_id] = person
        return person

    def group(self, chat_id: int, title: str) -> Group:
        """Create a group chat the bot is a member of."""
        group = Group(chat_id, title)
        self._chats[chat_id] = group
        return group

    async def send(
        self,
        who: Who,
        text: str,
        *,
        chat: Chat | None = None,
        entities: list[JSON] | None = None,
        reply_to: Message | BotMessage | None = None,
        forward_from: Who | None = None,
    ) -> Message:
        """A person sends text; a leading /command gets its bot_command entity automatically."""
        person = self._person(who)
        message = self._new_message(person, chat)
        message["text"] = text
        found = _command_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        if reply_to is not None:
            message["reply_to_message"] = self._message_json(reply_to)
        if forward_from is not None:
            message["forward_origin"] = {
                "type": "user",
                "sender_user": self._person(forward_from).user_json(),
                "date": message["date"],
            }
        return self._deliver_message(message, person)

    async def edit(self, who: Who, message: Message, new_text: str) -> Message:
        """A person edits one of their messages: the bot gets an edited_message update."""
        person = self._person(who)
        key = (message.chat_id, message.message_id)
        stored = self._user_messages.get(key)
        if stored is None or stored["from"]["id"] != person.user_id:
            raise StandError(f"{person.user_id} did not send message {key}")
        edited = {k: v for k, v in stored.items() if k != "entities"}
        edited["text"] = new_text
        edited["edit_date"] = self._now()
        if found := _command_entities(new_text):
            edited["entities"] = found
        return self._deliver_message(edited, person, kind="edited_message")

    async def tap(
        self, who: Who, message: BotMessage | Message, button: str | int
    ) -> CallbackQuery:
        """A person taps an inline button (by its text or its index, row by row)."""
        person = self._person(who)
        current = self._bot_messages.get((message.chat_id, message.message_id))
        if current is None or (current.chat_id, current.message_id) in self.deleted:
            raise StandError(f"no bot message {message.message_id} in chat {message.chat_id}")
        if current.chat_id > 0 and current.chat_id != person.user_id:
            raise StandError(f"{person.user_id} cannot see chat {current.chat_id}")
        buttons = current.inline_buttons
        if isinstance(button, int):
            if not 0 <= button < len(buttons):
                raise StandError(f"no button #{button}; the buttons are {current.buttons}")
            chosen = buttons[button]
        else:
            matching = [b for b in buttons if b["text"] == button]
            if not matching:
                raise StandError(f"no button {button!r}; the buttons are {current.buttons}")
            chosen = matching[0]
        if "callback_data" not in chosen:
            raise StandError(f"button {chosen['text']!r} is not a callback button: {chosen}")
        return self._deliver_callback(person, chosen["callback_data"], current)

    async def tap_data(
        self, who: Who, data: str, message: BotMessage | Message | None = None
    ) -> CallbackQuery:
        """A forged callback query with arbitrary data (on ``message`` or the chat's last one)."""
        person = self._person(who)
        target: BotMessage | None = None
        if message is not None:
            target = self._bot_messages.get((message.chat_id, message.message_id))
        else:
            live = [
                m
                for m in self._transcripts.get(person.user_id, [])
                if (m.chat_id, m.message_id) not in self.deleted
            ]
            target = self._bot_messages[(live[-1].chat_id, live[-1].message_id)] if live else None
        return self._deliver_callback(person, data, target)

    async def send_location(
        self, who: Who, lat: float, lon: float, *, chat: Chat | None = None
    ) -> Message:
        """A person shares a location."""
        person = self._person(who)
        message = self._new_message(person, chat)
        message["location"] = {"latitude": lat, "longitude": lon}
        return self._deliver_message(message, person)

    async def send_sticker(
        self, who: Who, emoji: str = "👍", *, chat: Chat | None = None
    ) -> Message:
        """A person sends a sticker."""
        person = self._person(who)
        message = self._new_message(person, chat)
        message["sticker"] = {
            "file_id": f"sticker-{message['message_id']}",
            "file_unique_id": f"stk{message['message_id']}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._deliver_message(message, person)

    async def send_photo(
        self,
        who: Who,
        data: bytes = b"\x89PNG\r\n\x1a\n",
        *,
        caption: str | None = None,
        chat: Chat | None = None,
    ) -> Message:
        """A person sends a photo (the bytes are kept under its file_id)."""
        person = self._person(who)
        message = self._new_message(person, chat)
        file_id = f"user-photo-{message['chat']['id']}-{message['message_id']}"
        self._files[file_id] = data
        message["photo"] = [_photo_size(file_id, len(data))]
        if caption:
            message["caption"] = caption
        return self._deliver_message(message, person)

    async def send_voice(self, who: Who, duration: int = 3, *, chat: Chat | None = None) -> Message:
        """A person sends a voice note."""
        person = self._person(who)
        message = self._new_message(person, chat)
        message["voice"] = {
            "file_id": f"voice-{message['message_id']}",
            "file_unique_id": f"vce{message['message_id']}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 4096,
        }
        return self._deliver_message(message, person)

    async def send_raw_update(self, update: JSON) -> int:
        """Queue any update as is (an update_id is added if missing); returns its update_id."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._enqueue(update)
        return int(update["update_id"])

    def block(self, who: Who) -> None:
        """The person blocks the bot: sends to their chat get 403 and the bot is told."""
        person = self._person(who)
        if person.user_id not in self._blocked:
            self._blocked.add(person.user_id)
            self._enqueue_member_change(person, "member", "kicked")

    def unblock(self, who: Who) -> None:
        """The person unblocks the bot."""
        person = self._person(who)
        if person.user_id in self._blocked:
            self._blocked.discard(person.user_id)
            self._enqueue_member_change(person, "kicked", "member")

    # ---------------------------------------------------------------- the record

    def transcript(self, chat: Chat) -> list[BotMessage]:
        """Every message the bot sent or edited in the chat, in order (edits as new entries)."""
        return list(self._transcripts.get(_chat_id(chat), []))

    def current(self, message: BotMessage | Message) -> BotMessage | None:
        """The latest state of a bot message (after edits), or None if unknown or deleted."""
        key = (message.chat_id, message.message_id)
        return None if key in self.deleted else self._bot_messages.get(key)

    async def next_message(
        self,
        chat: Chat,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented test-helper signature
        *,
        since: int | None = None,
    ) -> BotMessage:
        """The next transcript entry of the chat not yet read (or at index >= ``since``)."""
        chat_id = _chat_id(chat)
        start = self._cursors.get(chat_id, 0) if since is None else since

        def ready() -> BotMessage | None:
            entries = self._transcripts.get(chat_id, [])
            return entries[start] if len(entries) > start else None

        entry = await self.wait_for(ready, timeout, what=f"a bot message in chat {chat_id}")
        self._cursors[chat_id] = start + 1
        return entry

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented test-helper signature
        *,
        what: str = "",
    ) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every change) and return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [f"{c.method} {c.status}" for c in self.calls[-5:]]
                raise TimeoutError(
                    f"stand: waited {timeout}s for {what or 'a condition'}; last calls: {recent}"
                )
            await self._wait_change(remaining)

    def on_bot_message(self, callback: Callable[[BotMessage], object]) -> None:
        """Call ``callback`` (sync or async) for every message the bot sends or edits."""
        self._hooks.append(callback)

    @property
    def commands(self) -> list[JSON]:
        """The command list set by setMyCommands for the default scope and all languages."""
        return self.commands_for()

    def commands_for(self, scope: str = "default", language_code: str = "") -> list[JSON]:
        """The command list for a scope type and language."""
        return list(self._commands.get((scope, language_code), []))

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one method."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def answer_to(self, query: CallbackQuery) -> AnsweredCallback | None:
        """How the bot answered a tap, if it did."""
        for answer in self.answered_callbacks:
            if answer.callback_query_id == query.id:
                return answer
        return None

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by the bot."""
        return list(self._updates)

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        count: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with this error instead of doing them."""
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or _default_description(status, retry_after)
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        queue = self._failures.setdefault(method.lower(), deque())
        queue.extend(ApiError(status, text, parameters) for _ in range(count))

    def outage(self, status: int | None, methods: tuple[str, ...] = ("sendMessage",)) -> None:
        """Answer every call of ``methods`` with ``status`` (a 5xx) until called with None."""
        self._outage = None if status is None else (status, frozenset(m.lower() for m in methods))

    def slow(self, method: str, seconds: float, count: int = 1) -> None:
        """Delay the answer (not the effect) of the next ``count`` calls of ``method``."""
        self._slowness.setdefault(method.lower(), deque()).extend([seconds] * count)

    # ---------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._answer(name, {}, {}, ApiError(401, "Unauthorized"))
        entry = self._methods.get(name.lower())
        if entry is None:
            return self._answer(name, {}, {}, ApiError(404, "Not Found: method not found"))
        method, handler = entry
        params: JSON = {}
        files: dict[str, UploadedFile] = {}
        try:
            params, files = await _read_params(request)
            failures = self._failures.get(method.lower())
            if failures:
                raise failures.popleft()
            if self._outage is not None and method.lower() in self._outage[1]:
                raise ApiError(self._outage[0], _default_description(self._outage[0], None))
            result = handler(params, files)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            response = self._answer(method, params, files, error)
        else:
            response = self._answer(method, params, files, result)
        delays = self._slowness.get(method.lower())
        if delays:
            await asyncio.sleep(delays.popleft())
        return response

    def _answer(
        self, method: str, params: JSON, files: dict[str, UploadedFile], outcome: object
    ) -> web.Response:
        if isinstance(outcome, ApiError):
            status, body, description = outcome.status, outcome.body(), outcome.description
        else:
            status, body, description = 200, {"ok": True, "result": outcome}, None
        self.calls.append(Call(method, params, status, self._clock(), description, files))
        self._notify()
        return web.json_response(body, status=status)

    # ---------------------------------------------------------------- Bot API methods

    def _ok(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return True

    def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        if self.webhook is not None:
            raise _webhook_conflict()
        if "allowed_updates" in params:
            self._allowed = _allowed_set(params["allowed_updates"])
        limit = min(max(_int(params, "limit", 100), 1), 100)
        timeout = max(_int(params, "timeout", 0), 0)
        if "offset" in params:
            self._confirm(_int(params, "offset", 0))
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting is terminated with 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.waiting_polls += 1
        try:
            return await self._poll(generation, limit, deadline)
        finally:
            self.waiting_polls -= 1

    async def _poll(self, generation: int, limit: int, deadline: float) -> list[JSON]:
        """Wait for deliverable updates until the deadline, an update, or a newer poll."""
        loop = asyncio.get_running_loop()
        while True:
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self.webhook is not None:
                raise _webhook_conflict()
            ready = [u for u in self._updates if _deliverable(u, self._allowed)][:limit]
            remaining = deadline - loop.time()
            if ready or remaining <= 0:
                return ready
            await self._wait_change(remaining)

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params, files)
        if not url.startswith(("https://", "http://")):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = self._allowed
        if "allowed_updates" in params:
            allowed = self._allowed = _allowed_set(params["allowed_updates"])
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = Webhook(url, secret, allowed, _int(params, "max_connections", 40))
        return True

    def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        info: JSON = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            info["allowed_updates"] = sorted(self.webhook.allowed_updates)
        failures = [d for d in self.webhook_deliveries if d.error]
        if failures:
            info["last_error_date"] = int(failures[-1].time)
            info["last_error_message"] = failures[-1].error
        return info

    def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" is required')
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_NAME_RE.fullmatch(
                str(command.get("command", ""))
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not description.strip() or len(description) > 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[_commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        return list(self._commands.get(_commands_key(params), []))

    def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._commands.pop(_commands_key(params), None)
        return True

    async def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat_id = self._target_chat(params)
        text = params.get("text")
        if not isinstance(text, str) or text == "":
            raise ApiError(400, "Bad Request: message text is empty")
        plain, entities = _format(text, params.get("parse_mode"), params.get("entities"))
        if not plain:
            raise ApiError(400, "Bad Request: message must be non-empty")
        if len(plain) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = _check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(params, chat_id)
        self._check_rate(chat_id)
        message = BotMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            date=self._now(),
            kind="text",
            text=text,
            plain=plain,
            parse_mode=params.get("parse_mode"),
            entities=tuple(entities),
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return await self._record(message)

    async def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_file("photo", params, files)

    async def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_file("document", params, files)

    async def _send_file(self, kind: str, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat_id = self._target_chat(params)
        upload, ref = _file_param(kind, params, files)
        data = upload.data if upload else self._files.get(ref or "")
        if upload is None and not ref:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption = params.get("caption")
        plain, entities = "", list[JSON]()
        if isinstance(caption, str) and caption:
            plain, entities = _format(
                caption, params.get("parse_mode"), params.get("caption_entities")
            )
            if len(plain) > MAX_CAPTION_LENGTH:
                raise ApiError(400, "Bad Request: message caption is too long")
        markup = _check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(params, chat_id)
        self._check_rate(chat_id)
        message = BotMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            date=self._now(),
            kind=kind,
            text=None,
            plain=plain,
            parse_mode=params.get("parse_mode"),
            entities=tuple(entities),
            reply_markup=markup,
            caption=caption if isinstance(caption, str) and caption else None,
            photo=data if kind == "photo" else None,
            document=data if kind == "document" else None,
            filename=upload.filename if upload else None,
            file_ref=ref,
            reply_to_message_id=reply_to,
        )
        return await self._record(message)

    async def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        current = self._message_to_edit(params)
        if current.kind != "text":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = params.get("text")
        if not isinstance(text, str) or text == "":
            raise ApiError(400, "Bad Request: message text is empty")
        plain, entities = _format(text, params.get("parse_mode"), params.get("entities"))
        if not plain:
            raise ApiError(400, "Bad Request: message must be non-empty")
        if len(plain) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = _check_markup(params.get("reply_markup"))
        if (plain, tuple(entities), markup) == (
            current.plain,
            current.entities,
            current.reply_markup,
        ):
            raise _not_modified()
        edited = replace(
            current,
            text=text,
            plain=plain,
            parse_mode=params.get("parse_mode"),
            entities=tuple(entities),
            reply_markup=markup,
            edited=True,
            edit_date=self._now(),
        )
        return await self._record(edited)

    async def _edit_message_reply_markup(
        self, params: JSON, files: dict[str, UploadedFile]
    ) -> JSON:
        current = self._message_to_edit(params)
        markup = _check_markup(params.get("reply_markup"))
        if markup == current.reply_markup:
            raise _not_modified()
        edited = replace(current, reply_markup=markup, edited=True, edit_date=self._now())
        return await self._record(edited)

    def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_queries.discard(query_id)
        self.answered_callbacks.append(
            AnsweredCallback(
                callback_query_id=query_id,
                text=params.get("text"),
                show_alert=bool(params.get("show_alert", False)),
                url=params.get("url"),
                time=self._clock(),
            )
        )
        return True

    def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._target_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._known_chat(params)
        key = (chat_id, _int(params, "message_id", 0))
        exists = key in self._bot_messages or key in self._user_messages
        if not exists or key in self.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        self.deleted.add(key)
        return True

    def _pin_chat_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._target_chat(params)
        key = (chat_id, _int(params, "message_id", 0))
        exists = key in self._bot_messages or key in self._user_messages
        if not exists or key in self.deleted:
            raise ApiError(400, "Bad Request: message to pin not found")
        self.pinned[chat_id] = key[1]
        return True

    # ---------------------------------------------------------------- API helpers

    def _known_chat(self, params: JSON) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _target_chat(self, params: JSON) -> int:
        chat_id = self._known_chat(params)
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _message_to_edit(self, params: JSON) -> BotMessage:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self._target_chat(params)
        if "message_id" not in params:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        key = (chat_id, _int(params, "message_id", 0))
        current = self._bot_messages.get(key)
        if key in self.deleted or (current is None and key not in self._user_messages):
            raise ApiError(400, "Bad Request: message to edit not found")
        if current is None:
            raise ApiError(400, "Bad Request: message can't be edited")
        return current

    def _reply_target(self, params: JSON, chat_id: int) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            lenient = bool(reply.get("allow_sending_without_reply"))
        elif "reply_to_message_id" in params:
            message_id = params["reply_to_message_id"]
            lenient = bool(params.get("allow_sending_without_reply"))
        else:
            return None
        key = (chat_id, message_id if isinstance(message_id, int) else 0)
        if key in self.deleted or (
            key not in self._bot_messages and key not in self._user_messages
        ):
            if lenient:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return key[1]

    def _check_rate(self, chat_id: int) -> None:
        if not self.enforce_limits:
            return
        now = self._clock()
        chat = self._per_chat.setdefault(
            chat_id, _Bucket(60.0, 20) if chat_id < 0 else _Bucket(1.0, 1)
        )
        waits = [w for w in (self._overall.retry_after(now), chat.retry_after(now)) if w]
        if waits:
            wait = max(waits)
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        self._overall.times.append(now)
        chat.times.append(now)

    async def _record(self, message: BotMessage) -> JSON:
        raw = self._bot_message_json(message)
        message = replace(message, raw=raw)
        key = (message.chat_id, message.message_id)
        self._bot_messages[key] = message
        if message.photo is not None and not message.edited:
            self._files[raw["photo"][-1]["file_id"]] = message.photo
        if message.document is not None and not message.edited:
            self._files[raw["document"]["file_id"]] = message.document
        self._transcripts.setdefault(message.chat_id, []).append(message)
        self._notify()
        for hook in list(self._hooks):
            outcome = hook(message)
            if inspect.isawaitable(outcome):
                await outcome
        return raw

    def _bot_message_json(self, message: BotMessage) -> JSON:
        raw: JSON = {
            "message_id": message.message_id,
            "from": self._bot_user(),
            "chat": self._chats[message.chat_id].chat_json(),
            "date": message.date,
        }
        if message.edit_date is not None:
            raw["edit_date"] = message.edit_date
        if message.kind == "text":
            raw["text"] = message.plain
            if message.entities:
                raw["entities"] = list(message.entities)
        else:
            file_id = message.file_ref or f"{message.kind}-{message.chat_id}-{message.message_id}"
            size = len(message.photo or message.document or b"")
            if message.kind == "photo":
                raw["photo"] = [_photo_size(file_id, size)]
            else:
                raw["document"] = {
                    "file_id": file_id,
                    "file_unique_id": f"u{zlib.crc32(file_id.encode()):08x}",
                    "file_name": message.filename or "document",
                    "file_size": size,
                }
            if message.caption:
                raw["caption"] = message.plain
                if message.entities:
                    raw["caption_entities"] = list(message.entities)
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            raw["reply_markup"] = message.reply_markup
        if message.reply_to_message_id is not None:
            replied = self._message_json_by_key((message.chat_id, message.reply_to_message_id))
            if replied is not None:
                raw["reply_to_message"] = replied
        return raw

    # ---------------------------------------------------------------- person-side helpers

    def _person(self, who: Who) -> Person:
        chat = self._chats.get(who if isinstance(who, int) else who.user_id)
        if not isinstance(chat, Person):
            raise StandError(f"no person {who!r}; create one with stand.person(...)")
        return chat

    def _new_message(self, person: Person, chat: Chat | None) -> JSON:
        chat_id = person.user_id if chat is None else _chat_id(chat)
        target = self._chats.get(chat_id)
        if target is None:
            raise StandError(f"no chat {chat_id}")
        return {
            "message_id": self._next_message_id(chat_id),
            "from": person.user_json(),
            "chat": target.chat_json(),
            "date": self._now(),
        }

    def _deliver_message(self, message: JSON, person: Person, kind: str = "message") -> Message:
        chat_id = message["chat"]["id"]
        self._user_messages[(chat_id, message["message_id"])] = message
        update_id = next(self._update_ids)
        self._enqueue({"update_id": update_id, kind: message})
        return Message(
            update_id=update_id,
            message_id=message["message_id"],
            chat_id=chat_id,
            user_id=person.user_id,
            date=message["date"],
            text=message.get("text"),
            raw=message,
        )

    def _deliver_callback(
        self, person: Person, data: str, message: BotMessage | None
    ) -> CallbackQuery:
        query_id = f"{self.bot_id}{next(self._query_ids):08d}"
        chat_id = message.chat_id if message else person.user_id
        query: JSON = {
            "id": query_id,
            "from": person.user_json(),
            "chat_instance": f"{chat_id * 7919 % 10**12}",
            "data": data,
        }
        if message is not None:
            query["message"] = self._bot_message_json(message)
        self._open_queries.add(query_id)
        update_id = next(self._update_ids)
        self._enqueue({"update_id": update_id, "callback_query": query})
        return CallbackQuery(
            update_id=update_id,
            id=query_id,
            data=data,
            user_id=person.user_id,
            chat_id=message.chat_id if message else None,
            message_id=message.message_id if message else None,
            raw=query,
        )

    def _enqueue_member_change(self, person: Person, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            state: JSON = {"status": status, "user": self._bot_user()}
            if status == "kicked":
                state["until_date"] = 0
            return state

        self._enqueue(
            {
                "update_id": next(self._update_ids),
                "my_chat_member": {
                    "chat": person.chat_json(),
                    "from": person.user_json(),
                    "date": self._now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                },
            }
        )

    def _message_json(self, message: Message | BotMessage) -> JSON:
        found = self._message_json_by_key((message.chat_id, message.message_id))
        if found is None:
            raise StandError(f"no message {message.message_id} in chat {message.chat_id}")
        return found

    def _message_json_by_key(self, key: tuple[int, int]) -> JSON | None:
        if key in self._bot_messages:
            return {k: v for k, v in self._bot_messages[key].raw.items() if k != "reply_to_message"}
        if key in self._user_messages:
            return {k: v for k, v in self._user_messages[key].items() if k != "reply_to_message"}
        return None

    # ---------------------------------------------------------------- updates and webhook

    def _enqueue(self, update: JSON) -> None:
        self._updates.append(update)
        self._notify()

    async def _push_webhook_updates(self) -> None:
        """Deliver queued updates to the webhook in order, retrying failures."""
        while True:
            webhook = self.webhook
            if webhook is None or not self._updates:
                await self._wait_change(None)
                continue
            update = self._updates[0]
            if not _deliverable(update, webhook.allowed_updates):
                self._updates.pop(0)
                continue
            status, error = await self._post_update(webhook, update)
            self.webhook_deliveries.append(
                WebhookDelivery(update["update_id"], status, error, self._clock())
            )
            if error is None:
                if self._updates and self._updates[0] is update:
                    self._updates.pop(0)
                self._notify()
            else:
                self._notify()
                await asyncio.sleep(self.webhook_retry_delay)

    async def _post_update(self, webhook: Webhook, update: JSON) -> tuple[int | None, str | None]:
        assert self._session is not None
        headers = {}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        try:
            async with self._session.post(
                webhook.url,
                json=update,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return response.status, None
                return response.status, f"Wrong response from the webhook: {response.status}"
        except (aiohttp.ClientError, TimeoutError) as error:
            return None, f"Connection failed: {error.__class__.__name__}"

    # ---------------------------------------------------------------- small helpers

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "WalkWell",
            "username": self.bot_username,
        }

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _now(self) -> int:
        return int(self._clock())

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, limit: float | None) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit):
                await event.wait()


# --------------------------------------------------------------------------------------------
# module helpers


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
    """Collect query, form, multipart or JSON parameters and decode them per field."""
    raw: JSON = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as error:
                raise ApiError(400, "Bad Request: can't parse JSON encoded request") from error
            if isinstance(body, dict):
                raw.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    with value.file:
                        content = value.file.read()
                    files[key] = UploadedFile(key, value.filename, value.content_type, content)
                else:
                    raw[key] = value
    return {key: _coerce(key, value) for key, value in raw.items()}, files


def _coerce(name: str, value: Any) -> Any:
    """Decode one parameter: Telegram takes strings as-is and everything else JSON-encoded."""
    if not isinstance(value, str):
        return value
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError as error:
            raise ApiError(
                400, f"Bad Request: can't parse {_JSON_FIELDS[name]} JSON object"
            ) from error
    if name in _INT_FIELDS:
        with contextlib.suppress(ValueError):
            return int(value)
        return value
    if name in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    return value


def _int(params: JSON, name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"Bad Request: invalid {name} specified")
    return value


def _format(text: str, parse_mode: Any, entities: Any) -> tuple[str, list[JSON]]:
    """Apply parse_mode (or explicit entities) and Telegram's trimming."""
    mode = str(parse_mode or "").lower()
    if mode == "html":
        try:
            plain, found = parse_html(text)
        except EntityParseError as error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}") from error
    elif mode in ("", "none"):
        plain, found = text, [e for e in entities or [] if isinstance(e, dict)]
    elif mode in ("markdown", "markdownv2"):
        plain, found = text, []  # not parsed: WalkWell speaks HTML only
    else:
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
    return _trim(plain, found)


def _check_markup(markup: Any) -> JSON | None:
    """Validate reply_markup the way Telegram does; returns it unchanged."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(
                400,
                'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup '
                "should be an Array of Arrays",
            )
        for button in (b for row in rows for b in row):
            _check_inline_button(button)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(
                400,
                'Bad Request: field "keyboard" of the ReplyKeyboardMarkup '
                "should be an Array of Arrays",
            )
        for button in (b for row in rows for b in row):
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text:
                raise ApiError(
                    400, "Bad Request: can't parse keyboard button: Text must be non-empty"
                )
    elif not ("remove_keyboard" in markup or "force_reply" in markup):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    return markup


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object",
        )
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str):
            raise ApiError(
                400,
                'Bad Request: can\'t parse inline keyboard button: Field "callback_data" '
                "must be of type String",
            )
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    if not any(button.get(action) not in (None, "") for action in _INLINE_BUTTON_ACTIONS):
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard",
        )


def _file_param(
    kind: str, params: JSON, files: dict[str, UploadedFile]
) -> tuple[UploadedFile | None, str | None]:
    """The uploaded file for ``kind`` or the file_id/URL string that names it."""
    if kind in files:
        return files[kind], None
    value = params.get(kind)
    if isinstance(value, str) and value.startswith("attach://"):
        return files.get(value.removeprefix("attach://")), None
    if isinstance(value, str) and value:
        return None, value
    return None, None


def _photo_size(file_id: str, size: int) -> JSON:
    return {
        "file_id": file_id,
        "file_unique_id": f"u{zlib.crc32(file_id.encode()):08x}",
        "width": 640,
        "height": 480,
        "file_size": size,
    }


def _command_entities(text: str) -> list[JSON]:
    """A bot_command entity for a leading /command (with or without @botname)."""
    if not text.startswith("/"):
        return []
    token = text.split(maxsplit=1)[0]
    if not _COMMAND_RE.fullmatch(token):
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(token)}]


def _chat_id(chat: Chat) -> int:
    if isinstance(chat, int):
        return chat
    return chat.chat_id


def _update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


def _deliverable(update: JSON, allowed: frozenset[str]) -> bool:
    """Allowed types pass; types Telegram does not know (raw fuzzing updates) always pass."""
    kind = _update_type(update)
    return kind in allowed or kind not in _ALL_UPDATE_TYPES


def _allowed_set(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        return _DEFAULT_UPDATE_TYPES
    return frozenset(str(item) for item in value)


def _commands_key(params: JSON) -> tuple[str, str]:
    scope = params.get("scope")
    scope_type = scope.get("type", "default") if isinstance(scope, dict) else "default"
    return str(scope_type), str(params.get("language_code") or "")


def _default_description(status: int, retry_after: int | None) -> str:
    return {
        400: "Bad Request: injected failure",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request",
        429: f"Too Many Requests: retry after {retry_after}",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(status, f"Error {status}")


def _webhook_conflict() -> ApiError:
    return ApiError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first",
    )


def _not_modified() -> ApiError:
    return ApiError(
        400,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )


__all__ = [
    "AnsweredCallback",
    "ApiError",
    "BotMessage",
    "Call",
    "CallbackQuery",
    "EntityParseError",
    "Group",
    "Message",
    "Person",
    "Stand",
    "StandError",
    "UploadedFile",
    "Webhook",
    "WebhookDelivery",
    "parse_html",
    "utf16_len",
]
