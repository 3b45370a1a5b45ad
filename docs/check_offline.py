"""Check that the built site loads nothing from the network.

Usage: ``python docs/check_offline.py docs/_build/html``. Fails (exit status 1), naming the
file and the reference, on any script, stylesheet, font, image or iframe fetched from
``http(s)://`` or ``//``; plain links (``<a href>``) to other sites are allowed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REMOTE = r"""(?:https?:)?//"""
PATTERNS = {
    ".html": [
        re.compile(rf"""<script[^>]*\bsrc=["']{REMOTE}[^"']*""", re.I),
        re.compile(rf"""<link[^>]*\bhref=["']{REMOTE}[^"']*""", re.I),
        re.compile(rf"""<(?:img|iframe|source|video|audio)[^>]*\bsrc=["']{REMOTE}[^"']*""", re.I),
        re.compile(rf"""@import\s+(?:url\()?["']?{REMOTE}[^"')]*""", re.I),
    ],
    ".css": [
        re.compile(rf"""url\(\s*["']?{REMOTE}[^"')]*""", re.I),
        re.compile(rf"""@import\s+(?:url\()?["']?{REMOTE}[^"')]*""", re.I),
    ],
    ".js": [
        re.compile(rf"""import\(\s*["']{REMOTE}[^"']*""", re.I),
        re.compile(rf"""\.src\s*=\s*["']{REMOTE}[^"']*""", re.I),
    ],
}


def remote_references(site: Path) -> list[str]:
    """``file: reference`` for every resource of ``site`` fetched from the network."""
    found = []
    for path in sorted(site.rglob("*")):
        patterns = PATTERNS.get(path.suffix)
        if not patterns or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern in patterns:
            found += [
                f"{path.relative_to(site)}: {m.group(0)[:160]}" for m in pattern.finditer(text)
            ]
    return found


def main(argv: list[str]) -> int:
    site = Path(argv[1] if len(argv) > 1 else "docs/_build/html")
    if not (site / "index.html").exists():
        print(f"error: no built site in {site} (run sphinx-build first)", file=sys.stderr)
        return 1
    found = remote_references(site)
    for line in found:
        print(f"remote resource: {line}", file=sys.stderr)
    pages = len(list(site.rglob("*.html")))
    print(f"{site}: {pages} pages, {len(found)} remote resources")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
