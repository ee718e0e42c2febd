"""Wipeable secret buffers.

Python cannot promise that no copy of a secret survives (``bytes`` are immutable, the allocator
may keep old buffers, OpenSSL keeps its own key schedule), so the local KMS does what it can:
plaintext data keys and cached key material live in a ``bytearray`` that :meth:`SecretBytes.wipe`
overwrites with zeros, and the object never shows its contents in ``repr`` or ``str``.
"""

from __future__ import annotations

from typing import Any


class SecretBytes:
    """A secret held in a ``bytearray``; ``wipe()`` zeroes it in place.

    Use it as a context manager to wipe on exit. ``bytes(secret)`` and :meth:`reveal` make an
    immutable copy (that copy cannot be wiped: prefer :meth:`view` where a buffer is accepted).
    """

    __slots__ = ("_buf", "_wiped")

    def __init__(self, data: bytes | bytearray | memoryview | int) -> None:
        self._buf = bytearray(data)
        self._wiped = False

    def __len__(self) -> int:
        return len(self._buf)

    def __bytes__(self) -> bytes:
        self._check()
        return bytes(self._buf)

    def reveal(self) -> bytes:
        return bytes(self)

    def view(self) -> memoryview:
        """A zero-copy view (``cryptography`` accepts it as a key or message buffer)."""
        self._check()
        return memoryview(self._buf)

    @property
    def buffer(self) -> bytearray:
        self._check()
        return self._buf

    @property
    def wiped(self) -> bool:
        return self._wiped

    def wipe(self) -> None:
        # equal-length slice assignment overwrites the same allocation in place
        self._buf[:] = bytes(len(self._buf))
        self._wiped = True

    def _check(self) -> None:
        if self._wiped:
            raise ValueError("secret was wiped")

    def __enter__(self) -> SecretBytes:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wipe()

    def __eq__(self, other: object) -> bool:
        import hmac

        if isinstance(other, SecretBytes):
            other = other._buf
        if not isinstance(other, bytes | bytearray | memoryview):
            return NotImplemented
        return hmac.compare_digest(bytes(self._buf), bytes(other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        state = "wiped" if self._wiped else f"{len(self._buf)} bytes"
        return f"SecretBytes(<{state}>)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("SecretBytes cannot be pickled")


__all__ = ["SecretBytes"]
