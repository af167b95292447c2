"""Which spec field a redeploy changed, and which services it restarted (model/idempotence.py)."""

from __future__ import annotations

from pytest_ccci.model.idempotence import MAX_FIELDS, ServiceSnapshot, changed_fields, replaced_tasks


def spec(env=("GREETING=hi", "DOMAIN=a.test"), image="ccci/busybox:1.35.0", config_id="c1", labels=None):
    return {
        "Name": "s_app",
        "Labels": labels or {"coop-cloud.s.version": "1.0.0"},
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": image,
                "Env": list(env),
                "Configs": [{"ConfigID": config_id, "ConfigName": "s_entrypoint_v1", "File": {"Name": "/e.sh"}}],
            },
            "ForceUpdate": 0,
        },
    }


def test_identical_specs_differ_nowhere():
    assert changed_fields(spec(), spec()) == []


def test_image_field_is_named_by_its_path():
    assert changed_fields(spec(), spec(image="ccci/busybox:moving")) == ["TaskTemplate.ContainerSpec.Image"]


def test_env_names_the_variables_never_the_values():
    fields = changed_fields(spec(), spec(env=("GREETING=hello", "DOMAIN=a.test", "TOKEN=s3cret")))
    assert fields == ["TaskTemplate.ContainerSpec.Env (GREETING, TOKEN)"]
    assert "hello" not in fields[0] and "s3cret" not in fields[0]


def test_env_order_alone_is_no_change_of_value():
    assert changed_fields(spec(env=("A=1", "B=2")), spec(env=("B=2", "A=1"))) == []


def test_lists_of_mappings_are_followed_by_index():
    assert changed_fields(spec(), spec(config_id="c2")) == ["TaskTemplate.ContainerSpec.Configs[0].ConfigID"]


def test_added_and_removed_keys_and_lists_of_other_lengths():
    before = {"A": {"x": 1}, "L": [1, 2]}
    after = {"A": {"x": 1, "y": 2}, "L": [1, 2, 3]}
    assert changed_fields(before, after) == ["A.y", "L"]
    assert changed_fields(1, 2) == ["(the whole document)"]


def snap(tasks, **kw):
    return ServiceSnapshot(spec(**kw), frozenset(tasks))


def test_same_tasks_is_idempotent_even_when_labels_moved():
    # A service label change updates the service, not its tasks: nothing restarted.
    before = {"s_app": snap({"t1"})}
    after = {"s_app": snap({"t1"}, labels={"coop-cloud.s.version": "2"})}
    assert replaced_tasks(before, after) == []


def test_replaced_task_names_service_and_field():
    before = {"s_app": snap({"t1" * 10}), "s_db": snap({"d1"})}
    after = {"s_app": snap({"t2" * 10}, env=("GREETING=moved", "DOMAIN=a.test")), "s_db": snap({"d1"})}
    assert replaced_tasks(before, after) == [
        "service s_app: task t1t1t1t1t1t1 replaced; its spec changed: TaskTemplate.ContainerSpec.Env (GREETING)"
    ]


def test_replaced_without_a_spec_change_says_so():
    (line,) = replaced_tasks({"s_app": snap({"t1"})}, {"s_app": snap({"t2"})})
    assert line == "service s_app: task t1 replaced though its spec did not change (it stopped on its own)"


def test_created_and_removed_services():
    lines = replaced_tasks({"s_old": snap({"t1"})}, {"s_new": snap({"t2"})})
    assert lines == ["service s_new was created by the redeploy", "service s_old was removed by the redeploy"]


def test_many_fields_are_bounded():
    before = {"s": ServiceSnapshot({f"F{i}": 1 for i in range(10)}, frozenset({"a"}))}
    after = {"s": ServiceSnapshot({f"F{i}": 2 for i in range(10)}, frozenset({"b"}))}
    (line,) = replaced_tasks(before, after)
    assert line.endswith(f"and {10 - MAX_FIELDS} more")
    assert line.count("F") == MAX_FIELDS
