"""SHA-256 digests, without the start of OpenSSL.

``hashlib`` loads OpenSSL's library when imported (some 11 million instructions, a tenth of
a millisecond's worth many times over); CPython's own SHA-256 (``_sha2``, ``_sha256`` before
3.12) gives the same digests and loads in a fraction of that. A host's start needs two kinds
of digest (the names of generated functions, a calendar's identity), and no other use of
``hashlib``: it takes the built-in one where there is one, ``hashlib``'s elsewhere.
"""

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["sha256_hex"]


def _sha256() -> Callable[[bytes], Any]:
    for name in ("_sha2", "_sha256"):
        try:
            found: Callable[[bytes], Any] = importlib.import_module(name).sha256
        except (ImportError, AttributeError):
            continue
        return found
    import hashlib  # where CPython's own is missing

    return hashlib.sha256


_SHA256 = _sha256()


def sha256_hex(data: bytes) -> str:
    """The SHA-256 digest of ``data``, in hexadecimal (as ``hashlib.sha256(data).hexdigest()``)."""
    digest: str = _SHA256(data).hexdigest()
    return digest
