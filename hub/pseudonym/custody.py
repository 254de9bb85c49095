"""The KeyCustody port: the pseudonymisation master keys, which never leave it.

Contract of every adapter:
- ``mac(message, version=None)`` returns HMAC-SHA256(master key of ``version``, message)
  (32 bytes); ``version`` defaults to ``current``; an unknown version raises ``KeyError``;
- ``versions()`` lists the versions held, oldest first; ``current`` is the one in use;
- ``create(version)`` makes a new random key under that version (``ValueError`` if it
  exists); ``import_secret(version, secret)`` stores a known secret as that version's key
  (migration of an existing master secret; the same MACs as before);
- the key material cannot be read back through the adapter (the PKCS#11 keys are
  ``CKA_SENSITIVE`` and not ``CKA_EXTRACTABLE``).

Adapters: ``InProcessCustody`` (development: keys derived from one secret in memory) and
``Pkcs11Custody`` (SoftHSM2 in tests and the demo, any HSM in production).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from typing import Any, Protocol

LABEL_PREFIX = "edh-pseudonym-"


class KeyCustody(Protocol):
    """Holds versioned master keys and computes MACs with them (see module docstring)."""

    current: str

    def mac(self, message: bytes, version: str | None = None) -> bytes: ...

    def versions(self) -> list[str]: ...

    def create(self, version: str) -> None: ...

    def import_secret(self, version: str, secret: bytes) -> None: ...


def _version_order(version: str) -> int:
    return int(version.removeprefix("v"))


class InProcessCustody:
    """Keys in this process's memory (development and the embedded mode)."""

    def __init__(self, current: str = "v1") -> None:
        self.current = current
        self._keys: dict[str, bytes] = {}

    def mac(self, message: bytes, version: str | None = None) -> bytes:
        key = self._keys[version or self.current]
        return hmac.new(key, message, hashlib.sha256).digest()

    def versions(self) -> list[str]:
        return sorted(self._keys, key=_version_order)

    def create(self, version: str) -> None:
        self.import_secret(version, secrets.token_bytes(32))

    def import_secret(self, version: str, secret: bytes) -> None:
        if version in self._keys:
            raise ValueError(f"key version {version} exists")
        self._keys[version] = secret


class Pkcs11Custody:
    """Keys in a PKCS#11 token: non-extractable generic secrets, MACs by CKM_SHA256_HMAC,
    labels ``edh-pseudonym-<version>``. One session, used under a lock."""

    def __init__(self, library: str, token_label: str, pin: str, current: str = "v1") -> None:
        import pkcs11

        self.current = current
        self._pkcs11 = pkcs11
        token = pkcs11.lib(library).get_token(token_label=token_label)
        self._session = token.open(user_pin=pin, rw=True)
        self._lock = threading.Lock()
        self._cache: dict[str, Any] = {}

    def close(self) -> None:
        self._session.close()

    def _key(self, version: str) -> Any:
        found = self._cache.get(version)
        if found is None:
            p = self._pkcs11
            try:
                found = self._session.get_key(
                    object_class=p.ObjectClass.SECRET_KEY, label=LABEL_PREFIX + version
                )
            except p.NoSuchKey:
                raise KeyError(version) from None
            self._cache[version] = found
        return found

    def mac(self, message: bytes, version: str | None = None) -> bytes:
        with self._lock:
            key = self._key(version or self.current)
            return bytes(key.sign(message, mechanism=self._pkcs11.Mechanism.SHA256_HMAC))

    def versions(self) -> list[str]:
        p = self._pkcs11
        with self._lock:
            labels = [
                str(o[p.Attribute.LABEL])
                for o in self._session.get_objects({p.Attribute.CLASS: p.ObjectClass.SECRET_KEY})
            ]
        found = [
            label.removeprefix(LABEL_PREFIX) for label in labels if label.startswith(LABEL_PREFIX)
        ]
        return sorted(found, key=_version_order)

    def _template(self) -> dict[Any, Any]:
        a = self._pkcs11.Attribute
        return {
            a.TOKEN: True,
            a.PRIVATE: True,
            a.SENSITIVE: True,
            a.EXTRACTABLE: False,
            a.SIGN: True,
            a.VERIFY: True,
            a.ENCRYPT: False,
            a.DECRYPT: False,
            a.WRAP: False,
            a.UNWRAP: False,
            a.DERIVE: False,
        }

    def create(self, version: str) -> None:
        p = self._pkcs11
        with self._lock:
            self._refuse_existing(version)
            self._session.generate_key(
                p.KeyType.GENERIC_SECRET,
                256,
                label=LABEL_PREFIX + version,
                store=True,
                template=self._template(),
            )

    def import_secret(self, version: str, secret: bytes) -> None:
        p = self._pkcs11
        with self._lock:
            self._refuse_existing(version)
            self._session.create_object(
                {
                    **self._template(),
                    p.Attribute.CLASS: p.ObjectClass.SECRET_KEY,
                    p.Attribute.KEY_TYPE: p.KeyType.GENERIC_SECRET,
                    p.Attribute.LABEL: LABEL_PREFIX + version,
                    p.Attribute.VALUE: secret,
                }
            )

    def _refuse_existing(self, version: str) -> None:
        try:
            self._key(version)
        except KeyError:
            return
        raise ValueError(f"key version {version} exists")


_OPEN: dict[tuple[str, str], Pkcs11Custody] = {}
_OPEN_LOCK = threading.Lock()


def open_pkcs11(library: str, token_label: str, pin: str, current: str) -> Pkcs11Custody:
    """One open session per (library, token) in this process (a PKCS#11 module is
    initialised once per process)."""
    with _OPEN_LOCK:
        found = _OPEN.get((library, token_label))
        if found is None:
            found = _OPEN[(library, token_label)] = Pkcs11Custody(
                library, token_label, pin, current
            )
        found.current = current
        return found
