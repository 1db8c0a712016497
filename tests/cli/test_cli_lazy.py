"""The top command group imports a command's module only when that command is asked
for: ``rillet server`` (a start time target) loads none of the other commands' modules.
The map of commands to modules is the one the modules define."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner


def test_the_map_of_commands_is_what_the_modules_define() -> None:
    from rillet.cli._app import COMMAND_MODULES, cli, import_all

    import_all()
    defined = {name: command.callback.__module__.rsplit(".", 1)[-1]
               for name, command in cli.commands.items()
               if command.callback is not None and command.callback.__module__ != "rillet.cli._app"}
    assert defined == COMMAND_MODULES
    listed = CliRunner().invoke(cli, ["--help"])
    assert listed.exit_code == 0
    for name in COMMAND_MODULES:
        assert f"  {name}" in listed.output


def test_a_command_loads_its_module_only() -> None:
    probe = ("import sys\n"
             "from rillet.cli._app import cli\n"
             "try:\n"
             "    cli(['server', '--help'], prog_name='rillet')\n"
             "except SystemExit:\n"
             "    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith('rillet.cli._')))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = out.stdout.strip().splitlines()[-1]
    assert "rillet.cli._platform" in loaded
    for other in ("_cache", "_teams", "_models", "_tune", "_notebook", "_compare"):
        assert f"rillet.cli.{other}'" not in loaded, loaded
