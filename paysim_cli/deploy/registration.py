"""Which functions a package registers, found by loading its `function_app.py` as the Python worker does.

The check runs in a fresh interpreter with the package's directory and its vendored
`.python_packages/lib/site-packages` first on `sys.path` (where the worker looks), so it sees the
package's own code and dependencies, never the modules this process already imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.pipeline.loader import RegisteredFunction

SITE_PACKAGES = Path(".python_packages") / "lib" / "site-packages"
CHECK_TIMEOUT_SECONDS = 180.0

# `-I` keeps PYTHONPATH and the user's site out; paysim's own install comes after the package's paths.
_SCRIPT = """
import json, sys
app_dir, site_packages = sys.argv[1], sys.argv[2]
sys.path[:0] = [app_dir, site_packages]
from paysim_cli.errors import PaysimError
from paysim_cli.pipeline.loader import registered_functions
from pathlib import Path
try:
    functions = registered_functions(Path(app_dir))
except PaysimError as error:
    print(json.dumps({"error": error.to_dict()}))
    sys.exit(3)
print(json.dumps({"functions": [[f.name, f.trigger] for f in functions]}))
"""


def check_registration(app_dir: Path, shown_as: Path | None = None) -> list[RegisteredFunction]:
    """The functions the app in `app_dir` registers; `no_functions_registered` when it registers none.
    Messages name `shown_as` (the sources, or the package) rather than a scratch copy."""
    shown = shown_as or app_dir
    script = shown / "function_app.py" if shown.is_dir() else shown  # a package is named as it is
    try:
        completed = subprocess.run(
            [sys.executable, "-I", "-B", "-c", _SCRIPT, str(app_dir), str(app_dir / SITE_PACKAGES)],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_SECONDS,
            check=False,
            cwd=app_dir,
        )
    except subprocess.TimeoutExpired as error:
        raise PaysimError(
            "function_app_import_failed",
            f"loading {script} did not finish within {CHECK_TIMEOUT_SECONDS:g} s",
            "something at import time blocks (a network call?); imports must not have side effects",
            exit_code=ExitCode.CONFIG,
        ) from error
    answer = _answer(completed)
    failure = answer.get("error")
    if isinstance(failure, dict):
        hint = failure.get("hint")
        raise PaysimError(
            str(failure["code"]),
            str(failure["message"]),
            None if hint is None else str(hint),
            exit_code=ExitCode.CONFIG,
        )
    listed = answer.get("functions")
    functions = [
        RegisteredFunction(str(name), None if trigger is None else str(trigger))
        for name, trigger in (listed if isinstance(listed, list) else [])
    ]
    if not functions:
        raise PaysimError(
            "no_functions_registered",
            f"{script} registers no function: the host would start and do nothing",
            "register the blueprint on the FunctionApp (`app.register_functions(bp)`); the package was "
            "not shipped",
            exit_code=ExitCode.CONFIG,
        )
    return functions


def _answer(completed: subprocess.CompletedProcess[str]) -> dict[str, object]:
    lines = completed.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        detail = (completed.stderr.strip().splitlines() or [f"exit status {completed.returncode}"])[-1]
        raise PaysimError(
            "function_app_import_failed",
            f"loading the package's function_app.py failed: {detail}",
            "run `python -c 'import function_app'` in the package's directory to see the trace",
            exit_code=ExitCode.CONFIG,
        )
    return answer
