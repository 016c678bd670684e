"""channels_redis' layer, with cancellation that is never lost.

On Python 3.11, `asyncio.wait_for` drops a cancel that arrives in the same loop step as the
awaited result (CPython gh-86296, fixed in 3.12). redis-py opens connections under it, so a
socket that closes while its consumer's receive is opening a Redis connection leaves that
receive running: channels_redis then polls BZPOPMIN every 5 s forever, for a consumer that is
gone. It also hung a test's teardown past pytest's timeout in CI.

Every redis-py command is sent under `wait_for`, so a cancel is lost whenever it lands in those
few loop steps; cancelling a consumer whose receive was starting up lost it almost every time
(`procto/tests/test_channel_layer.py`). The request is still counted on the task
(`Task.cancelling()`), so around each pop we honour one that went missing: the receive ends
within one pop (`brpop_timeout`, 5 s) instead of never. A popped message is not lost by this:
channels_redis keeps it in its backup queue until it is processed and puts it back on the next
receive.

Why not Python 3.12 and the stock layer (measured for issue 11): 3.12.1 installs every
requirement and does fix gh-86296 (the stock layer passed all cancel timings, 0-60 loop steps,
in every run; on 3.11 it lost the cancel at 9-29 steps). But on 3.12 the 200-socket services-mode
test (`test_a_whole_class_connecting_at_once_is_served`) lost one pong in 2-3 of 8 runs, with this
layer and with the stock one alike, and never on 3.11 (0 of 16). The move waits until that is
understood; this layer costs one `cancelling()` check per pop.
"""

from __future__ import annotations

import asyncio

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer


def _raise_if_cancel_was_lost() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError("a cancel lost inside redis-py, honoured late")


class RedisChannelLayer(_RedisChannelLayer):
    async def _brpop_with_clean(self, index, channel, timeout):
        _raise_if_cancel_was_lost()
        member = await super()._brpop_with_clean(index, channel, timeout)
        _raise_if_cancel_was_lost()
        return member
