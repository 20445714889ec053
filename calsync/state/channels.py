"""The store's push part: the Google watch channels calsync opened, one row per channel.

A channel's token is a random secret Google echoes in every notification; only its sha256 is
stored, and `channel_by_token` compares in constant time. Mixed into
`calsync.state.store.Store`; every method is one short committed transaction.
Public API: `ChannelsMixin`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from calsync.state import tables as t
from calsync.state.base import StoreBase
from calsync.state.records import PushChannel


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _channel(row: Any) -> PushChannel:
    return PushChannel(
        id=row.channel_id,
        user=row.user_name,
        calendar=row.calendar_id,
        resource_id=row.resource_id,
        token_hash=row.token_hash,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


class ChannelsMixin(StoreBase):
    """Push channels: add, list, find by id and token, delete."""

    def add_channel(
        self,
        channel_id: str,
        user: str,
        calendar: str,
        resource_id: str,
        token: str,
        expires_at: datetime,
    ) -> PushChannel:
        """Record a channel (before asking Google to open it: its first messages may come
        before the reply, with an empty `resource_id` and the expiry asked for); return it."""
        values = {
            "channel_id": channel_id,
            "user_name": user,
            "calendar_id": calendar,
            "resource_id": resource_id,
            "token_hash": _hash(token),
            "expires_at": expires_at,
            "created_at": self._now(),
        }
        with self._tx() as conn:
            conn.execute(t.push_channels.insert().values(**values))
        found = self.channel(channel_id)
        assert found is not None
        return found

    def set_channel_opened(self, channel_id: str, resource_id: str, expires_at: datetime) -> None:
        """Record what Google answered for a channel recorded before `events.watch`."""
        with self._tx() as conn:
            conn.execute(
                t.push_channels.update()
                .where(t.push_channels.c.channel_id == channel_id)
                .values(resource_id=resource_id, expires_at=expires_at)
            )

    def channel(self, channel_id: str) -> PushChannel | None:
        """Return the channel `channel_id`, or None."""
        with self._tx() as conn:
            row = conn.execute(
                sa.select(t.push_channels).where(t.push_channels.c.channel_id == channel_id)
            ).first()
        return _channel(row) if row is not None else None

    def channel_by_token(self, channel_id: str, token: str) -> PushChannel | None:
        """Return the channel `channel_id` when `token` is its token, else None (an unknown
        channel and a wrong token look the same to the caller)."""
        found = self.channel(channel_id)
        expected = found.token_hash if found is not None else _hash("")
        # Compared even when the channel is unknown, so both cases take the same time.
        if hmac.compare_digest(_hash(token), expected) and found is not None:
            return found
        return None

    def channels(self, user: str | None = None) -> list[PushChannel]:
        """Return the channels of `user` (everyone's when None), oldest first."""
        query = sa.select(t.push_channels).order_by(
            t.push_channels.c.user_name, t.push_channels.c.created_at
        )
        if user is not None:
            query = query.where(t.push_channels.c.user_name == user)
        with self._tx() as conn:
            return [_channel(r) for r in conn.execute(query)]

    def channel_users(self) -> list[str]:
        """Return the users with at least one channel, sorted."""
        query = (
            sa.select(t.push_channels.c.user_name).distinct().order_by(t.push_channels.c.user_name)
        )
        with self._tx() as conn:
            return list(conn.execute(query).scalars())

    def delete_channel(self, channel_id: str) -> None:
        """Forget the channel `channel_id` (stopping it at Google is the caller's job)."""
        with self._tx() as conn:
            conn.execute(t.push_channels.delete().where(t.push_channels.c.channel_id == channel_id))
