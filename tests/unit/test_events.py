"""EventFeed on a fake event stream: waiting never takes, drops or reorders an event."""

from __future__ import annotations

import threading
import time

import pytest

from pytest_ccci.swarm import events
from pytest_ccci.swarm.events import FOLLOW_UP_SECONDS, EventFeed

SINCE = 1_700_000_000.0


class FakeStream:
    """Yields the events it is given, then blocks (as the engine's stream does) until closed.
    `delivered` is set once the reader asks for more than it was given: all are buffered."""

    def __init__(self, events):
        self.events = list(events)
        self.delivered = threading.Event()
        self.closed = threading.Event()

    def __iter__(self):
        yield from self.events
        self.delivered.set()
        self.closed.wait(10)

    def close(self):
        self.closed.set()


class FakeApi:
    def __init__(self, stream):
        self.stream = stream
        self.asked = None

    def events(self, since, decode, filters):
        self.asked = {"since": since, "decode": decode, "filters": filters}
        return self.stream


def event(n: int, offset: float = 1.0) -> dict:
    return {"Type": "service", "id": n, "timeNano": int((SINCE + offset) * 1e9)}


def feed_of(events) -> tuple[EventFeed, FakeStream, FakeApi]:
    stream = FakeStream(events)
    api = FakeApi(stream)
    return EventFeed(api, SINCE, ("service", "container")), stream, api


def test_waiting_keeps_the_events_in_the_order_the_engine_sent_them():
    feed, stream, _ = feed_of([event(1), event(2), event(3)])
    with feed:
        assert stream.delivered.wait(5)
        feed.wait(1.0)  # an event is there: returns at once, and must not take it out of order
        feed.wait(1.0)
        assert [e["id"] for e in feed.drain()] == [1, 2, 3]
        assert feed.drain() == []


def test_wait_returns_when_an_event_arrives_without_taking_it(monkeypatch):
    # Follow-up re-reads far apart: only the event can end the wait early.
    monkeypatch.setattr(events, "FOLLOW_UP_SECONDS", 4.0)
    monkeypatch.setattr(events, "RECHECK_SECONDS", 4.0)
    gate = threading.Event()

    class LateStream(FakeStream):
        def __iter__(self):
            gate.wait(5)
            yield event(7)
            self.closed.wait(10)

    with EventFeed(FakeApi(LateStream([])), SINCE, ("container",)) as feed:
        threading.Timer(0.1, gate.set).start()
        started = time.monotonic()
        feed.wait(5.0)
        assert time.monotonic() - started < 2.0
        assert [e["id"] for e in feed.drain()] == [7]


def test_a_wait_without_events_ends_at_the_follow_up_and_backs_off():
    feed, stream, _ = feed_of([])
    with feed:
        assert stream.delivered.wait(5)
        started = time.monotonic()
        feed.wait(10.0)
        first = time.monotonic() - started
        started = time.monotonic()
        feed.wait(10.0)
        second = time.monotonic() - started
    assert FOLLOW_UP_SECONDS * 0.9 <= first < 1.0
    assert second >= 2 * FOLLOW_UP_SECONDS * 0.9


def test_events_from_before_since_are_dropped_and_the_daemon_is_asked_in_whole_seconds():
    feed, stream, api = feed_of([event(1, offset=-0.5), event(2, offset=0.0), event(3)])
    with feed:
        assert stream.delivered.wait(5)
        assert [e["id"] for e in feed.drain()] == [2, 3]
    assert api.asked == {"since": int(SINCE), "decode": True, "filters": {"type": ["service", "container"]}}


def test_leaving_the_feed_closes_the_stream():
    feed, stream, _ = feed_of([])
    with feed:
        pass
    assert stream.closed.is_set()


@pytest.mark.parametrize("error", [RuntimeError("stream closed"), ConnectionError("daemon gone")])
def test_a_stream_that_ends_wakes_the_waiter_once(monkeypatch, error):
    monkeypatch.setattr(events, "FOLLOW_UP_SECONDS", 4.0)
    monkeypatch.setattr(events, "RECHECK_SECONDS", 4.0)

    class BrokenStream(FakeStream):
        def __iter__(self):
            raise error
            yield  # a generator that fails on its first read

    with EventFeed(FakeApi(BrokenStream([])), SINCE, ("service",)) as feed:
        started = time.monotonic()
        feed.wait(5.0)  # the end is news: the waiter re-reads at once and meets the engine's error
        assert time.monotonic() - started < 2.0
        started = time.monotonic()
        feed.wait(0.3)  # once only: no busy loop on a feed that has ended
        assert time.monotonic() - started >= 0.25
        assert feed.drain() == []
