"""A snapshot of a file tree, to prove nothing in it changed."""

from __future__ import annotations

import os
from pathlib import Path


def tree(root: Path) -> dict[str, tuple[str, bytes | str]]:
    """Everything under ``root``, links not followed: each entry's kind and its bytes (a link: its target)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_dir():
                found[key] = ("dir", "")
            else:
                found[key] = ("file", path.read_bytes())
    return found
