"""A throwaway test certificate authority, made with the `openssl` command line.

RFC 6120 §13.7.1.2 and RFC 7590 describe what an XMPP server certificate carries; for a domain
`name` we issue:
  - subjectAltName dNSName `name` (what every verifier checks, RFC 6125 DNS-ID),
  - otherName SRV-ID `_xmpp-server.name` (id-on-dnsSRV 1.3.6.1.5.5.7.8.7, RFC 4985),
  - otherName XmppAddr `name` (id-on-xmppAddr 1.3.6.1.5.5.7.8.5, RFC 6120 §13.7.1.4),
  - extendedKeyUsage serverAuth, plus clientAuth when asked (s2s uses one certificate in both
    roles; some verifiers check the purpose of the initiating server's certificate).

Negative tests use a second Ca (`Ca(dir, "untrusted")`, whose root nobody is told about) and
`issue(..., names=[...])` to get a certificate for the wrong name.

Keys are ECDSA P-256 by default (fast to make); `key_type="rsa"` gives RSA 2048.
"""

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import HarnessError


@dataclass(frozen=True)
class Cert:
    """A key pair and certificate on disk. `chain` holds the leaf followed by its CA."""
    names: tuple[str, ...]
    cert: Path
    key: Path
    chain: Path
    ca_file: Path


def _openssl(args: list[str], cwd: Path) -> None:
    r = subprocess.run(["openssl"] + args, cwd=cwd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise HarnessError(f"openssl {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")


def _newkey_args(key_type: str) -> list[str]:
    if key_type == "ec":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    if key_type == "rsa":
        return ["-newkey", "rsa:2048"]
    raise HarnessError(f"unknown key type {key_type!r} (ec or rsa)")


class Ca:
    """A CA in `directory/label/`: `ca_file` is its root certificate (PEM), the file servers
    that should trust it are given."""

    def __init__(self, directory: Path, label: str = "ca", *, key_type: str = "ec",
                 days: int = 2):
        self.label = label
        self.dir = Path(directory) / label
        self.dir.mkdir(parents=True, exist_ok=False)
        self.key_type = key_type
        self.days = days
        self.ca_file = self.dir / "ca.crt"
        self.ca_key = self.dir / "ca.key"
        _openssl(["req", "-x509", *_newkey_args(key_type), "-nodes", "-keyout", "ca.key",
                  "-out", "ca.crt", "-days", str(days), "-subj", f"/O=fedgw tests/CN={label}",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                  "-addext", "subjectKeyIdentifier=hash"], self.dir)

    def issue(self, name: str, *, names: list[str] | None = None, client_auth: bool = True,
              srv_id: bool = True, xmpp_addr: bool = True, file_stem: str | None = None) -> Cert:
        """A server certificate for XMPP domain `name`.

        `names` overrides the identities put in the certificate (default: [name]); pass other
        names for a wrong-name certificate. The files are `<file_stem or name>.crt/.key/.chain`.
        """
        ids = list(names) if names is not None else [name]
        if not ids:
            raise HarnessError("a certificate needs at least one name")
        stem = file_stem or name
        alt = []
        for i, n in enumerate(ids, 1):
            alt.append(f"DNS.{i} = {n}")
        other = 0
        for n in ids:
            if srv_id:
                other += 1
                alt.append(f"otherName.{other} = 1.3.6.1.5.5.7.8.7;IA5STRING:_xmpp-server.{n}")
            if xmpp_addr:
                other += 1
                alt.append(f"otherName.{other} = 1.3.6.1.5.5.7.8.5;UTF8:{n}")
        eku = "serverAuth,clientAuth" if client_auth else "serverAuth"
        usage = "digitalSignature" if self.key_type == "ec" else "digitalSignature,keyEncipherment"
        ext = self.dir / f"{stem}.ext"
        ext.write_text("[v3]\n"
                       "basicConstraints = critical,CA:FALSE\n"
                       f"keyUsage = critical,{usage}\n"
                       f"extendedKeyUsage = {eku}\n"
                       "subjectKeyIdentifier = hash\n"
                       "authorityKeyIdentifier = keyid,issuer\n"
                       "subjectAltName = @alt\n"
                       "[alt]\n" + "\n".join(alt) + "\n")
        _openssl(["req", "-new", *_newkey_args(self.key_type), "-nodes", "-keyout", f"{stem}.key",
                  "-out", f"{stem}.csr", "-subj", f"/O=fedgw tests/CN={ids[0]}"], self.dir)
        _openssl(["x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-set_serial", str(secrets.randbits(63)), "-days", str(self.days),
                  "-extfile", ext.name, "-extensions", "v3", "-out", f"{stem}.crt"], self.dir)
        cert = self.dir / f"{stem}.crt"
        chain = self.dir / f"{stem}.chain"
        chain.write_bytes(cert.read_bytes() + self.ca_file.read_bytes())
        return Cert(names=tuple(ids), cert=cert, key=self.dir / f"{stem}.key", chain=chain,
                    ca_file=self.ca_file)

    def describe(self, cert: Cert) -> str:
        """`openssl x509 -text` of a certificate, for debugging a scenario."""
        r = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", str(cert.cert)],
                           capture_output=True, text=True, check=False)
        return r.stdout or r.stderr
