"""The ``%%track`` cell magic and the ``%nbtrack`` line magic (argument parsing only)."""

from __future__ import annotations

from typing import Any

from IPython.core import magic_arguments
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, output_can_be_silenced

__all__ = ["NbtrackMagics"]


@magics_class
class NbtrackMagics(Magics):
    def __init__(self, shell: Any, session: Any) -> None:
        super().__init__(shell)
        self.session = session

    @magic_arguments.magic_arguments()
    @magic_arguments.argument("--name", "-n", default=None, help="Run name (default: a generated one).")
    @magic_arguments.argument("--experiment", "-e", default=None,
                              help="Experiment name for this run (created if missing).")
    @magic_arguments.argument("--nested", action="store_true",
                              help="Start the run as a child of the active run.")
    @magic_arguments.argument("--autolog", action="store_true",
                              help="Turn nbtrack.autolog() on for this cell only.")
    @magic_arguments.argument("--params", "-p", default=None,
                              help="Comma-separated variable names whose values are logged as params "
                                   "when the cell ends, e.g. --params lr,depth.")
    @magic_arguments.argument("--tags", "-t", default=None, help="Comma-separated tags, e.g. --tags team=cv,try=2.")
    @magic_arguments.argument("--quiet", "-q", action="store_true", help="Show no run card.")
    @output_can_be_silenced
    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """Run the cell inside a new nbtrack run.

        The cell's last expression is its value, as without the magic. The run ends
        FINISHED, FAILED (the exception is raised again, so the cell fails and Run-All
        stops) or KILLED (interrupted). A card shows the run's params and metrics live.

        Example::

            %%track --name baseline --params lr
            lr = 0.1
            for epoch in range(10):
                nbtrack.log_metric("loss", 1 / (epoch + 1), step=epoch)
        """
        __tracebackhide__ = True
        from nbtrack.notebook._track import track_cell

        args = magic_arguments.parse_argstring(self.track, line)
        return track_cell(self.shell, args, line, cell)

    @line_magic
    def nbtrack(self, line: str) -> Any:
        """Status and quick actions.

        ``%nbtrack``                     store, experiment, active run, notebook
        ``%nbtrack experiment NAME``     make NAME the active experiment (created if missing)
        ``%nbtrack runs [FILTER]``       runs of the active experiment as a table
        ``%nbtrack compare RUN RUN ...`` runs side by side (ids, id prefixes or run names)
        ``%nbtrack uri URI``             use another store (folder or URI)
        ``%nbtrack dashboard``           the nbtrack dashboard widget
        """
        from nbtrack.notebook._line import dispatch

        return dispatch(self.shell, line)
