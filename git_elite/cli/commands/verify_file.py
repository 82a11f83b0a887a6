"""`git elite verify-file [--json] FILE…`: standalone check of signed documents."""

from __future__ import annotations

from pathlib import Path

import click

from git_elite.core import documents
from git_elite.core.errors import Problem
from git_elite.edges import output, store

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.command("verify-file", context_settings=CONTEXT)
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--type", "kind", type=click.Choice(documents.TYPES), metavar="T",
              help="Document type for files without a `type` field.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(files: tuple[Path, ...], kind: str | None, as_json: bool) -> int:
    """Check documents of any type: strict JSON, schema, cross-field rules, signatures.

    Prints one line per problem (`path: [rule] message`); exit status 1 when any.

    \b
    Examples:
      git elite verify-file agents/*/*/manifest.json
      git elite verify-file --json endorsement.json
    """
    contents = [(str(path), store.read_bytes(path)) for path in files]
    problems: list[Problem] = []
    for name, raw in contents:
        problems += documents.check(raw, name, kind)[1]
    if as_json:
        output.emit_json({"ok": not problems, "problems": [p.to_dict() for p in problems]})
    else:
        for problem in problems:
            output.data(problem.line())
        if not problems:
            output.info(f"{len(contents)} document(s) OK")
    return 1 if problems else 0
