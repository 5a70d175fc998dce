"""Idempotent producers: XADD's IDMP / IDMPAUTO options, XCFGSET and XIDMPRECORD.

Redis added them in 8.6 (XIDMPRECORD in 8.8) and the reference redis-server is older, so these are rill_only; the
expected replies come from Redis' command pages (reply shapes, documented errors) rather than from a side-by-side
run. Remembered pairs are also checked across a restart with a snapshot (SAVE), DUMP/RESTORE and the append-only file.
"""

import time

import pytest
import redis

from test_aof import full_state, kill, start_aof
from test_aof_effects import strip_fields
from support import unparsed
from test_persistence import client_of, dump_and_restore, survive_snapshot_restart

pytestmark = pytest.mark.rill_only


def info(client, key="s"):
    reply = unparsed(client, "XINFO", "STREAM", key)
    return dict(zip(reply[0::2], reply[1::2])) if isinstance(reply, list) else reply


def test_idmp_retry_returns_the_original_id_and_adds_nothing(r):
    first = r.execute_command("XADD", "s", "IDMP", "p1", "payment-abc", "*", "amount", "100")
    again = r.execute_command("XADD", "s", "IDMP", "p1", "payment-abc", "*", "amount", "200")
    assert again == first
    assert r.xlen("s") == 1
    assert r.xrange("s") == [(first, {"amount": "100"})]
    # Other iids and other producers are independent.
    other = r.execute_command("XADD", "s", "IDMP", "p2", "payment-abc", "*", "amount", "300")
    assert other != first and r.xlen("s") == 2


def test_idmp_returns_the_original_id_even_after_the_entry_is_deleted(r):
    first = r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    r.xdel("s", first)
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") == first
    assert r.xlen("s") == 0


def test_idmpauto_derives_the_iid_from_the_content(r):
    first = r.execute_command("XADD", "s", "IDMPAUTO", "p1", "*", "a", "1", "b", "2")
    assert r.execute_command("XADD", "s", "IDMPAUTO", "p1", "*", "b", "2", "a", "1") == first
    changed = r.execute_command("XADD", "s", "IDMPAUTO", "p1", "*", "a", "1", "b", "3")
    assert changed != first
    # A repeated pair is different content.
    assert r.execute_command("XADD", "s", "IDMPAUTO", "p1", "*", "a", "1", "a", "1") not in (first, changed)
    assert r.xlen("s") == 3


def test_xinfo_stream_shows_idempotency_fields(r, r3):
    r.xadd("plain", {"f": "v"})
    plain = info(r, "plain")
    # Every stream carries the fields (8.6+ clients read them unconditionally): defaults before any IDMP use.
    assert [plain[name] for name in ("idmp-duration", "idmp-maxsize", "pids-tracked", "iids-tracked", "iids-added",
                                     "iids-duplicates")] == [100, 100, 0, 0, 0, 0]
    r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    r.execute_command("XADD", "s", "IDMP", "p2", "b", "*", "f", "v")
    reply = unparsed(r, "XINFO", "STREAM", "s")
    names = reply[0::2]
    assert names[names.index("recorded-first-entry-id") + 1:names.index("groups")] == [
        "idmp-duration", "idmp-maxsize", "pids-tracked", "iids-tracked", "iids-added", "iids-duplicates"]
    fields = info(r)
    assert [fields[name] for name in names[7:13]] == [100, 100, 2, 2, 2, 1]
    full = unparsed(r, "XINFO", "STREAM", "s", "FULL")
    assert full[full.index("idmp-duration") + 1] == 100
    resp3 = unparsed(r3, "XINFO", "STREAM", "s")
    assert resp3["iids-duplicates"] == 1 and resp3["pids-tracked"] == 2


def test_idmp_with_nomkstream_and_trimming(r):
    assert r.execute_command("XADD", "s", "NOMKSTREAM", "IDMP", "p1", "a", "*", "f", "v") is None
    assert not r.exists("s")
    first = r.execute_command("XADD", "s", "MAXLEN", "1", "IDMP", "p1", "a", "*", "f", "v")
    r.execute_command("XADD", "s", "IDMP", "p1", "b", "MAXLEN", "1", "*", "f", "w")
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "MAXLEN", "1", "*", "f", "x") == first
    assert r.xlen("s") == 1


def test_idmp_inside_multi(r):
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "1")
    pipe.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "2")
    first, second = pipe.execute()
    assert first == second and r.xlen("s") == 1


