"""Certificates for the engine's TLS listener, made with `openssl` for this run: a CA, a
server certificate for the engine's address and a client certificate, laid out as the
Docker CLI expects them in DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem)."""

from __future__ import annotations

from pathlib import Path

from tests.remote import layout
from tests.remote.processes import run

DAYS = "7"
# P-256 keys: generated in milliseconds, and every client (Go's TLS, Python's ssl) takes them.
NEW_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
# openssl's own config adds extensions that differ between versions; ours says them all.
REQUEST_CONFIG = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n"
CA_EXTENSIONS = (
    "basicConstraints = critical, CA:TRUE\n"
    "keyUsage = critical, keyCertSign, cRLSign\n"
    "subjectKeyIdentifier = hash\n"
)
LEAF_EXTENSIONS = (
    "basicConstraints = critical, CA:FALSE\n"
    "keyUsage = critical, digitalSignature, keyEncipherment\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid, issuer\n"
)
SERVER_EXTENSIONS = f"subjectAltName = IP:{layout.ADDRESS}\nextendedKeyUsage = serverAuth\n"
CLIENT_EXTENSIONS = "extendedKeyUsage = clientAuth\n"


def make_certificates() -> None:
    """CA, server and client certificates in SERVER_CERT_DIR and CERT_DIR (made anew).
    The CA's key, requests and extension files stay in SERVER_CERT_DIR, never in the
    client's DOCKER_CERT_PATH."""
    work, client = layout.SERVER_CERT_DIR, layout.CERT_DIR
    for folder in (work, client):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca = Authority(work / "ca.pem", work / "ca-key.pem")
    ca_config = _write(work / "ca.cnf", f"{REQUEST_CONFIG}[v3]\n{CA_EXTENSIONS}")
    run(
        [
            *("openssl", "req", "-x509", *NEW_KEY, "-config", ca_config, "-extensions", "v3"),
            *("-subj", "/CN=envdeck-remote test CA", "-days", DAYS),
            *("-keyout", ca.key, "-out", ca.cert),
        ]
    )
    ca.sign(work, "server", f"/CN={layout.ADDRESS}", LEAF_EXTENSIONS + SERVER_EXTENSIONS)
    ca.sign(work, "client", "/CN=envdeck-remote test client", LEAF_EXTENSIONS + CLIENT_EXTENSIONS)
    (work / "client-key.pem").replace(client / "key.pem")
    (work / "client-cert.pem").replace(client / "cert.pem")
    (client / "ca.pem").write_bytes(ca.cert.read_bytes())
    for leftover in (*work.glob("*.csr"), *work.glob("*.ext"), *work.glob("*.cnf")):
        leftover.unlink()


class Authority:
    def __init__(self, cert: Path, key: Path) -> None:
        self.cert = cert
        self.key = key

    def sign(self, work: Path, name: str, subject: str, extensions: str) -> None:
        """A new key and certificate: work/NAME-key.pem, work/NAME-cert.pem."""
        key, cert, request = (
            work / f"{name}-key.pem",
            work / f"{name}-cert.pem",
            work / f"{name}.csr",
        )
        request_config = _write(work / "request.cnf", REQUEST_CONFIG)
        run(
            [
                *("openssl", "req", "-new", *NEW_KEY, "-config", request_config),
                *("-subj", subject, "-keyout", key, "-out", request),
            ]
        )
        run(
            [
                *("openssl", "x509", "-req", "-in", request, "-days", DAYS),
                *("-CA", self.cert, "-CAkey", self.key, "-CAcreateserial", "-out", cert),
                *(
                    "-extensions",
                    "v3",
                    "-extfile",
                    _write(work / f"{name}.ext", f"[v3]\n{extensions}"),
                ),
            ]
        )
        key.chmod(0o600)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
