"""Group policy (XGROUP SETPOLICY, Rill only): dead-letter streams per group and idle-consumer removal, seen by
redis-py as a worker would see them, across snapshot and append-only restarts. No Redis has these commands."""

import time

import pytest

from test_aof import aof_path, full_state, kill, start_aof
from test_persistence import client_of, observe
from test_metrics import scrape, start_with_metrics

pytestmark = pytest.mark.rill_only

DEAD_LETTER_FIELDS = ["delivery-count", "last-consumer", "source-stream", "source-group", "source-id"]


def set_policy(client, *options, key="jobs", group="workers"):
    return client.execute_command("XGROUP", "SETPOLICY", key, group, *options)


def group_info(client, key="jobs", group="workers"):
    return next(g for g in client.xinfo_groups(key) if g["name"] in (group, group.encode()))


def poisoned_queue(client, max_deliveries=3):
    """A `jobs` stream with one poisoned job and a `workers` group that dead-letters after `max_deliveries`."""
    client.xgroup_create("jobs", "workers", id="0", mkstream=True)
    assert set_policy(client, "MAXDELIVERIES", max_deliveries, "DEADLETTER", "jobs:dead") in (True, "OK", b"OK")
    return client.xadd("jobs", {"task": "resize", "image": "broken.png"})


def deliveries_of_a_worker_that_never_acks(client, entry_id, attempts):
    """A worker that reads new jobs, then keeps reclaiming its unacknowledged ones; it crashes on every job."""
    delivered = []
    for _ in range(attempts):
        reply = client.xreadgroup("workers", "w1", {"jobs": ">"}, count=10)
        delivered += [id for _, entries in reply for id, _ in entries]
        _, claimed, _ = client.xautoclaim("jobs", "workers", "w1", min_idle_time=0, start_id="0-0")
        delivered += [id for id, _ in claimed]
    return [id for id in delivered if id == entry_id]


def dead_letters(client):
    return client.xrange("jobs:dead")


def test_a_poisoned_job_is_delivered_n_times_then_dead_lettered_exactly_once(r):
    entry_id = poisoned_queue(r, max_deliveries=3)
    assert deliveries_of_a_worker_that_never_acks(r, entry_id, attempts=6) == [entry_id] * 3
    letters = dead_letters(r)
    assert len(letters) == 1
    _, fields = letters[0]
    assert fields == {"task": "resize", "image": "broken.png", "delivery-count": "3", "last-consumer": "w1",
                      "source-stream": "jobs", "source-group": "workers", "source-id": entry_id}
    assert r.xpending("jobs", "workers")["pending"] == 0
    assert r.xlen("jobs") == 1, "the source stream keeps the entry; only the group lets go of it"
    info = group_info(r)
    assert (info["max-deliveries"], info["dead-letter-key"], info["dead-lettered"],
            info["consumer-idle-timeout"]) == (3, "jobs:dead", 1, 0)


def test_each_kind_of_redelivery_leaves_the_exhausted_entry_out_of_its_reply(r):
    r.xgroup_create("jobs", "workers", id="0", mkstream=True)
    set_policy(r, "MAXDELIVERIES", 1, "DEADLETTER", "jobs:dead")
    ids = [r.xadd("jobs", {"n": n}) for n in range(4)]
    r.xadd("jobs", {"n": "fresh"})
    assert len(r.xreadgroup("workers", "w1", {"jobs": ">"}, count=4)[0][1]) == 4
    # History re-read: an empty list for the stream (the entry is no longer this consumer's).
    assert r.xreadgroup("workers", "w1", {"jobs": "0"}, count=1) == [["jobs", []]]
    assert r.xclaim("jobs", "workers", "w2", 0, [ids[1]]) == []
    assert r.xautoclaim("jobs", "workers", "w2", 0, ids[2], count=1)[1] == []
    # XREADGROUP ... CLAIM: the exhausted entry is skipped and the new entry is delivered.
    reply = r.execute_command("XREADGROUP", "GROUP", "workers", "w2", "COUNT", 2, "CLAIM", 0, "STREAMS", "jobs", ">")
    assert [entry[0] for entry in reply[0][1]] == [r.xrange("jobs")[-1][0]]
    assert [fields["source-id"] for _, fields in dead_letters(r)] == ids
    # JUSTID claims hand out nothing, so they never dead-letter (the append-only file replays deliveries that way).
    fresh = r.xrange("jobs")[-1][0]
    assert r.xclaim("jobs", "workers", "w3", 0, [fresh], justid=True) == [fresh]


