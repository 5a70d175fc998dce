"""TLS: Rill's tls-port beside its plain port, with certificates made here by openssl (a CA, a server and a client
certificate it signs, a second server certificate for reloading, and an unrelated CA with its own client).

Clients are the real ones: redis-cli --tls and redis-py ssl=True, with Python's ssl module where a test needs the
peer's certificate or a pinned TLS version. Where Redis 7.0.15 (Debian's redis-server, built with TLS) is at hand,
refusals, CONFIG GET defaults, CONFIG SET errors and start-up refusal lines are compared with it.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from support import ServerProcess, free_port, is_redis_server, poll_until

pytestmark = pytest.mark.rill_only

REDIS_WITH_TLS = "/usr/bin/redis-server"
DEADLINE_SECONDS = 30.0


def poll(condition, what: str):
    return poll_until(condition, what, DEADLINE_SECONDS)


def openssl(*arguments: str, cwd: str) -> None:
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs():
    """Paths of the certificates and keys, made once for the module in a temporary directory."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed: run scripts/install-dependencies.sh")
    directory = tempfile.mkdtemp(prefix="rill-tls-")

    def authority(name: str, subject: str) -> None:
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt",
                "-days", "2", "-subj", f"/CN={subject}", cwd=directory)

    def signed(name: str, subject: str, ca: str, extensions: str | None = None) -> None:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={subject}", cwd=directory)
        extra = []
        if extensions:
            with open(os.path.join(directory, f"{name}.ext"), "w") as file:
                file.write(extensions)
            extra = ["-extfile", f"{name}.ext"]
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", *extra, cwd=directory)

    server_names = "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    authority("ca", "Rill Test CA")
    authority("other-ca", "Unrelated CA")
    signed("server", "rill-server-one", "ca", server_names)
    signed("server2", "rill-server-two", "ca", server_names)
    signed("client", "rill-client", "ca")
    signed("stranger", "stranger-client", "other-ca")
    openssl("rsa", "-aes256", "-in", "server.key", "-out", "server-encrypted.key", "-passout", "pass:s3cret",
            cwd=directory)
    yield {name: os.path.join(directory, name) for name in os.listdir(directory)}
    shutil.rmtree(directory, ignore_errors=True)


def tls_directives(certs, port: int, *extra: str) -> list[str]:
    return ["--tls-port", str(port), "--tls-cert-file", certs["server.crt"], "--tls-key-file", certs["server.key"],
            "--tls-ca-cert-file", certs["ca.crt"], *extra]


@pytest.fixture
def tls_server(binary, certs):
    """Factory: a server (Rill, or Redis 7.0.15 with `redis=True`) with a TLS listener beside its plain port."""
    started: list[ServerProcess] = []

    def start(*extra: str, redis_server: bool = False) -> ServerProcess:
        if redis_server and not os.path.exists(REDIS_WITH_TLS):
            pytest.skip("Debian's redis-server 7.0.15 (with TLS) is not installed")
        tls_port = free_port()
        process = ServerProcess(REDIS_WITH_TLS if redis_server else binary, tls_directives(certs, tls_port, *extra))
        process.start()
        process.tls_port = tls_port
        wait_for_listener(process, tls_port)
        started.append(process)
        return process

    if is_redis_server(binary):
        pytest.skip("runs Rill and Redis 7.0.15 side by side")
    yield start
    for process in started:
        process.stop()


def wait_for_listener(process: ServerProcess, port: int) -> None:
    """Waits until `port` accepts connections while the server process is alive: a server that lost its TLS port
    to another process on this machine fails here rather than in the test's first request."""
    def accepting():
        if process.process.poll() is not None:
            pytest.fail(f"the server exited\n{process.log_tail()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    poll(accepting, f"port {port}")


def tls_client(certs, port: int, client_cert: str | None = "client", ca: str = "ca.crt", **options) -> redis.Redis:
    options.setdefault("decode_responses", True)
    options.setdefault("protocol", 2)
    # A refused handshake is the answer: redis-py's default retries with back-off would only repeat it.
    options.setdefault("retry", Retry(NoBackoff(), 0))
    if client_cert:
        options["ssl_certfile"] = certs[f"{client_cert}.crt"]
        options["ssl_keyfile"] = certs[f"{client_cert}.key"]
    return redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs[ca], socket_timeout=10, **options)


