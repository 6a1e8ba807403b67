"""The federation manifest a node trusts now, re-read from disk now and then.

An operator publishes a new signed manifest by replacing ``manifest.json``. A file that is missing,
unreadable, not signed by the manifest key, or not newer (a lower or equal serial) never replaces the current
one: the node keeps working with what it has and says why in its log, ``/readyz`` and ``/metrics`` (X-Road
users' first complaint is a node that silently stops when its global configuration cannot be refreshed).
Endpoints and certificates of a newer manifest apply at once; a province it adds is pulled from after a
restart.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import structlog

from federation.handshake import manifest_warnings
from federation.pki import Manifest, ManifestError, load_manifest

log = structlog.get_logger("tongban.federation")


class ManifestSource:
    def __init__(self, path: Path, key_path: Path, initial: Manifest) -> None:
        self._path = path
        self._key_path = key_path
        self._current = initial
        self._lock = threading.Lock()
        self.refresh_error: str | None = None
        self.refresh_failures = 0

    def current(self) -> Manifest:
        return self._current

    def refresh(self) -> bool:
        """Adopt a newer signed manifest from disk; True when one was adopted."""
        try:
            found = load_manifest(self._path, self._key_path)
        except ManifestError as e:
            with self._lock:
                self.refresh_error = str(e)
                self.refresh_failures += 1
            log.warning("federation.manifest_refresh_failed", reason=str(e), kept_serial=self._current.serial)
            return False
        with self._lock:
            self.refresh_error = None
            if found.serial <= self._current.serial:
                return False
            previous, self._current = self._current, found
        log.info("federation.manifest_refreshed", serial=found.serial, previous_serial=previous.serial)
        return True

    def warnings(self, now: datetime) -> list[str]:
        """What operators must look at; the node keeps serving either way."""
        warnings = manifest_warnings(self._current, now)
        if self.refresh_error is not None:
            warnings.append(
                f"the manifest on disk could not be adopted ({self.refresh_error}); "
                f"serving with serial {self._current.serial}"
            )
        return warnings