def test_maxsize_evicts_the_oldest_iids_per_producer(r):
    r.execute_command("XADD", "s", "IDMP", "p1", "init", "*", "f", "v")
    assert r.execute_command("XCFGSET", "s", "IDMP-MAXSIZE", 2) == "OK"
    ids = [r.execute_command("XADD", "s", "IDMP", "p1", f"req-{i}", "*", "f", i) for i in range(3)]
    assert r.execute_command("XADD", "s", "IDMP", "p1", "req-2", "*", "f", "dup") == ids[2]
    assert r.execute_command("XADD", "s", "IDMP", "p1", "req-0", "*", "f", "again") not in ids
    assert info(r)["iids-tracked"] == 2


def test_duration_expires_iids(r):
    r.execute_command("XADD", "s", "IDMP", "p1", "x", "*", "f", "v")
    r.execute_command("XCFGSET", "s", "IDMP-DURATION", 1)
    first = r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") == first
    time.sleep(1.1)
    assert info(r)["iids-tracked"] == 0
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") != first


def test_xcfgset_clears_history_only_when_a_setting_changes(r):
    first = r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    assert r.execute_command("XCFGSET", "s", "IDMP-DURATION", 100, "IDMP-MAXSIZE", 100) == "OK"
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") == first
    assert r.execute_command("XCFGSET", "s", "IDMP-DURATION", 5) == "OK"
    assert info(r)["idmp-duration"] == 5 and info(r)["iids-tracked"] == 0
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") != first
    # Lifetime counters survive the clearing.
    assert info(r)["iids-added"] == 2 and info(r)["iids-duplicates"] == 1


@pytest.mark.parametrize("arguments, message", [
    (["XADD", "s", "IDMP", "p1", "*", "f", "v"], "Invalid stream ID"),
    (["XADD", "s", "IDMP", "p1", "i", "1-1", "f", "v"], "only with auto-generated IDs"),
    (["XADD", "s", "IDMPAUTO", "p1", "5-*", "f", "v"], "only with auto-generated IDs"),
    (["XADD", "s", "IDMP", "p1", "i", "IDMP", "p2", "j", "*", "f", "v"], "specified multiple times"),
    (["XADD", "s", "IDMPAUTO", "p1", "IDMP", "p2", "j", "*", "f", "v"], "specified multiple times"),
    (["XADD", "s", "IDMP", "", "i", "*", "f", "v"], "non-empty producer ID"),
    (["XADD", "s", "IDMP", "p1", "", "*", "f", "v"], "non-empty idempotent ID"),
    (["XADD", "s", "IDMPAUTO", "", "*", "f", "v"], "non-empty producer ID"),
    (["XCFGSET", "s"], "At least one parameter"),
    (["XCFGSET", "s", "IDMP-DURATION"], "syntax error"),
    (["XCFGSET", "s", "IDMP-DURATION", "0"], "IDMP-DURATION must be between"),
    (["XCFGSET", "s", "IDMP-DURATION", "86401"], "IDMP-DURATION must be between"),
    (["XCFGSET", "s", "IDMP-MAXSIZE", "10001"], "IDMP-MAXSIZE must be between"),
    (["XCFGSET", "s", "IDMP-MAXSIZE", "3.14"], "not an integer"),
    (["XCFGSET", "s", "INVALID", "1"], "syntax error"),
    (["XCFGSET", "missing", "IDMP-DURATION", "5"], "no such key"),
    (["XCFGSET", "text", "IDMP-DURATION", "5"], "WRONGTYPE"),
])
def test_idempotency_bad_arguments_change_nothing(r, arguments, message):
    r.set("text", "x")
    r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    before = (r.xrange("s"), info(r))
    with pytest.raises(redis.ResponseError, match=message):
        r.execute_command(*arguments)
    assert (r.xrange("s"), info(r)) == before


def test_xidmprecord_restores_a_pair(r):
    entry = r.xadd("s", {"f": "v"})
    assert r.execute_command("XIDMPRECORD", "s", "p1", "a", entry) == "OK"
    assert r.execute_command("XIDMPRECORD", "s", "p1", "a", entry) == "OK"
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "w") == entry
    with pytest.raises(redis.ResponseError):
        r.execute_command("XIDMPRECORD", "s", "p1", "a", "0-1")
    other = r.xadd("s", {"f": "x"})
    with pytest.raises(redis.ResponseError):
        r.execute_command("XIDMPRECORD", "s", "p1", "a", other)
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.execute_command("XIDMPRECORD", "missing", "p1", "a", entry)