def cli(certs, port: int, *command: str, client_cert: str | None = "client", ca: str = "ca.crt"):
    arguments = ["redis-cli", "--tls", "--cacert", certs[ca], "-p", str(port)]
    if client_cert:
        arguments += ["--cert", certs[f"{client_cert}.crt"], "--key", certs[f"{client_cert}.key"]]
    return subprocess.run(arguments + list(command), capture_output=True, text=True, timeout=30)


def refused(client: redis.Redis) -> str:
    with pytest.raises(redis.ConnectionError) as caught:
        client.ping()
    client.close()
    return str(caught.value)


def peer_common_name(certs, port: int) -> str:
    context = ssl.create_default_context(cafile=certs["ca.crt"])
    context.load_cert_chain(certs["client.crt"], certs["client.key"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as secure:
            subject = dict(pair[0] for pair in secure.getpeercert()["subject"])
            return subject["commonName"]


def test_redis_cli_and_redis_py_over_tls(tls_server, certs):
    server = tls_server()
    result = cli(certs, server.tls_port, "XADD", "s", "1-1", "f", "v")
    assert (result.returncode, result.stdout.strip()) == (0, "1-1"), result.stderr
    with tls_client(certs, server.tls_port) as secure:
        assert secure.xadd("s", {"g": "w"}, id="2-1") == "2-1"
        assert secure.xrange("s") == [("1-1", {"f": "v"}), ("2-1", {"g": "w"})]
    with tls_client(certs, server.tls_port, protocol=3) as secure:
        assert secure.xlen("s") == 2
    # The plain port serves the same data beside it.
    assert server.client().xlen("s") == 2
    result = cli(certs, server.tls_port, "XLEN", "s")
    assert result.stdout.strip() == "2"


def test_info_lists_the_tls_listener(tls_server):
    server = tls_server()
    info = server.client().info("server")
    assert info["listener0"] == {"name": "tcp", "bind": "127.0.0.1", "port": server.port}
    assert info["listener2"] == {"name": "tls", "bind": "127.0.0.1", "port": server.tls_port}


@pytest.mark.parametrize("redis_server", [False, True], ids=["rill", "redis-7.0.15"])
def test_client_certificate_required_and_refused(tls_server, certs, redis_server):
    server = tls_server(redis_server=redis_server)
    with tls_client(certs, server.tls_port) as secure:
        assert secure.ping() is True
    refused(tls_client(certs, server.tls_port, client_cert=None))
    refused(tls_client(certs, server.tls_port, client_cert="stranger"))
    assert cli(certs, server.tls_port, "PING", client_cert=None).stdout.strip() != "PONG"
    assert cli(certs, server.tls_port, "PING").stdout.strip() == "PONG"
    # Each refused handshake is logged at warning level with Redis' words.
    poll(lambda: "Error accepting a client connection: " in open(server.log_path, errors="replace").read(),
         "the refused handshake in the log")


@pytest.mark.parametrize("redis_server", [False, True], ids=["rill", "redis-7.0.15"])
def test_optional_client_certificate(tls_server, certs, redis_server):
    server = tls_server("--tls-auth-clients", "optional", redis_server=redis_server)
    with tls_client(certs, server.tls_port, client_cert=None) as secure:
        assert secure.ping() is True
    with tls_client(certs, server.tls_port) as secure:
        assert secure.ping() is True
    # Presented, a certificate is still verified.
    refused(tls_client(certs, server.tls_port, client_cert="stranger"))


def test_no_client_certificate_and_no_ca(binary, certs, tls_server):
    port = free_port()
    server = ServerProcess(binary, ["--tls-port", str(port), "--tls-cert-file", certs["server.crt"],
                                    "--tls-key-file", certs["server.key"], "--tls-auth-clients", "no"]).start()
    try:
        with tls_client(certs, port, client_cert=None) as secure:
            assert secure.ping() is True
    finally:
        server.stop()


@pytest.mark.parametrize("redis_server", [False, True], ids=["rill", "redis-7.0.15"])
def test_server_certificate_from_another_ca_is_refused_by_the_client(tls_server, certs, redis_server):
    server = tls_server(redis_server=redis_server)
    assert "certificate verify failed" in refused(tls_client(certs, server.tls_port, ca="other-ca.crt"))
    result = cli(certs, server.tls_port, "PING", ca="other-ca.crt")
    assert "certificate verify failed" in result.stderr
    assert result.stdout.strip() != "PONG"


def test_config_set_reloads_the_certificate_for_new_connections(tls_server, certs):
    server = tls_server()
    plain = server.client()
    existing = tls_client(certs, server.tls_port)
    assert existing.ping() is True
    assert peer_common_name(certs, server.tls_port) == "rill-server-one"
    # The old key does not match the new certificate: refused, and both change in one CONFIG SET.
    with pytest.raises(redis.ResponseError):
        plain.config_set("tls-cert-file", certs["server2.crt"])
    assert peer_common_name(certs, server.tls_port) == "rill-server-one"
    plain.execute_command("CONFIG", "SET", "tls-cert-file", certs["server2.crt"], "tls-key-file", certs["server2.key"])
    assert peer_common_name(certs, server.tls_port) == "rill-server-two"
    assert existing.ping() is True
    existing.close()


@pytest.mark.parametrize("redis_server", [False, True], ids=["rill", "redis-7.0.15"])
def test_config_set_of_a_bad_file_keeps_the_old_configuration(tls_server, certs, redis_server):
    server = tls_server(redis_server=redis_server)
    plain = server.client()
    errors = []
    for name, value in (("tls-cert-file", "/nonexistent/server.crt"), ("tls-key-file", certs["client.key"]),
                        ("tls-ca-cert-file", "/nonexistent/ca.crt"), ("tls-protocols", "TLSv1.9")):
        with pytest.raises(redis.ResponseError) as caught:
            plain.config_set(name, value)
        errors.append(str(caught.value))
    assert plain.config_get("tls-*")["tls-cert-file"] == certs["server.crt"]
    assert plain.config_get("tls-key-file")["tls-key-file"] == certs["server.key"]
    assert plain.config_get("tls-protocols")["tls-protocols"] == ""
    with tls_client(certs, server.tls_port) as secure:
        assert secure.ping() is True
    assert errors == [f"CONFIG SET failed (possibly related to argument '{name}') - Unable to update TLS configuration."
                      " Check server logs." for name in ("tls-cert-file", "tls-key-file", "tls-ca-cert-file",
                                                          "tls-protocols")]
    with pytest.raises(redis.ResponseError) as caught:
        plain.config_set("tls-auth-clients", "maybe")
    assert str(caught.value) == ("CONFIG SET failed (possibly related to argument 'tls-auth-clients') - argument(s)"
                                 " must be one of the following: no, yes, optional")


def test_config_get_defaults_match_redis(binary, certs):
    if not os.path.exists(REDIS_WITH_TLS):
        pytest.skip("Debian's redis-server 7.0.15 (with TLS) is not installed")
    rill = ServerProcess(binary).start()
    reference = ServerProcess(REDIS_WITH_TLS).start()
    try:
        ours = rill.client().config_get("tls-*")
        theirs = reference.client().config_get("tls-*")
        assert ours, "no tls-* directive"
        assert {name: theirs[name] for name in ours} == ours
        # tls-port is set at start-up only in Rill (Redis can rebind it at run time).
        with pytest.raises(redis.ResponseError) as caught:
            rill.client().config_set("tls-port", "1")
        assert "can't set immutable config" in str(caught.value)
    finally:
        rill.stop()
        reference.stop()


def startup_failure(binary: str, arguments: list[str]) -> str:
    """The log of a server that must refuse to start."""
    directory = tempfile.mkdtemp(prefix="rill-tls-start-")
    try:
        result = subprocess.run([binary, "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "",
                                 *arguments], cwd=directory, capture_output=True, text=True, timeout=60)
        assert result.returncode != 0, result.stdout
        return result.stdout + result.stderr
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_startup_refuses_missing_or_wrong_certificates_like_redis(binary, certs, tls_server):
    cases = [
        ([], "No tls-cert-file configured!"),
        (["--tls-cert-file", certs["server.crt"]], "No tls-key-file configured!"),
        (["--tls-cert-file", certs["server.crt"], "--tls-key-file", certs["server.key"]],
         "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or "
         "tls-auth-clients are enabled!"),
        (["--tls-cert-file", "/nonexistent.crt", "--tls-key-file", certs["server.key"], "--tls-ca-cert-file",
          certs["ca.crt"]], "Failed to load certificate: /nonexistent.crt: "),
        (["--tls-cert-file", certs["server.crt"], "--tls-key-file", certs["client.key"], "--tls-ca-cert-file",
          certs["ca.crt"]], f"Failed to load private key: {certs['client.key']}: "),
        (["--tls-cert-file", certs["server.crt"], "--tls-key-file", certs["server.key"], "--tls-ca-cert-file",
          "/nonexistent-ca.crt"], "Failed to configure CA certificate(s) file/directory: "),
        (["--tls-cert-file", certs["server.crt"], "--tls-key-file", certs["server.key"], "--tls-ca-cert-file",
          certs["ca.crt"], "--tls-protocols", "TLSv1.9"],
         "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."),
        (["--tls-cert-file", certs["server.crt"], "--tls-key-file", certs["server.key"], "--tls-ca-cert-file",
          certs["ca.crt"], "--tls-ciphers", "NOPE"], "Failed to configure ciphers: NOPE"),
    ]
    servers = [binary] + ([REDIS_WITH_TLS] if os.path.exists(REDIS_WITH_TLS) else [])
    for arguments, line in cases:
        for server in servers:
            log = startup_failure(server, ["--tls-port", str(free_port()), *arguments])
            assert line in log, f"{server}: {log}"
            assert "Failed to configure TLS. Check logs for more info." in log, f"{server}: {log}"


def test_encrypted_key_with_its_passphrase(tls_server, certs):
    server = tls_server("--tls-key-file", certs["server-encrypted.key"], "--tls-key-file-pass", "s3cret")
    with tls_client(certs, server.tls_port) as secure:
        assert secure.ping() is True


def test_tls_only_with_port_zero(binary, certs):
    tls_port = free_port()
    directory = tempfile.mkdtemp(prefix="rill-tls-only-")
    log_path = os.path.join(directory, "server.log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "--port", "0", "--bind", "127.0.0.1",
                                    *tls_directives(certs, tls_port)], cwd=directory, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        def answers():
            with tls_client(certs, tls_port) as secure:
                return secure.ping()
        poll(answers, "the TLS listener")
        with tls_client(certs, tls_port) as secure:
            info = secure.info("server")
            assert info["tcp_port"] == 0 and "listener0" not in info
            assert info["listener2"]["port"] == tls_port
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


def test_protocol_versions_and_ciphers(tls_server, certs):
    server = tls_server("--tls-protocols", "TLSv1.2", "--tls-ciphers", "ECDHE-RSA-AES256-GCM-SHA384")

    def handshake(maximum: ssl.TLSVersion, minimum: ssl.TLSVersion):
        context = ssl.create_default_context(cafile=certs["ca.crt"])
        context.load_cert_chain(certs["client.crt"], certs["client.key"])
        context.minimum_version, context.maximum_version = minimum, maximum
        with socket.create_connection(("127.0.0.1", server.tls_port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as secure:
                return secure.version(), secure.cipher()[0]

    assert handshake(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2) == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384")
    with pytest.raises(ssl.SSLError):
        handshake(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3)
    plain = server.client()
    plain.config_set("tls-protocols", "TLSv1.3")
    assert handshake(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2)[0] == "TLSv1.3"
    with pytest.raises(ssl.SSLError):
        handshake(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
    # BoringSSL always enables its three TLS 1.3 suites: a list of fewer is refused, all three are taken.
    with pytest.raises(redis.ResponseError):
        plain.config_set("tls-ciphersuites", "TLS_AES_256_GCM_SHA384")
    assert plain.config_set("tls-ciphersuites",
                            "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256") is True


def replicated(replica: redis.Redis, primary: redis.Redis) -> bool:
    info = replica.info("replication")
    return (info.get("master_link_status") == "up"
            and info["slave_repl_offset"] == primary.info("replication")["master_repl_offset"])


@pytest.mark.parametrize("primary_is_redis", [False, True], ids=["rill-primary", "redis-7.0.15-primary"])
def test_replica_follows_its_primary_over_tls(tls_server, certs, primary_is_redis):
    primary = tls_server("--repl-diskless-sync-delay", "0", redis_server=primary_is_redis)
    p = primary.client()
    p.xadd("s", {"n": "1"}, id="1-1")
    replica = tls_server("--tls-replication", "yes", "--replicaof", "127.0.0.1", str(primary.tls_port))
    r = replica.client()
    poll(lambda: replicated(r, p), "the replica over TLS")
    p.xadd("s", {"n": "2"}, id="2-1")
    poll(lambda: r.xlen("s") == 2, "the second entry on the replica")
    assert r.xrange("s") == p.xrange("s")
    # The primary knows the replica by its TLS port, which the replica announced.
    assert p.info("replication")["slave0"]["port"] == replica.tls_port
    assert r.info("replication")["master_port"] == primary.tls_port


def test_replica_presents_its_client_certificate(tls_server, certs):
    primary = tls_server("--repl-diskless-sync-delay", "0")
    replica_arguments = ["--tls-replication", "yes", "--replicaof", "127.0.0.1", str(primary.tls_port)]
    # A certificate from the unrelated CA: the primary refuses the handshake, the link stays down.
    stranger = tls_server(*replica_arguments, "--tls-client-cert-file", certs["stranger.crt"],
                          "--tls-client-key-file", certs["stranger.key"])
    poll(lambda: "Error accepting a client connection: " in open(primary.log_path, errors="replace").read(),
         "the primary refusing the stranger's certificate")
    assert stranger.client().info("replication")["master_link_status"] == "down"
    assert primary.client().info("replication")["connected_slaves"] == 0
    # The client certificate the CA signed: the link comes up.
    trusted = tls_server(*replica_arguments, "--tls-client-cert-file", certs["client.crt"],
                         "--tls-client-key-file", certs["client.key"])
    poll(lambda: replicated(trusted.client(), primary.client()), "the replica with the client certificate")


def test_replica_without_tls_replication_cannot_follow_a_tls_port(tls_server, certs):
    primary = tls_server()
    replica = tls_server("--replicaof", "127.0.0.1", str(primary.tls_port))
    # Its plain-text PING reaches the TLS listener, which refuses it as a failed handshake.
    poll(lambda: "Error accepting a client connection: " in open(primary.log_path, errors="replace").read(),
         "the primary refusing the plain-text replica")
    assert replica.client().info("replication")["master_link_status"] == "down"
    assert primary.client().info("replication")["connected_slaves"] == 0


def test_metrics_over_https(binary, certs):
    metrics_port = free_port()
    server = ServerProcess(binary, ["--metrics-port", str(metrics_port), "--metrics-tls", "yes",
                                    "--metrics-key-names", "yes",
                                    "--tls-cert-file", certs["server.crt"], "--tls-key-file", certs["server.key"],
                                    "--tls-ca-cert-file", certs["ca.crt"]]).start()
    try:
        server.client().xadd("s", {"f": "v"})
        context = ssl.create_default_context(cafile=certs["ca.crt"])
        context.load_cert_chain(certs["client.crt"], certs["client.key"])
        with urllib.request.urlopen(f"https://localhost:{metrics_port}/metrics", context=context,
                                    timeout=30) as response:
            assert response.status == 200
            assert 'rill_stream_length{db="0",stream="s"} 1' in response.read().decode()
        # Without a client certificate (tls-auth-clients yes), and in plain HTTP, nothing is served.
        anonymous = ssl.create_default_context(cafile=certs["ca.crt"])
        with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
            urllib.request.urlopen(f"https://localhost:{metrics_port}/metrics", context=anonymous,
                                   timeout=30).read()
        with pytest.raises((ConnectionError, urllib.error.URLError, http.client.HTTPException)):
            urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30).read()
    finally:
        server.stop()

