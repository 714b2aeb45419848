"""Run a cell body the way ``%%time`` does: compile, exec, eval the last expression.

No nested ``run_cell``: that would show the traceback but report success, so Run-All
would go on past a failed cell (measured in docs/jupyter-findings). Here an exception
propagates out of the magic, IPython prints it once and the cell fails.
"""

from __future__ import annotations

import ast
from typing import Any

from nbtrack.notebook import _context

__all__ = ["compile_body", "run_body"]


def compile_body(shell: Any, header: str, body: str) -> tuple[Any, Any]:
    """Compile ``body`` as lines 2.. of the cell whose first line is ``header``.

    The code is registered in IPython's line cache under the cell's name, so a traceback
    reads ``Cell In[5], line 3`` and shows the source line, as for any other cell.
    Returns ``(statements, last_expression)``; either may be None.
    """
    source = shell.transform_cell(body)
    tree = shell.compile.ast_parse(source)
    ast.increment_lineno(tree, 1)  # line 1 of the cell is the %%track line
    tree = shell.transform_ast(tree)
    number = _context.cell_number(shell)
    # The cache is what tracebacks display, so it holds the cell as typed.
    filename = shell.compile.cache(header + "\n" + body, number)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    statements = shell.compile(tree, filename, "exec") if tree.body else None
    expression = shell.compile(last, filename, "eval") if last is not None else None
    return statements, expression


def run_body(shell: Any, statements: Any, expression: Any) -> Any:
    """Execute in the user namespace; return the last expression's value."""
    __tracebackhide__ = True  # IPython leaves this frame out of the traceback
    namespace = shell.user_ns
    if statements is not None:
        exec(statements, namespace)
    if expression is not None:
        return eval(expression, namespace)
    return None
