"""The environment Binder gives a student, built as repo2docker would, without Docker.

From a fresh ``platformlab publish`` copy: a new virtual environment with the
Python that ``binder/runtime.txt`` names, ``pip install -r binder/requirements.txt``
and then ``binder/postBuild``, both run in the copy's root. It is built once per
test session (``build``); pip's cache is reused, so later sessions install from it.

What differs from a real Binder: no Docker image and no conda base environment
(repo2docker installs its own Jupyter stack first, and the pins then replace it),
and ``HOME`` is a fresh folder rather than the repository itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from platformlab_instructor.publish import publish

PUBLIC_REPO = "example-org/platformlab-student"
_built: dict[str, BinderEnv] = {}


@dataclass(frozen=True)
class BinderEnv:
    copy: Path  # the published student copy (what Binder clones)
    venv: Path
    home: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def environ(self) -> dict[str, str]:
        """The environment a student's server and kernels run in: this venv first on PATH,
        nothing of the instructor's checkout (no PYTHONPATH) or of the developer's Jupyter set-up, and
        Python saves compiled modules, as on Binder (CI machines may set PYTHONDONTWRITEBYTECODE)."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MPLBACKEND", "PYTHONDONTWRITEBYTECODE")
            and not key.startswith(("JUPYTER_", "IPYTHON"))
        }
        env.update(
            PATH=f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            VIRTUAL_ENV=str(self.venv),
            HOME=str(self.home),
            PIP_CACHE_DIR=_pip_cache(),
        )
        return env

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run a command in the environment; raise with its output if it fails."""
        done = subprocess.run(
            list(args), cwd=cwd or self.copy, env=self.environ(), capture_output=True, text=True, timeout=timeout
        )
        if done.returncode:
            raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done


def _pip_cache() -> str:
    # Fixed before HOME moves, so that every build reuses the developer's (or CI's) pip cache.
    return os.environ.get("PIP_CACHE_DIR") or str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pip")


def runtime_python(copy: Path) -> str:
    """An interpreter for the version ``binder/runtime.txt`` names (``python-3.11``)."""
    version = re.fullmatch(r"python-(\d+\.\d+)", (copy / "binder" / "runtime.txt").read_text().strip())
    assert version, "binder/runtime.txt should read python-X.Y, as repo2docker expects"
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version[1]:
        return sys.executable
    found = shutil.which(f"python{version[1]}")
    assert found, f"binder/runtime.txt asks for Python {version[1]}, which this machine does not have"
    return found


def build(tmp_path_factory) -> BinderEnv:
    """Publish the course and build its Binder environment, once per test session."""
    if "env" not in _built:
        base = tmp_path_factory.mktemp("binder")
        copy, home = base / "student-copy", base / "home"
        home.mkdir()
        publish(copy, repo=PUBLIC_REPO)
        env = BinderEnv(copy, base / "venv", home)
        subprocess.run([runtime_python(copy), "-m", "venv", str(env.venv)], check=True)
        # --no-compile: byte-compiling every installed file is a third of pip's time here; Python compiles
        # (and, as on Binder, saves) what the kernels import when they first import it.
        env.run(str(env.bin / "python"), "-m", "pip", "install", "--quiet", "--no-compile", "-r", "binder/requirements.txt")
        env.run("binder/postBuild")
        _built["env"] = env
    return _built["env"]
