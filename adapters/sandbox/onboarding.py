"""Two more sandbox registries, to onboard by files only: vehicles (REST) and education (SOAP 1.2).

They are not part of ``hub demo``: they exist for an operator to rehearse
onboarding (docs/registries.md) and for the tests that prove it needs no
Python in the hub. The vehicle registry speaks plain http behind OAuth2;
the education registry speaks https and refuses any client without a
certificate from its test CA. :func:`make_test_pki` writes that CA, the
server's certificate (for 127.0.0.1 and localhost) and a client certificate
for the hub, with the ``cryptography`` package, into a directory.

Run ``python -m adapters.sandbox.onboarding DIR`` to start both and print the
``HUB_*`` settings that connect a hub to them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import ipaddress
import signal
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from adapters.sandbox.education import DEFAULT_USER, EducationRegistry
from adapters.sandbox.population import Population
from adapters.sandbox.runner import _answers, _bind, serve_in_thread
from adapters.sandbox.vehicles import DEFAULT_CLIENT, VehicleRegistry
from hub.errors import ConfigError

__all__ = ["OnboardingSandbox", "SandboxPki", "make_test_pki", "start_onboarding_sandbox"]

_START_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class SandboxPki:
    """Paths of a test CA and the certificates it issued (PEM, keys unencrypted)."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Once-only hub sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def make_test_pki(directory: Path, *, client_ca: bool = True) -> SandboxPki:
    """A CA, a server certificate for loopback and a client certificate, written to ``directory``.

    ``client_ca=False`` issues the client certificate from a second, unrelated
    CA: a certificate the registry must refuse.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Sandbox registries test CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    def issue(
        common: str,
        usage: x509.ObjectIdentifier,
        issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
        names: list[x509.GeneralName] | None = None,
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(issuer[0].subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(issuer[1], hashes.SHA256()), key

    server = issue(
        "127.0.0.1",
        ExtendedKeyUsageOID.SERVER_AUTH,
        (ca, ca_key),
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
    )
    client_issuer = (ca, ca_key)
    if not client_ca:
        other_key = ec.generate_private_key(ec.SECP256R1())
        other_name = _name("An unrelated CA")
        other = (
            x509.CertificateBuilder()
            .subject_name(other_name)
            .issuer_name(other_name)
            .public_key(other_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(other_key, hashes.SHA256())
        )
        client_issuer = (other, other_key)
    client = issue("once-only hub", ExtendedKeyUsageOID.CLIENT_AUTH, client_issuer)
    pki = SandboxPki(
        ca_cert=directory / "ca.pem",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )
    pem = serialization.Encoding.PEM
    pki.ca_cert.write_bytes(ca.public_bytes(pem))
    _write_key(pki.ca_key, ca_key)
    pki.server_cert.write_bytes(server[0].public_bytes(pem))
    _write_key(pki.server_key, server[1])
    pki.client_cert.write_bytes(client[0].public_bytes(pem))
    _write_key(pki.client_key, client[1])
    return pki


@dataclass(slots=True)
class OnboardingSandbox:
    """The two running registries, their addresses and a way to stop them."""

    vehicles: VehicleRegistry
    education: EducationRegistry
    vehicles_url: str
    education_url: str
    pki: SandboxPki
    _servers: list[tuple[Any, threading.Thread]] = field(default_factory=list, repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        for app in (self.vehicles, self.education):
            app.stopping = True
        for server, _ in self._servers:
            server.should_exit = True
        for server, thread in self._servers:
            thread.join(timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout)
        self._servers.clear()

    def settings(self) -> dict[str, str]:
        """The ``HUB_*`` variables that connect a hub to these two registries."""
        return {
            "HUB_REGISTRY_URL_VEHICLES": self.vehicles_url,
            "HUB_REGISTRY_CREDENTIALS_VEHICLES": ":".join(self.vehicles.client),
            "HUB_REGISTRY_URL_EDUCATION": self.education_url + "/",
            "HUB_REGISTRY_CREDENTIALS_EDUCATION": ":".join(
                (self.education._user.decode(), self.education._password.decode())
            ),
            "HUB_REGISTRY_CLIENT_CERT_EDUCATION": str(self.pki.client_cert),
            "HUB_REGISTRY_CLIENT_KEY_EDUCATION": str(self.pki.client_key),
            "HUB_REGISTRY_CA_FILE_EDUCATION": str(self.pki.ca_cert),
        }


def _https_answers(port: int, pki: SandboxPki) -> bool:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.client_cert), str(pki.client_key))

    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=2, context=context)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def start_onboarding_sandbox(
    directory: Path,
    population: Population | None = None,
    *,
    host: str = "127.0.0.1",
    vehicles_port: int = 0,
    education_port: int = 0,
    token_ttl: float = 300.0,
    client: tuple[str, str] = DEFAULT_CLIENT,
    user: tuple[str, str] = DEFAULT_USER,
) -> OnboardingSandbox:
    """Start both registries in the background; the education one over mutual TLS."""
    population = population or Population(2_000, 2026)
    pki = make_test_pki(directory)
    vehicles = VehicleRegistry(population, client=client, token_ttl=token_ttl)
    education = EducationRegistry(population, user=user)
    sockets = [_bind(host, vehicles_port), _bind(host, education_port)]
    ports = [sock.getsockname()[1] for sock in sockets]
    handle = OnboardingSandbox(
        vehicles,
        education,
        f"http://{host}:{ports[0]}",
        f"https://{host}:{ports[1]}",
        pki,
    )
    handle._servers.append(serve_in_thread(vehicles, sockets[0], "sandbox-vehicles"))
    handle._servers.append(
        serve_in_thread(
            education,
            sockets[1],
            "sandbox-education",
            ssl_certfile=str(pki.server_cert),
            ssl_keyfile=str(pki.server_key),
            ssl_ca_certs=str(pki.ca_cert),
            ssl_cert_reqs=ssl.CERT_REQUIRED,
        )
    )
    deadline = time.monotonic() + _START_TIMEOUT
    probes: tuple[Callable[[], bool], ...] = (
        lambda: _answers(host, ports[0]),
        lambda: _https_answers(ports[1], pki),
    )
    for (server, thread), probe in zip(handle._servers, probes, strict=True):
        while not (server.started and probe()):
            if time.monotonic() > deadline or not thread.is_alive():
                handle.stop()
                raise ConfigError("the onboarding sandbox registries did not start")
            time.sleep(0.02)
    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", type=Path, help="where the test CA and certificates go")
    parser.add_argument("--vehicles-port", type=int, default=8103)
    parser.add_argument("--education-port", type=int, default=8104)
    args = parser.parse_args(argv)
    handle = start_onboarding_sandbox(
        args.directory, vehicles_port=args.vehicles_port, education_port=args.education_port
    )
    extension = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "catalog_onboarding"
    print("Set these for the hub:")
    print(f"export HUB_CATALOG_DIRS={extension}")
    for name, value in handle.settings().items():
        print(f"export {name}={value}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        handle.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
