"""What a logger emitted inside a block, for fixtures that cannot use pytest's function-scoped ``caplog``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def captured_messages(logger_name: str, level: int = logging.INFO) -> Iterator[list[str]]:
    """The messages of the records of ``level`` and above that ``logger_name`` emits inside the block (the
    logger is set to ``level`` meanwhile, then back)."""
    messages: list[str] = []
    handler = logging.Handler(level)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
