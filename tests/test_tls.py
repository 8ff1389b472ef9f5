"""HTTPS: a certificate made once and kept, trusted by clients that verify it."""

from __future__ import annotations

import subprocess

import pytest
import requests
from cryptography import x509

from sandbox.tls import CERT_NAME, KEY_NAME, self_signed

from .conftest import BASIC
from .processes import serve_command
from .samples import VALID


def names_in(pem: bytes) -> set[str]:
    san = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    return {str(v) for v in san.value.get_values_for_type(x509.DNSName)} | {
        str(v) for v in san.value.get_values_for_type(x509.IPAddress)
    }


def test_tls_next_to_the_db_is_verified_kept_and_served(start_sandbox, tmp_path):
    client = start_sandbox(tls=True, db=str(tmp_path / "j.db"), tls_host=("sandbox-svc",))
    cert = tmp_path / CERT_NAME
    assert client.url.startswith("https://127.0.0.1:")
    assert names_in(cert.read_bytes()) == {"localhost", "127.0.0.1", "::1", "sandbox-svc"}
    assert (tmp_path / KEY_NAME).stat().st_mode & 0o777 == 0o600

    response = requests.post(
        client.url + "/v0.1/messages",
        json=VALID["sms-text"],
        headers={"Authorization": BASIC},
        verify=str(cert),
        timeout=5,
    )
    assert response.status_code == 202
    served = requests.get(client.url + "/_sandbox/tls/cert.pem", verify=str(cert), timeout=5)
    assert served.status_code == 200 and served.content == cert.read_bytes()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(client.url + "/_sandbox/health", timeout=5)  # not trusted by default

    client.server.close()
    again = start_sandbox(tls=True, db=str(tmp_path / "j.db"), tls_host=("sandbox-svc",))
    assert (tmp_path / CERT_NAME).read_bytes() == served.content  # kept across restarts
    localhost = again.url.replace("127.0.0.1", "localhost")
    assert requests.get(localhost + "/_sandbox/health", verify=str(cert), timeout=5).ok


def test_a_new_tls_host_makes_a_new_certificate(start_sandbox, tmp_path):
    first = start_sandbox(tls=True, db=str(tmp_path / "j.db"))
    before = (tmp_path / CERT_NAME).read_bytes()
    first.server.close()
    start_sandbox(tls=True, db=str(tmp_path / "j.db"), tls_host=("db.internal", "10.0.0.7"))
    after = (tmp_path / CERT_NAME).read_bytes()
    assert after != before
    assert {"db.internal", "10.0.0.7", "localhost"} <= names_in(after)


def test_requests_ca_bundle_from_the_cache_dir(start_sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    client = start_sandbox(tls=True)
    cert = tmp_path / "cache" / "messages-sandbox" / CERT_NAME
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    assert requests.get(client.url + "/_sandbox/health", timeout=5).status_code == 200


def test_your_own_certificate(start_sandbox, tmp_path):
    cert_pem, key_pem = self_signed(["localhost", "127.0.0.1"])
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "k.pem").write_bytes(key_pem)
    client = start_sandbox(tls_cert=str(tmp_path / "c.pem"), tls_key=str(tmp_path / "k.pem"))
    health = requests.get(client.url + "/_sandbox/health", verify=str(tmp_path / "c.pem"))
    assert health.status_code == 200


def test_plain_http_has_no_certificate(client):
    response = client.get("/_sandbox/tls/cert.pem")
    assert response.status_code == 404
    assert response.json()["detail"] == "This sandbox serves plain HTTP (start it with --tls)."


def test_cli_tls_prints_the_certificate_path(spawn, tmp_path):
    process = spawn(serve_command("--tls", "--db", str(tmp_path / "j.db")))
    url = process.wait_for_line(r"listening on (https://\S+)").group(1)
    path = process.wait_for_line(r"REQUESTS_CA_BUNDLE=(\S+)").group(1)
    assert path == str(tmp_path / CERT_NAME)
    assert requests.get(url + "/_sandbox/health", verify=path, timeout=5).status_code == 200
    assert process.stop() == 0


def test_tls_cert_without_key_is_a_config_error(tmp_path):
    done = subprocess.run(
        serve_command("--tls-cert", str(tmp_path / "c.pem")), capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "--tls-cert and --tls-key go together" in done.stderr