def test_a_dead_letter_key_of_another_type_keeps_the_entry_pending_and_logs(server, r):
    entry_id = poisoned_queue(r, max_deliveries=1)
    r.xreadgroup("workers", "w1", {"jobs": ">"})
    r.set("jobs:dead", "not a stream")
    assert r.xreadgroup("workers", "w1", {"jobs": "0"}) == [["jobs", []]], "not delivered a second time"
    pending = r.xpending_range("jobs", "workers", "-", "+", 10)
    assert [(p["message_id"], p["times_delivered"]) for p in pending] == [(entry_id, 1)]
    assert group_info(r)["dead-lettered"] == 0
    assert "Cannot dead-letter 1 entries of stream 'jobs' group 'workers' to 'jobs:dead'" in server.log_tail()
    r.delete("jobs:dead")
    r.xreadgroup("workers", "w1", {"jobs": "0"})
    assert [fields["source-id"] for _, fields in dead_letters(r)] == [entry_id]
    assert r.xpending("jobs", "workers")["pending"] == 0


BAD_POLICIES = [
    (("MAXDELIVERIES", 2), "ERR MAXDELIVERIES needs a DEADLETTER key"),
    (("DEADLETTER", "dlq"), "ERR DEADLETTER needs MAXDELIVERIES greater than 0"),
    (("MAXDELIVERIES", 0, "DEADLETTER", "dlq"), "ERR DEADLETTER needs MAXDELIVERIES greater than 0"),
    (("MAXDELIVERIES", -1, "DEADLETTER", "dlq"), "ERR MAXDELIVERIES must be a non-negative integer"),
    (("MAXDELIVERIES", "x", "DEADLETTER", "dlq"), "ERR MAXDELIVERIES must be a non-negative integer"),
    (("MAXDELIVERIES", 2, "DEADLETTER", "jobs"), "ERR the DEADLETTER key must be another key than the group's stream"),
    (("MAXDELIVERIES", 2, "DEADLETTER", "a-string"), "WRONGTYPE Operation against a key holding the wrong kind"),
    (("CONSUMER-IDLE-TIMEOUT", -5), "ERR CONSUMER-IDLE-TIMEOUT must be a non-negative integer (milliseconds)"),
    (("DEADLETTERED", "many"), "ERR DEADLETTERED must be a non-negative integer"),
    (("MAXDELIVERIES", 2, "DEADLETTER"), "ERR syntax error"),
    (("FOO", 1), "ERR syntax error"),
    (("MAXDELIVERIES",), "ERR wrong number of arguments for 'xgroup|setpolicy' command"),
]


@pytest.mark.parametrize("options, error", BAD_POLICIES)
def test_bad_setpolicy_arguments_are_refused_and_change_nothing(server, r, raw, options, error):
    r.xgroup_create("jobs", "workers", id="0", mkstream=True)
    r.set("a-string", "x")
    before = observe(client_of(server))
    reply = raw().call("XGROUP", "SETPOLICY", "jobs", "workers", *options)
    assert reply.startswith(b"-" + error.encode()), reply
    assert observe(client_of(server)) == before
    assert not r.exists("dlq")
    assert "max-deliveries" not in group_info(r)


def test_missing_key_or_group_errors_like_other_xgroup_subcommands(r):
    with pytest.raises(Exception, match="requires the key to exist"):
        set_policy(r, "CONSUMER-IDLE-TIMEOUT", 10, key="nokey")
    r.xgroup_create("jobs", "workers", id="0", mkstream=True)
    with pytest.raises(Exception, match="NOGROUP No such consumer group 'other' for key name 'jobs'"):
        set_policy(r, "CONSUMER-IDLE-TIMEOUT", 10, group="other")


def test_policy_can_be_changed_and_cleared(r):
    poisoned_queue(r, max_deliveries=3)
    set_policy(r, "MAXDELIVERIES", 5)
    set_policy(r, "DEADLETTER", "other:dead", "CONSUMER-IDLE-TIMEOUT", 60000)
    info = group_info(r)
    assert (info["max-deliveries"], info["dead-letter-key"], info["consumer-idle-timeout"]) == (5, "other:dead", 60000)
    set_policy(r, "MAXDELIVERIES", 0, "CONSUMER-IDLE-TIMEOUT", 0)
    assert "max-deliveries" not in group_info(r), "a group without policy shows exactly Redis' fields"
    # With dead-lettering off, entries are redelivered without limit.
    r.xreadgroup("workers", "w1", {"jobs": ">"})
    for _ in range(6):
        assert len(r.xreadgroup("workers", "w1", {"jobs": "0"})[0][1]) == 1