def idempotency_workload(client):
    client.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    client.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "dup")
    client.execute_command("XADD", "s", "IDMPAUTO", "p2", "*", "x", "1")
    client.execute_command("XADD", "cfg", "*", "f", "v")
    client.execute_command("XCFGSET", "cfg", "IDMP-DURATION", 600, "IDMP-MAXSIZE", 7)
    client.execute_command("XADD", "cfg", "IDMP", "p", "i", "MAXLEN", "~", "10", "*", "f", "v")
    return [client.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "later"),
            client.execute_command("XADD", "s", "IDMPAUTO", "p2", "*", "x", "1"),
            client.execute_command("XADD", "cfg", "IDMP", "p", "i", "*", "f", "later")]


def check_idempotency_after_restart(client, expected_ids):
    assert [client.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "again"),
            client.execute_command("XADD", "s", "IDMPAUTO", "p2", "*", "x", "1"),
            client.execute_command("XADD", "cfg", "IDMP", "p", "i", "*", "f", "again")] == expected_ids
    assert client.xlen("s") == 2 and client.xlen("cfg") == 2


def test_idempotency_survives_snapshot_restart(start_server, tmp_path):
    client, ids = survive_snapshot_restart(start_server, tmp_path, idempotency_workload)
    check_idempotency_after_restart(client, ids)


def test_idempotency_survives_dump_and_restore(r):
    r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    r.execute_command("XCFGSET", "s", "IDMP-MAXSIZE", 9)
    before = info(r)
    dump_and_restore(r)
    assert info(r) == before


def test_idempotency_replays_from_the_append_only_file(start_server, tmp_path):
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    ids = idempotency_workload(client)
    before = without_duplicate_counts(full_state(client))
    kill(first)
    client = client_of(start_aof(start_server, tmp_path))
    assert without_duplicate_counts(full_state(client)) == before
    check_idempotency_after_restart(client, ids)
    aof = b"".join(path.read_bytes() for path in sorted((tmp_path / "appendonlydir").glob("*.aof")))
    # A retry changed no data, so it is not in the file (its iids-duplicates count is not restored either).
    assert b"dup" not in aof and aof.count(b"XIDMPRECORD") == 3


def without_duplicate_counts(state):
    for entry in state.values():
        for reply in ("full", "info"):
            if reply in entry:
                entry[reply] = strip_fields(entry[reply], {b"iids-duplicates"})
    return state


def test_idempotency_pairs_still_expire_after_a_snapshot_restart(start_server, tmp_path):
    first_server = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(first_server)
    client.execute_command("XADD", "s", "*", "f", "v")
    client.execute_command("XCFGSET", "s", "IDMP-DURATION", 5)
    recorded_at = time.monotonic()
    first = client.execute_command("XADD", "s", "IDMP", "p", "i", "*", "f", "v")
    assert client.save() is True
    first_server.stop()
    client = client_of(start_server("--dir", str(tmp_path), "--save", ""))
    assert client.execute_command("XADD", "s", "IDMP", "p", "i", "*", "f", "v") == first
    time.sleep(max(0.0, recorded_at + 5.2 - time.monotonic()))
    assert client.execute_command("XADD", "s", "IDMP", "p", "i", "*", "f", "v") != first
    assert client.xlen("s") == 3


def test_pairs_expire_even_when_stream_ids_run_ahead_of_the_clock(r):
    """Redis issue #15836: expiry follows when a pair was recorded, not its entry's (future) ID."""
    r.execute_command("XADD", "s", "4102444800000-0", "f", "v")  # year 2100: every later * ID is ahead of the clock
    r.execute_command("XCFGSET", "s", "IDMP-DURATION", 1)
    first = r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") == first
    time.sleep(1.1)
    assert info(r)["iids-tracked"] == 0 and info(r)["pids-tracked"] == 0
    again = r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    assert again != first and r.xlen("s") == 3


def test_idmp_retry_after_a_timed_out_attempt_adds_one_entry(r, raw):
    """A producer that gave up waiting (its reply never read, connection dropped) retries on a new connection:
    the job is in the stream once, under the first attempt's ID."""
    lost = raw()
    lost.send(lost.encode("XADD", "jobs", "IDMP", "producer-7", "order-42", "*", "amount", "100"))
    lost.sock.close()  # timed out: the reply is never read
    deadline = time.time() + 5
    while r.xlen("jobs") == 0 and time.time() < deadline:
        time.sleep(0.01)
    [(first_id, _)] = r.xrange("jobs")
    retried = r.execute_command("XADD", "jobs", "IDMP", "producer-7", "order-42", "*", "amount", "100")
    assert retried == first_id
    assert r.xlen("jobs") == 1
    assert info(r, "jobs")["iids-duplicates"] == 1
