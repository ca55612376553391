"""Server settings: the one table in docs/configuration.md, and flag > env > config file > default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from podium.errors import InvalidParameterValue
from podium.server import settings as settings_module
from podium.server.settings import SETTINGS, ServerSettings, available_cores, default_workers, load_config_file

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(--[^`]+)` \| `(PODIUM_\w+)` \| (?:`(\w+)`|—) \| (?:`([^`]*)`|none) \| (.+) \|$", re.M)


def _doc_default(default) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


def test_configuration_doc_lists_every_setting_and_nothing_else():
    documented = [(m[1], m[2], m[3] or None, m[4] if m[4] is not None else "") for m in ROW.finditer(DOC.read_text())]
    in_code = [(s.flag, s.env, s.key, "" if s.default in ("", ()) else _doc_default(s.default)) for s in SETTINGS]
    assert documented == in_code


def test_every_setting_has_help_a_dataclass_field_and_a_cli_option():
    from podium.cli.server import server

    assert [s.field for s in SETTINGS] == list(ServerSettings.__dataclass_fields__)
    options = {p.name: p for p in server.params}
    for s in SETTINGS:
        assert s.help and s.env == "PODIUM_" + s.field.upper()
        assert s.field in options and s.flag.split("/")[0] in options[s.field].opts
        assert getattr(ServerSettings(), s.field) == s.default_value()


@pytest.mark.parametrize("affinity, cpu_max, cores, workers", [
    (8, None, 8, 2),                  # many cores: capped at the 2 measured (decision 0028)
    (2, None, 2, 2),
    (1, None, 1, 1),                  # one core: one process
    (8, "max 100000", 8, 2),          # a cgroup without a CPU limit
    (8, "100000 100000", 1, 1),       # a container limited to 1 CPU on a big node
    (8, "150000 100000", 2, 2),       # 1.5 CPUs round up
    (1, "400000 100000", 1, 1),       # the affinity is the tighter bound
])
def test_default_workers_is_the_available_cores_capped_at_two(tmp_path, monkeypatch, affinity, cpu_max, cores,
                                                              workers):
    monkeypatch.setattr(settings_module.os, "sched_getaffinity", lambda pid: set(range(affinity)))
    path = tmp_path / "cpu.max"
    if cpu_max is not None:
        path.write_text(cpu_max + "\n")
    assert available_cores(str(path)) == cores
    monkeypatch.setattr(settings_module, "available_cores", lambda: cores)
    assert default_workers() == workers
    assert ServerSettings.from_env({}).workers == workers
    assert ServerSettings.from_env({"PODIUM_WORKERS": "3"}).workers == 3   # the variable still overrides
    assert ServerSettings.from_env({}, workers=1).workers == 1             # and the flag


def test_server_help_says_the_workers_rule():
    from podium.cli.server import server

    out = CliRunner().invoke(server, ["--help"], terminal_width=200).output
    assert "default: auto]" in out and "2 when the process may use 2 or more cores" in " ".join(out.split())


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _config(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_defaults_when_nothing_is_given(cwd):
    s = ServerSettings.from_env({})
    assert (s.port, s.workers, s.host, s.metrics, s.config) == (5000, default_workers(), "127.0.0.1", True, "")
    assert s.backend_store_uri == f"sqlite:///{(cwd / 'podium-data' / 'podium.db').as_posix()}"


def test_config_file_beats_default_env_beats_file_flag_beats_env(cwd):
    config = _config(cwd / "podium.toml", 'port = 7001\nworkers = 3\nlog_format = "json"\naccess_log = false\n'
                                         'db_threads = 9\n')
    env = {"PODIUM_CONFIG": config, "PODIUM_WORKERS": "5", "PODIUM_LOG_FORMAT": "text"}
    s = ServerSettings.from_env(env, log_format="json")
    assert s.port == 7001                       # file over default
    assert s.workers == 5                       # env over file
    assert s.log_format == "json"               # flag over env
    assert s.access_log is False and s.db_threads == 9
    assert s.host == "127.0.0.1"                # default: in none of them
    assert s.config == str(cwd / "podium.toml")


def test_database_defaults_to_the_tracking_uri_after_flag_env_and_file(cwd):
    tracking = f"sqlite:///{(cwd / 'demo' / 'podium.db').as_posix()}"
    assert ServerSettings.from_env({"PODIUM_TRACKING_URI": tracking}).backend_store_uri == tracking
    assert ServerSettings.from_env({}, tracking_uri="sqlite:///rel.db").backend_store_uri == \
        f"sqlite:///{(cwd / 'rel.db').as_posix()}"
    config = _config(cwd / "podium.toml", 'backend_store_uri = "sqlite:////from/file.db"\n')
    assert ServerSettings.from_env({"PODIUM_CONFIG": config}, tracking_uri=tracking).backend_store_uri == \
        "sqlite:////from/file.db"
    env = {"PODIUM_BACKEND_STORE_URI": "sqlite:////from/env.db", "PODIUM_TRACKING_URI": tracking}
    assert ServerSettings.from_env(env).backend_store_uri == "sqlite:////from/env.db"
    assert ServerSettings.from_env(env, backend_store_uri="sqlite:////flag.db").backend_store_uri == "sqlite:////flag.db"


def test_the_tracking_uri_store_is_served_with_its_artifacts_beside_it_as_embedded_mode_keeps_them(cwd):
    tracking = f"sqlite:///{(cwd / 'demo' / 'podium.db').as_posix()}"
    assert ServerSettings.from_env({"PODIUM_TRACKING_URI": tracking}).artifacts_destination == str(cwd / "demo" / "artifacts")
    given = ServerSettings.from_env({"PODIUM_TRACKING_URI": tracking}, artifacts_destination="/srv/files")
    assert given.artifacts_destination == "/srv/files"  # an explicit destination wins
    own_store = ServerSettings.from_env({"PODIUM_TRACKING_URI": tracking}, backend_store_uri="sqlite:////x/y.db")
    assert own_store.artifacts_destination == str(cwd / "podium-data" / "artifacts")  # not the tracking URI's store
    pg = ServerSettings.from_env({}, tracking_uri="postgresql://u@h/db")
    assert pg.artifacts_destination == str(cwd / "podium-data" / "artifacts")  # no file to be beside


def test_a_tracking_uri_that_is_a_server_is_refused_as_the_database(cwd):
    with pytest.raises(InvalidParameterValue, match="is a server, not a database"):
        ServerSettings.from_env({"PODIUM_TRACKING_URI": "http://127.0.0.1:5000"})
    given = ServerSettings.from_env({"PODIUM_TRACKING_URI": "http://127.0.0.1:5000"}, backend_store_uri="sqlite:////x.db")
    assert given.backend_store_uri == "sqlite:////x.db"


def test_config_flag_beats_podium_config(cwd):
    a = _config(cwd / "a.toml", "port = 7001\n")
    b = _config(cwd / "b.toml", "port = 7002\n")
    assert ServerSettings.from_env({"PODIUM_CONFIG": a}, config=b).port == 7002
    assert ServerSettings.from_env({"PODIUM_CONFIG": a}).port == 7001


def test_empty_variable_counts_as_unset(cwd):
    config = _config(cwd / "podium.toml", "port = 7001\n")
    assert ServerSettings.from_env({"PODIUM_CONFIG": config, "PODIUM_PORT": ""}).port == 7001


def test_workers_get_the_same_settings_through_the_environment(cwd):
    config = _config(cwd / "podium.toml", 'artifacts_destination = "s3://bucket/prefix"\nmetrics = false\n')
    s = ServerSettings.from_env({}, config=config, port=6001)
    assert s.artifacts_destination == "s3://bucket/prefix"  # object-store URIs are not made into paths
    assert ServerSettings.from_env(s.to_env()) == s


def test_relative_paths_resolve_against_the_working_directory(cwd):
    config = _config(cwd / "podium.toml", 'backend_store_uri = "sqlite:///data/p.db"\nartifacts_destination = "art"\n')
    s = ServerSettings.from_env({"PODIUM_CONFIG": config})
    assert s.backend_store_uri == f"sqlite:///{(cwd / 'data' / 'p.db').as_posix()}"
    assert s.artifacts_destination == str(cwd / "art")


@pytest.mark.parametrize("text, message", [
    ("prot = 80\n", "Unknown setting(s) in config file"),
    ('port = "80"\n', "expected a TOML integer"),
    ("access_log = 1\n", "expected a TOML boolean"),
    ("workers = true\n", "expected a TOML integer"),
    ('log_level = "loud"\n', "expected one of critical, error, warning, info, debug"),
    ("workers = 0\n", "expected at least 1"),
    ('config = "other.toml"\n', "Unknown setting(s)"),
    ("port = \n", "is not valid TOML"),
])
def test_bad_config_files_are_refused_with_the_reason(cwd, text, message):
    config = _config(cwd / "podium.toml", text)
    with pytest.raises(InvalidParameterValue) as info:
        load_config_file(config)
    assert message in info.value.message


def test_missing_config_file_is_refused(cwd):
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        ServerSettings.from_env({"PODIUM_CONFIG": str(cwd / "nope.toml")})


@pytest.mark.parametrize("env, message", [
    ({"PODIUM_PORT": "eighty"}, "Invalid value 'eighty' for port (PODIUM_PORT): expected an integer."),
    ({"PODIUM_ACCESS_LOG": "maybe"}, "expected true or false"),
    ({"PODIUM_LOG_FORMAT": "xml"}, "expected one of text, json"),
    ({"PODIUM_PORT": "70000"}, "expected at most 65535"),
    ({"PODIUM_SESSION_SECRET": "short"}, "Invalid value '***' for session_secret (PODIUM_SESSION_SECRET): expected at "
                                         "least 32 characters"),
])
def test_bad_environment_values_are_refused(cwd, env, message):
    with pytest.raises(InvalidParameterValue) as info:
        ServerSettings.from_env(env)
    assert message in info.value.message


@pytest.mark.parametrize("raw, value", [("1", True), ("YES", True), ("on", True), ("0", False), ("off", False)])
def test_boolean_variables(cwd, raw, value):
    assert ServerSettings.from_env({"PODIUM_METRICS": raw}).metrics is value


def test_cli_applies_flag_env_file_precedence(cwd, monkeypatch):
    import podium.server.runner as runner
    from podium.cli.server import server

    seen = {}
    monkeypatch.setattr(runner, "serve", lambda settings: seen.update(settings=settings))
    config = _config(cwd / "podium.toml", 'port = 7001\nworkers = 3\nhost = "0.0.0.0"\nmetrics = false\n')
    result = CliRunner().invoke(server, ["--config", config, "--port", "7100"], env={"PODIUM_WORKERS": "2"})
    assert result.exit_code == 0, result.output
    s = seen["settings"]
    assert (s.port, s.workers, s.host, s.metrics) == (7100, 2, "0.0.0.0", False)
    result = CliRunner().invoke(server, ["--no-access-log"], env={"PODIUM_CONFIG": config})
    assert result.exit_code == 0 and seen["settings"].port == 7001 and seen["settings"].access_log is False


def test_cli_reports_a_bad_setting_as_a_usage_error(cwd, monkeypatch):
    import podium.server.runner as runner
    from podium.cli.server import server

    monkeypatch.setattr(runner, "serve", lambda settings: pytest.fail("must not start"))
    config = _config(cwd / "podium.toml", "wokers = 2\n")
    result = CliRunner().invoke(server, ["--config", config])
    assert result.exit_code == 2 and "Unknown setting(s) in config file" in result.output and "wokers" in result.output
    result = CliRunner().invoke(server, [], env={"PODIUM_DB_THREADS": "many"})
    assert result.exit_code == 2 and "db_threads (PODIUM_DB_THREADS)" in result.output


def test_allowed_source_prefixes_from_the_flag_the_variable_and_the_file(cwd, monkeypatch):
    import podium.server.runner as runner
    from podium.cli.server import server

    seen = {}
    monkeypatch.setattr(runner, "serve", lambda settings: seen.update(settings=settings))
    config = _config(cwd / "podium.toml", 'allowed_source_prefixes = ["s3://file/models", "shared"]\n')
    assert ServerSettings.from_env({"PODIUM_CONFIG": config}).allowed_source_prefixes == \
        ("s3://file/models", str(cwd / "shared"))  # relative directories resolve, as other paths do
    from_env = ServerSettings.from_env({"PODIUM_CONFIG": config, "PODIUM_ALLOWED_SOURCE_PREFIXES": "s3://a/x, s3://b"})
    assert from_env.allowed_source_prefixes == ("s3://a/x", "s3://b")
    assert ServerSettings.from_env(from_env.to_env()) == from_env  # how worker processes receive them
    result = CliRunner().invoke(server, ["--allowed-source-prefix", "s3://c", "--allowed-source-prefix", "s3://d/m"],
                                env={"PODIUM_ALLOWED_SOURCE_PREFIXES": "s3://a/x"})
    assert result.exit_code == 0, result.output
    assert seen["settings"].allowed_source_prefixes == ("s3://c", "s3://d/m")  # the flags beat the variable
    result = CliRunner().invoke(server, [], env={"PODIUM_ALLOWED_SOURCE_PREFIXES": "s3://a/x"})
    assert seen["settings"].allowed_source_prefixes == ("s3://a/x",)  # no flag: not an empty override
    assert ServerSettings.from_env({}).allowed_source_prefixes == ()


@pytest.mark.parametrize("text", ['allowed_source_prefixes = "s3://a"\n', "allowed_source_prefixes = [1]\n",
                                  'allowed_source_prefixes = ["s3://a,b"]\n'])
def test_allowed_source_prefixes_must_be_a_list_of_uris_without_commas(cwd, text):
    with pytest.raises(InvalidParameterValue, match="allowed_source_prefixes"):
        load_config_file(_config(cwd / "podium.toml", text))


def test_the_session_secret_is_made_once_for_all_workers(cwd):
    given = ServerSettings.from_env({"PODIUM_SESSION_SECRET": "k" * 40})
    assert given.with_session_secret().session_secret == "k" * 40
    made = ServerSettings.from_env({}).with_session_secret()
    assert len(made.session_secret) >= 32 and made.session_secret != ServerSettings.from_env({}).with_session_secret().session_secret
    assert ServerSettings.from_env(made.to_env()).session_secret == made.session_secret  # what each worker reads


def test_mlflow_webhook_variables_apply_when_podiums_are_not_set(cwd):
    env = {"MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https", "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true"}
    s = ServerSettings.from_env(env)
    assert s.webhook_allowed_schemes == ("http", "https") and s.webhook_allow_private_ips is True
    own = ServerSettings.from_env({**env, "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "https",
                                   "PODIUM_WEBHOOK_ALLOW_PRIVATE_IPS": "false"})
    assert own.webhook_allowed_schemes == ("https",) and own.webhook_allow_private_ips is False
    assert ServerSettings.from_env({}).webhook_allowed_schemes == ()  # the policy then allows https only
    with pytest.raises(InvalidParameterValue, match="MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS"):
        ServerSettings.from_env({"MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "maybe"})


def test_the_webhook_key_file_defaults_beside_the_sqlite_database(cwd):
    s = ServerSettings.from_env({}, backend_store_uri="sqlite:///data/p.db")
    assert s.webhook_secret_key_file == str(cwd / "data" / "webhook-secret.key")
    pg = ServerSettings.from_env({}, backend_store_uri="postgresql://u@h/db")
    assert pg.webhook_secret_key_file == str(cwd / "podium-data" / "webhook-secret.key")


def test_gc_durations_from_the_flag_the_variable_and_the_file(cwd):
    config = _config(cwd / "podium.toml", 'gc_interval = "6h"\ngc_retention = "2d8h"\n')
    s = ServerSettings.from_env({"PODIUM_CONFIG": config})
    assert (s.gc_interval, s.gc_retention) == ("6h", "2d8h")
    assert ServerSettings.from_env({"PODIUM_GC_INTERVAL": "1d"}, gc_interval="90s").gc_interval == "90s"
    for env in ({"PODIUM_GC_INTERVAL": "daily"}, {"PODIUM_GC_RETENTION": "-3d"}):
        with pytest.raises(InvalidParameterValue, match="is not a duration; use numbers with units"):
            ServerSettings.from_env(env)
    with pytest.raises(InvalidParameterValue, match="gc_interval .*config file"):
        ServerSettings.from_env({"PODIUM_CONFIG": _config(cwd / "bad.toml", "gc_interval = 5\n")})
