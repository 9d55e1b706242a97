"""Config files: a setting that can hold a password needs a 0600 file, and the refusal never echoes it (issue 10)."""

from __future__ import annotations

import pytest
from test_cli_check import run_cli

from warehouse_tui.config import load_settings
from warehouse_tui.errors import ConfigError

SECRET = "s3cretPW"


def config(tmp_path, text: str, mode: int):
    path = tmp_path / "warehouse-tui.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_database_url_in_a_readable_config_is_refused_without_echoing_it(tmp_path, mode):
    path = config(tmp_path, f'db = "postgresql+psycopg://clerk:{SECRET}@db-host/wms"\n', mode)
    with pytest.raises(ConfigError) as refused:
        load_settings(str(path))
    assert "0600" in str(refused.value) and "db" in str(refused.value)
    assert SECRET not in str(refused.value) and "clerk" not in str(refused.value)


def test_a_url_with_a_password_in_any_setting_needs_0600(tmp_path):
    path = config(tmp_path, f'scanner = "socket://reader:{SECRET}@10.0.0.5:2001"\n', 0o644)
    with pytest.raises(ConfigError, match="scanner") as refused:
        load_settings(str(path))
    assert SECRET not in str(refused.value)


def test_a_password_in_a_url_query_counts_too(tmp_path):
    path = config(tmp_path, f'db = "postgresql+psycopg://db-host/wms?user=clerk&password={SECRET}"\n', 0o644)
    with pytest.raises(ConfigError, match="0600") as refused:
        load_settings(str(path))
    assert SECRET not in str(refused.value)


def test_the_same_settings_in_a_0600_file_are_taken(tmp_path):
    url = f"postgresql+psycopg://clerk:{SECRET}@db-host/wms"
    path = config(tmp_path, f'db = "{url}"\nupstream = "{url}"\n', 0o600)
    settings = load_settings(str(path))
    assert settings.db == url and settings.upstream == url


def test_settings_that_hold_no_password_need_no_0600(tmp_path):
    path = config(tmp_path, 'db = "/var/lib/warehouse/t1.sqlite"\nscanner = "serial:///dev/ttyACM0?baud=9600"\n', 0o644)
    settings = load_settings(str(path))
    assert settings.db == "/var/lib/warehouse/t1.sqlite" and settings.scanner.startswith("serial://")


def test_the_cli_refuses_a_readable_config_with_a_password_in_one_line(tmp_path):
    path = config(tmp_path, f'db = "postgresql+psycopg://clerk:{SECRET}@127.0.0.1:1/wms"\n', 0o644)
    result = run_cli(tmp_path, "check", "--config", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "chmod 600" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_given_as_config_is_a_config_error(tmp_path):
    folder = tmp_path / "conf.d"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        load_settings(str(folder))
