"""CA and server certificate generation for the simulator's HTTPS endpoint.

A fresh CA signs a server certificate whose subjectAltName covers the
listen address (IP and DNS forms), so clients can verify with real TLS
(``ca_file=sim.ca_file``) instead of running insecure.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

from ovirt_engine_sim.compat import ssl

CA_FILE = 'ca.pem'
CA_KEY_FILE = 'ca.key'
CERT_FILE = 'server.pem'
KEY_FILE = 'server.key'


def _name(cn):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'nova-ovirt engine simulator'),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _key():
    # EC keys are generated in milliseconds, RSA-2048 takes far longer.
    return ec.generate_private_key(ec.SECP256R1())


def _write(path, data, private=False):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                 0o600 if private else 0o644)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _alt_names(host):
    names = {x509.DNSName('localhost'),
             x509.IPAddress(ipaddress.ip_address('127.0.0.1'))}
    try:
        ip = ipaddress.ip_address(host)
        if not ip.is_unspecified:
            names.add(x509.IPAddress(ip))
    except ValueError:
        if host:
            names.add(x509.DNSName(host))
    return sorted(names, key=repr)


def make_ca(directory, cn='nova-ovirt-engine-sim CA'):
    """Create (or reuse) a CA in directory; returns (cert, key)."""
    ca_path = os.path.join(directory, CA_FILE)
    key_path = os.path.join(directory, CA_KEY_FILE)
    if os.path.exists(ca_path) and os.path.exists(key_path):
        with open(ca_path, 'rb') as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(key_path, 'rb') as f:
            key = serialization.load_pem_private_key(f.read(), None)
        return cert, key
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write(key_path, _key_pem(key), private=True)
    _write(ca_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def make_server_cert(directory, host, ca_cert, ca_key):
    """Issue a server certificate for host; returns (cert_path, key_path)."""
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(host or 'localhost'))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName(_alt_names(host)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path = os.path.join(directory, CERT_FILE)
    key_path = os.path.join(directory, KEY_FILE)
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def setup(directory, host):
    """Create CA + server cert in directory; returns (ca_path, ssl_context)."""
    ca_cert, ca_key = make_ca(directory)
    cert_path, key_path = make_server_cert(directory, host, ca_cert, ca_key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    return os.path.join(directory, CA_FILE), ctx
