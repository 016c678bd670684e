"""A consumer's channel-layer receive ends when it is cancelled, even when redis-py loses the
cancel (Python 3.11's `asyncio.wait_for`, see procto/channel_layer.py)."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from procto.channel_layer import RedisChannelLayer

pytestmark = pytest.mark.needs_redis


def fresh_layer() -> RedisChannelLayer:
    # A new layer opens new connections: the cancel lands while redis-py sets one up, where the
    # stock layer lost it in every one of 45 tries (yields 9-24, three rounds).
    config = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"], prefix="procto:test-cancel")
    layer = RedisChannelLayer(**config)
    layer.brpop_timeout = 1  # so a late cancel shows within a second, not five
    return layer


def test_the_configured_layer_is_this_one():
    assert isinstance(get_channel_layer(), RedisChannelLayer)


@pytest.mark.parametrize("yields", [9, 12, 15, 18])
async def test_a_cancelled_receive_ends_even_while_redis_connects(yields):
    layer = fresh_layer()
    channel = await layer.new_channel()
    receive = asyncio.ensure_future(layer.receive(channel))
    for _ in range(yields):
        await asyncio.sleep(0)
    receive.cancel()
    done, _ = await asyncio.wait([receive], timeout=3)
    try:
        assert done, "the receive kept polling Redis after its consumer was cancelled"
        assert receive.cancelled()
    finally:
        receive.cancel()
        await layer.flush()


async def test_a_message_popped_by_a_cancelled_receive_is_delivered_to_the_next():
    layer = fresh_layer()
    channel = await layer.new_channel()
    receive = asyncio.ensure_future(layer.receive(channel))
    for _ in range(12):
        await asyncio.sleep(0)
    receive.cancel()
    await layer.send(channel, {"type": "alert", "n": 1})
    await asyncio.wait([receive], timeout=3)
    try:
        message = await asyncio.wait_for(layer.receive(channel), timeout=3)
        assert message == {"type": "alert", "n": 1}
    finally:
        await layer.flush()
