"""The hardware package is a library: it imports nothing of ours and no MQTT, SQL or web stack."""

from __future__ import annotations

import inspect
import subprocess
import sys

import hardware
from hardware import errors

FORBIDDEN = {
    "protocol",
    "edge_agent",
    "hub",
    "paho",
    "sqlite3",
    "sqlite_utils",
    "sqlalchemy",
    "psycopg",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "evdev",
    "usb",
}


def test_importing_every_module_loads_nothing_forbidden() -> None:
    code = (
        "import sys, pkgutil, importlib, hardware, hardware.printing\n"
        "for m in pkgutil.walk_packages(hardware.__path__, 'hardware.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "hardware" in loaded
    assert not loaded & FORBIDDEN


def test_error_tree_is_drawn_in_its_docstring() -> None:
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]
    assert len(classes) >= 8
    for cls in classes:
        assert issubclass(cls, errors.HardwareError)
        assert cls.__name__ in (errors.__doc__ or ""), cls


def test_public_names_are_exported() -> None:
    for name in hardware.__all__:
        assert getattr(hardware, name) is not None


def test_importing_the_package_is_lazy_and_exports_every_public_name() -> None:
    code = (
        "import sys, hardware, hardware.codes, hardware.return_codes\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not set(out.stdout.split()) & {"escpos", "PIL", "qrcode", "zeroconf", "serial"}
    assert set(hardware.__all__) == set(hardware._MODULE_OF)
    assert set(hardware.__all__) <= set(dir(hardware))
