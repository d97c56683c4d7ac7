"""Send Telegram messages off the request path, each chat's strictly in order.

The webhook commits a turn with its replies in the outbox (born leased to this process) and
answers Telegram at once; the replies are handed to the chat's *lane*. Every lane lives on
this process's Bot API event loop (api.py), so many chats have messages in flight at once
on one thread and a slow chat never holds up another. Within a lane the items go one after
another, in the order they were handed over: replies, answers to button presses and
keyboard redraws alike.

Flood control (429) and short outages are waited out in the lane, for that chat only, while
the row's lease has room (`HOLD`); beyond that the row goes back to the outbox with Telegram's
`retry_after` and `reportbot worker` sends it, and while it is unsent the chat's later rows
go back too, due after it, so none overtakes it. Outcomes are recorded by one thread per
process, many at a time in one transaction, so the event loop never waits for the database.
A process that dies with messages in its lanes leaves their rows leased; the lease runs out
and the worker sends them.

The only cross-process gap: two updates of one chat handled by two workers at the same
instant may have their replies sent in either order (Telegram sends a chat's updates one at
a time, and a resident answers what they have read, so this needs a resident to send two
messages faster than one reply).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import logging
import os
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.sending import Envelope, SendResult
from channels.telegram.api import BotConfig, TelegramError, bot_loop
from channels.telegram.send import messages_of, send_part

if TYPE_CHECKING:
    from telegram import Bot

    from bot.delivery import Delivery

log = logging.getLogger("reportbot.telegram")

# How long a lane may hold a row while it waits out flood control or an outage: well inside
# the outbox lease (60 s), so the worker never sends a row a lane is still trying.
HOLD = 20.0
# Waits between attempts after a network failure (Telegram's 429 names its own wait).
_BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass
class _Row:
    """An outbox row to send: the envelope, the parts already sent, where to record."""

    envelope: Envelope
    done: frozenset[int]
    delivery: Delivery
    bot: BotConfig


@dataclass
class _Call:
    """A Bot API call with no outbox row (a button press answered, a keyboard redrawn)."""

    fn: Callable[[Bot], Awaitable[object]]
    bot: BotConfig
    what: str


@dataclass
class _Outcome:
    delivery: Delivery
    envelope: Envelope
    result: SendResult
    blocked: bool = False


@dataclass
class _Process:
    """This process's lanes: touched on the event loop thread, except `busy` (any thread,
    under `idle`) and `recording` (the recording thread removes what it has recorded)."""

    pid: int = field(default_factory=os.getpid)
    lanes: dict[str, collections.deque] = field(default_factory=dict)
    stalled: dict[str, float] = field(default_factory=dict)
    outcomes: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    tasks: set = field(default_factory=set)  # the running lanes' tasks, kept referenced
    recording: set = field(default_factory=set)  # rows sent whose outcome is not recorded yet
    busy: int = 0  # items handed over and not yet finished (and recorded)
    idle: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        threading.Thread(target=self._record_loop, name="telegram-outcomes",
                         daemon=True).start()

    # ---- handing over (any thread) ---------------------------------------------------

    def submit(self, chat_id: str, item: _Row | _Call) -> None:
        with self.idle:
            self.busy += 1
        runner = bot_loop()
        runner.loop.call_soon_threadsafe(self._push, chat_id, item)

    def finished(self, count: int = 1) -> None:
        with self.idle:
            self.busy -= count
            if self.busy <= 0:
                self.idle.notify_all()

    # ---- on the event loop -----------------------------------------------------------

    def _push(self, chat_id: str, item: _Row | _Call) -> None:
        lane = self.lanes.get(chat_id)
        if lane is not None:
            lane.append(item)
            return
        self.lanes[chat_id] = collections.deque([item])
        task = asyncio.get_running_loop().create_task(self._drain(chat_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _drain(self, chat_id: str) -> None:
        lane = self.lanes[chat_id]
        try:
            while lane:
                item = lane.popleft()
                try:
                    if isinstance(item, _Row):
                        outcome = await self._send(chat_id, item)
                        self.recording.add(outcome.envelope.id)
                        self.outcomes.put(outcome)
                    else:
                        await self._call(item)
                        self.finished()
                except Exception:  # noqa: BLE001 - one item's bug must not stop the lane
                    log.exception("telegram: a lane item failed; the worker retries rows")
                    self.finished()
        finally:
            del self.lanes[chat_id]

    async def _call(self, item: _Call) -> None:
        try:
            bot = await bot_loop().bot(item.bot)
            await item.fn(bot)
        except (TelegramError, TimeoutError) as exc:
            # An old button press can no longer be answered; a redraw is cosmetic (the
            # ticks live in the database). Neither loses anything.
            log.info("telegram: could not %s (%s)", item.what, type(exc).__name__)

    async def _send(self, chat_id: str, row: _Row) -> _Outcome:
        envelope, started = row.envelope, time.monotonic()
        while True:
            # Every earlier message to this conversation goes first, whoever holds it: this
            # lane (sent, its outcome not yet recorded), another worker process's lane, or
            # the outbox after a long 429. Waiting here is waiting for that chat only.
            earlier = set(await asyncio.get_running_loop().run_in_executor(
                None, row.delivery.unsent_before, envelope)) - self.recording
            if not earlier:
                self.stalled.pop(chat_id, None)
                break
            now = time.monotonic()
            if chat_id in self.stalled or now - started > HOLD:
                # It went back to the outbox (or is stuck): this one goes back too, due
                # after it, and the worker sends them in that order.
                wait = max(self.stalled.get(chat_id, now) - now, 0.0) + 1.0
                return _Outcome(row.delivery, envelope, SendResult.retry(
                    "waiting for an earlier message to this chat", wait))
            await asyncio.sleep(0.05)
        done, delivered = set(row.done), []
        attempt = 0
        while True:
            failure = blocked = None
            try:
                bot = await bot_loop().bot(row.bot)
            except (TelegramError, TimeoutError) as exc:
                bot, failure = None, SendResult.retry(
                    f"telegram unavailable: {type(exc).__name__}")
            for part, message in enumerate(messages_of(envelope.payload) if bot else ()):
                if part in done:
                    continue
                sent = await send_part(bot, chat_id, message)
                if sent.failure is not None:
                    failure, blocked = sent.failure, sent.blocked
                    break
                done.add(part)
                delivered.append((part, sent.message_id))
            if failure is None:
                return _Outcome(row.delivery, envelope, SendResult.sent().with_parts(delivered))
            if failure.status != "retry":
                return _Outcome(row.delivery, envelope, failure.with_parts(delivered),
                                bool(blocked))
            wait = failure.retry_after or _BACKOFF[min(attempt, len(_BACKOFF) - 1)]
            if time.monotonic() + wait - started > HOLD:
                self.stalled[chat_id] = time.monotonic() + wait
                return _Outcome(row.delivery, envelope,
                                SendResult.retry(failure.error or "telegram unavailable",
                                                 wait).with_parts(delivered))
            attempt += 1
            await asyncio.sleep(wait)

    # ---- recording (its own thread) ----------------------------------------------------

    def _record_loop(self) -> None:
        while True:
            batch = [self.outcomes.get()]
            while True:
                try:
                    batch.append(self.outcomes.get_nowait())
                except queue.Empty:
                    break
            try:
                _record(batch)
            except Exception:  # noqa: BLE001 - the rows stay leased; the worker resends
                log.exception("telegram: could not record %d sends", len(batch))
            finally:
                self.recording.difference_update(o.envelope.id for o in batch)
                self.finished(len(batch))


def _record(batch: list[_Outcome]) -> None:
    by_delivery: dict[int, list[_Outcome]] = {}
    for outcome in batch:
        by_delivery.setdefault(id(outcome.delivery), []).append(outcome)
    for outcomes in by_delivery.values():
        delivery = outcomes[0].delivery
        delivery.record([(o.envelope, o.result) for o in outcomes])
        for o in outcomes:
            if o.blocked and o.envelope.conversation_id is not None:
                log.info("telegram: conversation %s blocked the bot; marked unreachable",
                         o.envelope.conversation_id)
                delivery.mark(o.envelope.conversation_id, unreachable=True)


_lock = threading.Lock()
_current: _Process | None = None


def _process() -> _Process:
    global _current
    with _lock:
        if _current is None or _current.pid != os.getpid():
            _current = _Process()
        return _current


def send(chat_id: str, envelope: Envelope, delivery: Delivery, bot: BotConfig,
         done: frozenset[int] = frozenset()) -> None:
    """Hand a leased outbox row to its chat's lane; its outcome is recorded later."""
    _process().submit(str(chat_id), _Row(envelope, done, delivery, bot))


def call_later(chat_id: str, bot: BotConfig, fn: Callable[[Bot], Awaitable[object]],
               what: str) -> None:
    """Make a Bot API call in the chat's lane, after what was handed over before it."""
    _process().submit(str(chat_id), _Call(fn, bot, what))


def settle(timeout: float = 30.0) -> bool:
    """Wait until everything handed to this process's lanes went and was recorded."""
    current = _current
    if current is None or current.pid != os.getpid():
        return True
    deadline = time.monotonic() + timeout
    with current.idle:
        while current.busy > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            current.idle.wait(left)
    return True


@atexit.register
def _settle_at_exit() -> None:
    # A stopping process sends what it was given first, briefly; a row left over is still
    # leased in the outbox, and the worker sends it when the lease runs out.
    settle(timeout=5.0)
