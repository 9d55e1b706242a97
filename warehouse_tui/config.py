"""Settings: options beat environment, environment beats the config file (DESIGN §6).

The config file is TOML, searched nearest-first: --config, ./warehouse-tui.toml,
then the user config dir. Unknown keys are an error that names them.

A file that holds a password must be readable by its owner only (mode 0600):
one that sets `upstream`, sets `db` to a URL (a server's, which may carry
credentials), or holds any URL with a password in it. The refusal names the
setting, never its value.
"""

from __future__ import annotations

import os
import socket
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import platformdirs

from warehouse_tui.errors import ConfigError

APP = "warehouse-tui"
CONFIG_NAME = "warehouse-tui.toml"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def default_db_path() -> Path:
    return data_dir() / "warehouse.sqlite"


@dataclass
class Settings:
    db: str = ""
    terminal: str = ""
    scanner: str = "keyboard"
    upstream: str | None = None
    receiving_bin: str | None = None
    # Where returned goods land: good ones in the returns bin, damaged ones in quarantine (default: the first bin of each kind).
    returns_bin: str | None = None
    quarantine_bin: str | None = None
    over_receipt_tolerance_pct: int = 0
    idle_logout_seconds: int = 600
    gs1_company_prefix: str = "0950110"
    gs_substitute: str = "~"
    # A code not yet known becomes a new LPN only when it looks like one (an SSCC
    # always does): a stray qty or a garbage scan must not open a phantom pallet.
    lpn_pattern: str = r"(?i)(LPN|PAL)[-_]?[A-Z0-9-]{2,40}"
    label_dir: str = ""
    # The label printer's resolution (203, 300 or 600 dpi): ZPL labels are laid out in its dots
    # so GS1-128 bars are as wide as GS1 requires (warehouse_tui/labels/symbol_size.py).
    printer_dpi: int = 203
    # The supervisor's floor view (@FLOOR): a held pick list idle this long is marked, the view
    # measures again this often while shown, lots expiring within this many days are listed,
    # and the shift it draws per hour is this many hours up to now.
    floor_idle_minutes: int = 10
    floor_refresh_seconds: int = 5
    floor_expiry_days: int = 30
    shift_hours: int = 8
    # A site's own couriers (carrier codes on orders): their tracking numbers may have any format.
    any_carriers: list = field(default_factory=list)
    # Replenishment may move a lot expiring up to this many days after the FEFO lot it suggested.
    replen_fefo_tolerance_days: int = 0

    def resolved_db(self) -> str:
        return self.db or str(default_db_path())

    def resolved_terminal(self) -> str:
        return self.terminal or socket.gethostname() or "terminal"


_ENV = {"db": "WAREHOUSE_DB", "terminal": "WAREHOUSE_TERMINAL", "upstream": "WAREHOUSE_UPSTREAM", "scanner": "WAREHOUSE_SCANNER"}


def find_config(explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise ConfigError(f"Config file {path} does not exist")
        if path.is_dir():
            raise ConfigError(f"Config file {path} is a folder — give --config a TOML file")
        return path
    for candidate in (Path.cwd() / CONFIG_NAME, Path(platformdirs.user_config_dir(APP)) / CONFIG_NAME):
        if candidate.exists():
            return candidate
    return None


# Query parameters that carry a password in database URLs (libpq's password, sslpassword; passwd, pass elsewhere).
_PASSWORD_PARAMS = ("pass",)


def _may_hold_password(key: str, value: object) -> bool:
    """Whether a config setting can carry a password: the upstream, a database URL, or any URL with one in it."""
    if key == "upstream":
        return True
    if not isinstance(value, str) or "://" not in value:
        return False
    if key == "db":
        return True
    try:
        url = urlsplit(value)
        has_password = url.password is not None
    except ValueError:  # a malformed URL: it may still hold one
        return True
    return has_password or any(p in name.lower() for name, _ in parse_qsl(url.query) for p in _PASSWORD_PARAMS)


def load_settings(config: str | None = None, **options: object) -> Settings:
    """Settings from the file, then the environment, then the given options (None = not given)."""
    settings = Settings()
    known = {f.name: f for f in fields(Settings)}
    path = find_config(config)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Config file {path} is not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"Config file {path} cannot be read: {exc.strerror or exc}") from exc
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"Config file {path}: unknown key(s) {', '.join(unknown)}")
        secret = [key for key, value in data.items() if _may_hold_password(key, value)]
        if secret and os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"Config file {path} holds credentials ({', '.join(secret)}) and must be mode 0600 (readable "
                              f"by its owner only): chmod 600 {path}")
        for key, value in data.items():
            expected = type(getattr(settings, key)) if getattr(settings, key) is not None else str
            if not isinstance(value, expected):
                raise ConfigError(f"Config file {path}: {key} must be a {expected.__name__}")
            setattr(settings, key, value)
    for key, var in _ENV.items():
        if os.environ.get(var):
            setattr(settings, key, os.environ[var])
    for key, value in options.items():
        if key not in known:
            raise ConfigError(f"unknown setting {key}")
        if value is not None:
            setattr(settings, key, value)
    return settings