def test_idle_consumers_without_pending_entries_are_removed(r):
    r.xgroup_create("jobs", "workers", id="0", mkstream=True)
    r.xadd("jobs", {"n": 1})
    r.xreadgroup("workers", "busy", {"jobs": ">"})
    r.xgroup_createconsumer("jobs", "workers", "crashed")
    set_policy(r, "CONSUMER-IDLE-TIMEOUT", 200)
    deadline = time.monotonic() + 5
    names = None
    while time.monotonic() < deadline:
        names = [c["name"] for c in r.xinfo_consumers("jobs", "workers")]
        if names == ["busy"]:
            break
        time.sleep(0.1)
    assert names == ["busy"], "the cron removes the idle consumer; one owning an entry stays"
    # Lazily too: a consumer that just read stays, the idle ones go when a worker touches the group.
    r.xgroup_createconsumer("jobs", "workers", "gone")
    time.sleep(0.3)
    r.xreadgroup("workers", "fresh", {"jobs": ">"})
    assert [c["name"] for c in r.xinfo_consumers("jobs", "workers")] == ["busy", "fresh"]


def test_dead_lettered_counter_is_a_prometheus_counter(start_server):
    server, port = start_with_metrics(start_server, "--metrics-key-names", "yes")
    client = server.client()
    entry_id = poisoned_queue(client, max_deliveries=1)
    client.xreadgroup("workers", "w1", {"jobs": ">"})
    client.xautoclaim("jobs", "workers", "w1", 0)
    assert [fields["source-id"] for _, fields in dead_letters(client)] == [entry_id]
    text = scrape(port)
    assert 'rill_consumer_group_dead_lettered_total{db="0",stream="jobs",group="workers"} 1' in text
    assert 'rill_db_consumer_group_dead_lettered_total{db="0"} 1' in text


def work_then_poison(client):
    """Two poisoned jobs dead-lettered, one still pending after one delivery, an idle consumer removed."""
    client.xgroup_create("jobs", "workers", id="0", mkstream=True)
    set_policy(client, "MAXDELIVERIES", 2, "DEADLETTER", "jobs:dead")
    ids = [client.xadd("jobs", {"n": n}) for n in range(3)]
    client.xreadgroup("workers", "w1", {"jobs": ">"}, count=2)
    for _ in range(3):
        client.xautoclaim("jobs", "workers", "w2", 0)
    client.xreadgroup("workers", "w3", {"jobs": ">"})
    client.xgroup_createconsumer("jobs", "workers", "idle")
    set_policy(client, "CONSUMER-IDLE-TIMEOUT", 100)
    time.sleep(0.2)
    client.xreadgroup("workers", "w3", {"jobs": ">"})
    return ids


@pytest.mark.parametrize("mode", ["snapshot", "appendonly"])
def test_dead_letters_and_group_policies_survive_kill_and_restart(start_server, tmp_path, mode):
    if mode == "snapshot":
        directives = ("--dir", str(tmp_path), "--appendonly", "no", "--save", "")
        first = start_server(*directives)
    else:
        first = start_aof(start_server, tmp_path, "--appendfsync", "always")
    client = client_of(first)
    ids = work_then_poison(first.client())
    # w1 and w2 own nothing since their entries were dead-lettered, so they went with `idle`.
    assert [c["name"] for c in first.client().xinfo_consumers("jobs", "workers")] == ["w3"]
    before = full_state(client)
    if mode == "snapshot":
        client.save()
    kill(first)
    if mode == "appendonly":
        with open(aof_path(tmp_path), "rb") as handle:
            logged = handle.read()
        assert b"DELCONSUMER" in logged and b"DEADLETTERED" in logged

    second = start_server(*directives) if mode == "snapshot" else start_aof(start_server, tmp_path)
    client = client_of(second)
    assert full_state(client) == before
    worker = second.client()
    letters = dead_letters(worker)
    assert [fields["source-id"] for _, fields in letters] == ids[:2]
    assert group_info(worker)["dead-lettered"] == 2
    # The restored policy keeps working: the third job is dead-lettered after its second delivery.
    worker.xautoclaim("jobs", "workers", "w4", 0)
    worker.xautoclaim("jobs", "workers", "w4", 0)
    assert [fields["source-id"] for _, fields in dead_letters(worker)] == ids
    assert group_info(worker)["dead-lettered"] == 3


def test_policy_fields_in_resp3_and_through_dump_restore(server, r, r3):
    entry_id = poisoned_queue(r, max_deliveries=1)
    set_policy(r, "CONSUMER-IDLE-TIMEOUT", 90000)
    r.xreadgroup("workers", "w1", {"jobs": ">"})
    r.xclaim("jobs", "workers", "w2", 0, [entry_id])
    [group] = r3.execute_command("XINFO", "GROUPS", "jobs")
    assert {k: group[k] for k in ("max-deliveries", "dead-letter-key", "dead-lettered", "consumer-idle-timeout")} == {
        "max-deliveries": 1, "dead-letter-key": "jobs:dead", "dead-lettered": 1, "consumer-idle-timeout": 90000}
    binary = client_of(server)
    binary.restore("copy", 0, binary.dump("jobs"))
    info = group_info(r, key="copy")
    assert (info["max-deliveries"], info["dead-letter-key"], info["dead-lettered"]) == (1, "jobs:dead", 1)

