"""Settings: precedence (flags > env > presswatch.toml > defaults), the design's bare
env names, validation that names the field, and the README listing every field."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.errors import ConfigError
from presswatch.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults(in_tmp: Path) -> None:
    s = load_settings()
    assert s.data_dir == Path("./presswatch-data")
    assert s.resolved_database_url.startswith("sqlite:///") and s.resolved_database_url.endswith(
        "presswatch.db"
    )
    assert s.meili_url is None and s.redis_url is None and s.api_key is None
    assert s.removal_confirmations == 2


def test_precedence_flag_env_file_default(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "presswatch.toml").write_text(
        'data_dir = "from-file"\nremoval_confirmations = 4\nlog_level = "info"\n'
    )
    s = load_settings()
    assert (
        s.data_dir == Path("from-file") and s.removal_confirmations == 4 and s.log_level == "INFO"
    )
    monkeypatch.setenv("PRESSWATCH_DATA_DIR", "from-env")
    assert load_settings().data_dir == Path("from-env")
    assert load_settings().removal_confirmations == 4  # file still fills the rest
    assert load_settings(data_dir=Path("from-flag")).data_dir == Path("from-flag")


def test_config_file_named_by_env(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = in_tmp / "elsewhere.toml"
    other.write_text("removal_confirmations = 3\n")
    monkeypatch.setenv("PRESSWATCH_CONFIG", str(other))
    assert load_settings().removal_confirmations == 3


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ("DATABASE_URL", "database_url", "postgresql+psycopg://u@h/db"),
        ("PRESSWATCH_DATABASE_URL", "database_url", "postgresql+psycopg://u@h/db2"),
        ("MEILI_URL", "meili_url", "http://127.0.0.1:7700"),
        ("REDIS_URL", "redis_url", "redis://127.0.0.1:6379/0"),
    ],
)
def test_design_env_names(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, env: str, field: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    assert getattr(load_settings(), field) == value


def test_plain_postgres_url_gets_the_psycopg_driver(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert load_settings().database_url == "postgresql+psycopg://u@h/db"


def test_secrets_are_not_printed(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEILI_MASTER_KEY", "s3cret")
    monkeypatch.setenv("PRESSWATCH_API_KEY", "adm1n")
    s = load_settings()
    assert "s3cret" not in repr(s) and "adm1n" not in repr(s)
    assert s.meili_master_key is not None and s.meili_master_key.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("removal_confirmations = 0\n", "removal_confirmations"),
        ("log_level = 'LOUD'\n", "log_level"),
        ("no_such_setting = 1\n", "no_such_setting"),
        ("database_url = 'just-a-path.db'\n", "database_url"),
        ("image_recheck_interval = 'weekly'\n", "image_recheck_interval"),
        ("image_recheck_interval = '-1d'\n", "image_recheck_interval"),
        ("this is not toml\n", "settings"),
    ],
)
def test_invalid_values_name_the_field(in_tmp: Path, content: str, needle: str) -> None:
    (in_tmp / "presswatch.toml").write_text(content)
    with pytest.raises(ConfigError, match=needle):
        load_settings()


def test_readme_lists_every_setting() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`{name}`" not in readme]
    assert not missing, f"README's settings table lacks {missing}"


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def test_the_image_interval_may_be_zero(in_tmp: Path) -> None:
    """`0s` fetches an unchanged page's images with every check (the behaviour before
    the interval); a duration elsewhere must be more than zero."""
    (in_tmp / "presswatch.toml").write_text("image_recheck_interval = '0s'\n")
    assert load_settings().image_recheck_interval == "0s"
