"""HTTPS for the listener: a self-signed certificate made once and kept, or the user's own.

Some official SDKs build ``https://`` URLs and cannot speak plain HTTP, so ``--tls`` makes
one certificate (also a CA, so clients can trust it directly) and keeps it: next to the
``--db`` file when there is one, else in the per-user cache directory. It is made again only
when a name it must cover is missing or it is about to expire.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ConfigError, Settings, cache_home

BASE_NAMES = ("localhost", "127.0.0.1", "::1")
VALID_FOR = datetime.timedelta(days=3650)
RENEW_BEFORE = datetime.timedelta(days=30)
CERT_NAME, KEY_NAME = "sandbox-tls-cert.pem", "sandbox-tls-key.pem"
LOCK_NAME = "sandbox-tls.lock"  # held while the certificate is checked or made


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files the listener serves with; ``generated`` if the sandbox made them."""

    cert: Path
    key: Path
    generated: bool


def tls_files(settings: Settings) -> TlsFiles | None:
    """The certificate to serve with, or None for plain HTTP (raises ConfigError)."""
    if settings.tls_cert or settings.tls_key:
        return own_files(settings.tls_cert, settings.tls_key)
    if not settings.tls:
        return None
    folder = Path(settings.db).resolve().parent if settings.db else cache_home()
    return kept_certificate(folder, (*BASE_NAMES, *settings.tls_host))


def own_files(cert: str | None, key: str | None) -> TlsFiles:
    if not (cert and key):
        raise ConfigError("--tls-cert and --tls-key go together: give both")
    for path in (cert, key):
        if not Path(path).is_file():
            raise ConfigError(f"TLS file {path}: no such file")
    return TlsFiles(Path(cert), Path(key), generated=False)


def kept_certificate(folder: Path, names: Iterable[str]) -> TlsFiles:
    """The certificate in ``folder`` if it covers ``names`` and is not expiring; else a new one.

    Several sandboxes may share the folder (the cache directory): the files are checked and
    made under a lock file, written aside and renamed into place, and a new certificate
    covers the names the old one did as well, so no other sandbox's clients lose their trust.
    """
    files = TlsFiles(folder / CERT_NAME, folder / KEY_NAME, generated=True)
    wanted = [normal_name(n) for n in names]
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / LOCK_NAME):
        covered = covered_names(files)
        if covered is not None and set(wanted) <= covered:
            return files
        extra = sorted(old_names(files.cert) - set(wanted))  # what other sandboxes asked for
        cert_pem, key_pem = self_signed(list(dict.fromkeys(wanted + extra)))
        replace_file(files.key, key_pem, private=True)
        replace_file(files.cert, cert_pem)
    return files


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (made if missing) across processes."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def covered_names(files: TlsFiles) -> set[str] | None:
    """The names a kept certificate covers; None if it is missing, expiring, or its key is
    not the certificate's own."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        key = load_pem_private_key(files.key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if key.public_key() != cert.public_key():
        return None
    fresh = cert.not_valid_after_utc - RENEW_BEFORE > datetime.datetime.now(datetime.UTC)
    return san_names(cert) if fresh else None


def old_names(cert_path: Path) -> set[str]:
    """The names of the certificate at ``cert_path`` however stale; none if unreadable."""
    from cryptography import x509

    try:
        return san_names(x509.load_pem_x509_certificate(cert_path.read_bytes()))
    except (OSError, ValueError):
        return set()


def san_names(cert: Any) -> set[str]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    covered = {str(n) for n in san.get_values_for_type(x509.DNSName)}
    return covered | {str(n) for n in san.get_values_for_type(x509.IPAddress)}


def normal_name(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def subject_names(names: Iterable[str]) -> list:
    from cryptography import x509

    entries = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def self_signed(names: list[str]) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM): an EC P-256 certificate for ``names`` that is its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Messages Sandbox (local)")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(subject_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def key_usage():
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def replace_file(path: Path, data: bytes, private: bool = False) -> None:
    """Write ``data`` aside, then rename it over ``path``: readers see the old or the new file
    whole. A private one is readable by its owner only."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o600 if private else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
