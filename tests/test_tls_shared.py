"""The --tls certificate shared by sandboxes in one folder (the cache directory)."""

from __future__ import annotations

import threading

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from sandbox.tls import BASE_NAMES, kept_certificate, self_signed

from .test_tls import names_in

ROUNDS = 5


def assert_a_pair(files) -> set[str]:
    """The key is the certificate's own; the names the certificate covers."""
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    key = load_pem_private_key(files.key.read_bytes(), password=None)
    assert key.public_key() == cert.public_key()
    assert files.key.stat().st_mode & 0o777 == 0o600
    return names_in(files.cert.read_bytes())


def test_two_sandboxes_making_the_certificate_at_once_share_one_pair(tmp_path):
    for round_ in range(ROUNDS):
        folder = tmp_path / str(round_)
        barrier = threading.Barrier(2)
        made = []

        def make(host: str, folder=folder, barrier=barrier, made=made) -> None:
            barrier.wait()
            made.append(kept_certificate(folder, (*BASE_NAMES, host)))

        threads = [threading.Thread(target=make, args=(h,)) for h in ("one.test", "two.test")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(made) == 2 and made[0] == made[1]
        assert assert_a_pair(made[0]) == {*BASE_NAMES, "one.test", "two.test"}
        assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_a_new_name_keeps_the_names_other_sandboxes_trust(tmp_path):
    first = kept_certificate(tmp_path, (*BASE_NAMES, "one.test"))
    second = kept_certificate(tmp_path, (*BASE_NAMES, "10.0.0.7"))
    assert first == second
    assert assert_a_pair(second) == {*BASE_NAMES, "one.test", "10.0.0.7"}
    kept = second.cert.read_bytes()
    assert kept_certificate(tmp_path, (*BASE_NAMES, "one.test")).cert.read_bytes() == kept


def test_a_key_that_is_not_the_certificates_own_is_replaced(tmp_path):
    files = kept_certificate(tmp_path, BASE_NAMES)
    cert_pem = files.cert.read_bytes()
    files.key.write_bytes(self_signed(list(BASE_NAMES))[1])  # another certificate's key
    kept_certificate(tmp_path, BASE_NAMES)
    assert files.cert.read_bytes() != cert_pem
    assert assert_a_pair(files) == set(BASE_NAMES)
